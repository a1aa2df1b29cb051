"""The audit log: who changed what, when (rule reloads, users, tokens, subscriptions, redeliveries,
dead-letter replays, department pings, erasures).

`record(session, actor, action, target, details, now)` adds one entry in the caller's transaction,
so an entry exists exactly when its change was committed. Ops read the log over
`GET /api/v1/audit` (`app.audit.routes`).
"""

from app.audit.actions import ACTIONS
from app.audit.service import SYSTEM, Actor, AuditFilter, cli_actor, list_entries, record

__all__ = ["ACTIONS", "SYSTEM", "Actor", "AuditFilter", "cli_actor", "list_entries", "record"]
