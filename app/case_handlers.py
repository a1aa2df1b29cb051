"""The composition of a case change: which packages act on it, wired in one place.

`app.cases.changes.apply_changes` runs the handlers registered here; `cases` imports none of the
packages they live in (SLA timers, the department outbox, platform replies, the blanking of a
removed mention), so each depends on `cases` and never the other way. Every entry point (the app,
the workers, the CLI) imports this module; importing it twice registers nothing twice.
"""

from __future__ import annotations

from app.cases.changes import register
from app.delivery.outbox import send_notices
from app.privacy.blanking import blank_on_removal
from app.replies.service import queue_replies
from app.sla.hooks import on_case_changes


def install() -> None:
    """Register the handlers of every case change (idempotent)."""
    register("effects", queue_replies)
    register("effects", blank_on_removal)
    register("timers", on_case_changes)
    register("notices", send_notices)


install()
