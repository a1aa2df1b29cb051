"""The actions the audit log records, with what each entry's `target` and `details` hold.

Details never hold secrets (passwords, token values, webhook secrets) nor personal data of the
customers whose mentions the service routes (their text, handles, names); `app.audit.service.record`
refuses the keys that would (`FORBIDDEN_DETAIL_KEYS`).
"""

from __future__ import annotations

ACTIONS: dict[str, str] = {
    "rules.reloaded": "target `rules`; details: trigger, version_before, version, changed, "
                      "departments_changed (ids whose webhook URL or events changed, were added or removed)",
    "user.created": "target `user:NAME`; details: role, via",
    "user.role_changed": "target `user:NAME`; details: role_before, role, via",
    "user.deactivated": "target `user:NAME`; details: tokens_revoked, via",
    "user.password_reset": "target `user:NAME`; details: must_change_password, via (never the password)",
    "user.password_changed": "target `user:NAME`: the user changed their own password; details: via",
    "token.created": "target `token:ID`; details: owner (`user:NAME`, `department:ID` or `integration:NAME`), "
                     "label, expires_at (never the token or its prefix)",
    "token.revoked": "target `token:ID`; details: owner, via",
    "subscription.enabled": "target `department:ID`; details: was_enabled",
    "subscription.disabled": "target `department:ID`; details: reason (a `410 Gone`; actor system)",
    "delivery.redelivered": "target `delivery:ID`; details: department, case, event_type, status_before",
    "dead_letter.replayed": "target `dead_letter:ID`; details: connector, replayed (false: still failing), via",
    "department.pinged": "target `department:ID`; details: url_host, ok, status_code, latency_ms, error",
    "privacy.erasure": "target the scope (`connector:NAME` or `channel:NAME`); details: what was erased, "
                       "counted per kind (never the author's id or handle)",
    "privacy.export": "target the scope (`connector:NAME` or `channel:NAME`); details: what was exported, counted",
}
"""Every action, with what its entry holds (the documentation `docs/operations.md` repeats)."""

VIAS = ("api", "ui", "cli")
"""How a person's change came in (`details.via`); system changes have no `via`."""
