"""Business time, pure: calendars (opening hours, holidays, closures), SLA policies (budgets per
priority, warnings, escalation steps), open-time arithmetic and the SLA clock that plans when a
timer warns, breaches and escalates. No database, no clock: every function takes `now`.

The rule set (`app.rules`) holds the calendars and policies; the SLA engine (`app.sla`) keeps the
timers of cases with them.
"""
