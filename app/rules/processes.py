"""What every process runs, and reloads asked across processes, kept in the database.

Each `webcare serve` and `webcare worker` writes its row of `rule_processes` (rule-set version,
last reload outcome) at start, after each reload and on a heartbeat; a row without a heartbeat for
`STALE_AFTER` belongs to a process that is gone. A reload asked of one process over HTTP adds a
`rule_reload_requests` row in the request's transaction; the others poll the highest id.
Service functions: they flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.rules.holder import ReloadStatus
from app.rules.models import RuleProcess, RuleReloadRequest

STALE_AFTER = timedelta(seconds=30)
KEEP_REQUESTS = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class ProcessReport:
    """What one process reports about its rules."""

    id: str
    kind: str
    version: str
    status: ReloadStatus


def record_process(session: Session, report: ProcessReport, *, started_at: datetime, now: datetime) -> None:
    """Write this process's row (insert or refresh) with `now` as its heartbeat."""
    row = session.get(RuleProcess, report.id)
    if row is None:
        row = RuleProcess(id=report.id, kind=report.kind, started_at=started_at)
        session.add(row)
    row.version = report.version
    row.reload_successful = report.status.successful
    row.last_error = "\n".join(report.status.errors) or None
    row.last_success_at = report.status.last_success_at
    row.heartbeat_at = now
    session.flush()


def forget_process(session: Session, process_id: str) -> None:
    """Remove a process's row (it is stopping)."""
    session.execute(delete(RuleProcess).where(RuleProcess.id == process_id))


def live_processes(session: Session, *, now: datetime) -> list[dict[str, Any]]:
    """The processes with a recent heartbeat, oldest first, as `GET /api/v1/rules` shows them."""
    rows = session.scalars(select(RuleProcess).where(RuleProcess.heartbeat_at >= now - STALE_AFTER)
                           .order_by(RuleProcess.started_at, RuleProcess.id))
    return [{"id": r.id, "kind": r.kind, "version": r.version, "reload_successful": r.reload_successful,
             "last_error": r.last_error.splitlines() if r.last_error else [],
             "last_success_at": r.last_success_at.isoformat() if r.last_success_at else None,
             "heartbeat_at": r.heartbeat_at.isoformat()} for r in rows]


def request_reload(session: Session, *, process_id: str, now: datetime) -> int:
    """Ask every other process to reload; returns the request's id (the asker has reloaded)."""
    request = RuleReloadRequest(requested_by=process_id, requested_at=now)
    session.add(request)
    session.flush()
    return request.id


def reload_requests_after(session: Session, last_seen: int, *, process_id: str) -> tuple[int, bool]:
    """(the newest request id, whether a request after `last_seen` came from another process)."""
    newest = session.scalar(select(func.coalesce(func.max(RuleReloadRequest.id), 0))) or 0
    if newest <= last_seen:
        return newest, False
    others = session.scalar(select(func.count()).select_from(RuleReloadRequest)
                            .where(RuleReloadRequest.id > last_seen, RuleReloadRequest.requested_by != process_id)) or 0
    return newest, others > 0


def prune(session: Session, *, now: datetime) -> None:
    """Drop reload requests older than a week and rows of processes gone for a day."""
    session.execute(delete(RuleReloadRequest).where(RuleReloadRequest.requested_at < now - KEEP_REQUESTS))
    session.execute(delete(RuleProcess).where(RuleProcess.heartbeat_at < now - timedelta(days=1)))
