"""The dispatcher's database work: claiming due deliveries with a lease, and recording outcomes.

Service functions: they take the session and never commit; the dispatcher runs each call in a short
transaction of its own and never holds one across an HTTP call (DESIGN "The flow of one mention").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, exists, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.audit import SYSTEM, record
from app.db import UTCDateTime
from app.delivery.models import Delivery, DeliveryAttempt, DepartmentEvent, Subscription
from app.delivery.schedule import Decision
from app.jobs.leases import due_condition, held_condition, lease_values, released_values
from app.kernel.timefmt import iso_z

OPEN_STATUSES = ("pending", "delivering")
# Spelled exactly as the partial index `ix_deliveries_open` is, so SQLite sees that it applies.
_OPEN_SQL = text("deliveries.status IN ('pending', 'delivering')")
# Core tables: recording a batch is an executemany of plain statements, without ORM bookkeeping.
DELIVERIES = cast(Table, Delivery.__table__)
ATTEMPTS = cast(Table, DeliveryAttempt.__table__)
SUBSCRIPTIONS = cast(Table, Subscription.__table__)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery this worker holds a lease on, with what it needs to send it."""

    delivery_id: int
    event_id: int
    department: str
    case_id: int
    attempts: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """The outcome of handling one claimed delivery, ready to be recorded.

    `attempted` is False when no request was made (e.g. the department lost its webhook): then no
    attempt row is written and `attempts` is unchanged."""

    delivery_id: int
    department: str
    attempts: int
    decision: Decision
    recorded_at: datetime
    attempted: bool = True
    started_at: datetime | None = None
    status_code: int | None = None
    latency_ms: int = 0
    error: str | None = None
    response_body: str | None = None


def claim_due(session: Session, *, wanted: Mapping[str, int], now: datetime, worker_id: str,
              lease: timedelta) -> list[Claimed]:
    """Lease up to `wanted[department]` due deliveries of each department, oldest first.

    A delivery is claimable when it is pending and due, or delivering with an expired lease; its
    subscription is enabled; and no earlier delivery (lower id) of the same case and department is
    still open, so each case reaches each endpoint in order. On PostgreSQL the rows are locked with
    `FOR UPDATE SKIP LOCKED`, so concurrent claimers never take the same row; on SQLite the
    transaction holds the single write lock (`BEGIN IMMEDIATE`). Guarantee: after the caller
    commits, each returned row is `delivering`, leased to `worker_id` until `now + lease`.
    """
    due = due_condition(Delivery, now=now, waiting="pending", working="delivering")
    # In the claim itself rather than a query of its own: one round trip fewer per claim.
    enabled = ~exists().where(Subscription.department == Delivery.department, Subscription.enabled.is_(False))
    claimed: list[Claimed] = []
    for department, limit in wanted.items():
        if limit <= 0:
            continue
        # Each case's head: its oldest open delivery (an index-only scan of ix_deliveries_open_case).
        heads = (select(func.min(Delivery.id)).where(Delivery.department == department, _OPEN_SQL)
                 .group_by(Delivery.case_id))
        query = (select(Delivery.id, Delivery.event_id, Delivery.case_id, Delivery.attempts, DepartmentEvent.body)
                 .join(DepartmentEvent, DepartmentEvent.id == Delivery.event_id)
                 .where(Delivery.id.in_(heads), due, enabled)
                 .order_by(Delivery.id).limit(limit)
                 .with_for_update(skip_locked=True, of=Delivery))
        claimed += [Claimed(delivery_id=row.id, event_id=row.event_id, department=department, case_id=row.case_id,
                            attempts=row.attempts, body=row.body) for row in session.execute(query)]
    if claimed:
        session.execute(update(DELIVERIES)
                        .where(DELIVERIES.c.id.in_([c.delivery_id for c in claimed]))
                        .values(**lease_values(worker_id=worker_id, now=now, lease=lease, working="delivering")))
    return claimed


def bury_orphans(session: Session, *, with_webhook: Iterable[str], ruleset_version: str, now: datetime) -> int:
    """Mark dead every open delivery of a department that no longer has a webhook; returns how many.

    Rows leased to a live worker are left alone (that worker records them itself)."""
    table = DELIVERIES
    departments = sorted(set(with_webhook))
    result = session.execute(
        update(table)
        .where(table.c.department.not_in(departments),
               or_(table.c.status == "pending", and_(table.c.status == "delivering", table.c.lease_until < now)))
        .values(status="dead", **released_values(), updated_at=now,
                last_error=f"the department has no webhook in rule set {ruleset_version}")
        .execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


def record_results(session: Session, results: Sequence[AttemptResult], *, worker_id: str) -> None:
    """Write the outcomes: each delivery's new state, one attempt row per request made, and the
    subscriptions a `410 Gone` disabled (audited as `subscription.disabled`, actor system).

    A delivery whose lease this worker no longer holds (it expired and another worker took it) is
    left to that worker; its attempt is still logged, because the request did happen."""
    if not results:
        return
    attempted = [r for r in results if r.attempted]
    if session.get_bind().dialect.name == "postgresql":
        _record_on_postgresql(session, results, attempted, worker_id=worker_id)
    else:
        _record_by_row(session, results, attempted, worker_id=worker_id)
    gone = {r.department: r for r in results if r.decision.disable}  # one entry per department and batch
    for r in gone.values():
        reason = f"{r.status_code} Gone answered at {iso_z(r.recorded_at)}"
        set_subscription(session, r.department, enabled=False, now=r.recorded_at, reason=reason)
        record(session, SYSTEM, "subscription.disabled", f"department:{r.department}", {"reason": reason},
               r.recorded_at)


# PostgreSQL: each of the two writes is one statement over arrays, the same text for any number of
# outcomes (prepared once by psycopg), instead of one statement per outcome. Its WHERE and the
# lease columns it clears are `held_condition` and `released_values` of app.jobs.leases, spelled
# out in SQL text (the suite runs on SQLite and PostgreSQL, so both forms are tested).
_OUTCOMES_SQL = text("""
UPDATE deliveries AS d SET status = o.status, attempts = o.attempts, next_attempt_at = o.next_attempt_at,
       last_status_code = o.code, last_error = o.error, delivered_at = o.delivered_at, updated_at = o.updated_at,
       lease_owner = NULL, lease_until = NULL
FROM unnest(CAST(:ids AS bigint[]), CAST(:statuses AS text[]), CAST(:attempts AS integer[]),
            CAST(:nexts AS timestamptz[]), CAST(:codes AS integer[]), CAST(:errors AS text[]),
            CAST(:delivered AS timestamptz[]), CAST(:updated AS timestamptz[]))
     AS o(id, status, attempts, next_attempt_at, code, error, delivered_at, updated_at)
WHERE d.id = o.id AND d.lease_owner = :worker AND d.status = 'delivering'
""")
_ATTEMPTS_SQL = text("""
INSERT INTO delivery_attempts (delivery_id, started_at, status_code, latency_ms, error, response_body)
SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:started AS timestamptz[]), CAST(:codes AS integer[]),
                     CAST(:latencies AS integer[]), CAST(:errors AS text[]), CAST(:bodies AS text[]))
""")


def _record_on_postgresql(session: Session, results: Sequence[AttemptResult], attempted: Sequence[AttemptResult],
                          *, worker_id: str) -> None:
    session.execute(_OUTCOMES_SQL, {
        "ids": [r.delivery_id for r in results], "statuses": [r.decision.status for r in results],
        "attempts": [r.attempts for r in results], "nexts": [r.decision.next_attempt_at for r in results],
        "codes": [r.status_code for r in results], "errors": [r.decision.error for r in results],
        "delivered": [r.recorded_at if r.decision.status == "delivered" else None for r in results],
        "updated": [r.recorded_at for r in results], "worker": worker_id})
    if attempted:
        session.execute(_ATTEMPTS_SQL, {
            "ids": [r.delivery_id for r in attempted], "started": [r.started_at for r in attempted],
            "codes": [r.status_code for r in attempted], "latencies": [r.latency_ms for r in attempted],
            "errors": [r.error for r in attempted], "bodies": [r.response_body for r in attempted]})


def _record_by_row(session: Session, results: Sequence[AttemptResult], attempted: Sequence[AttemptResult],
                   *, worker_id: str) -> None:
    table = DELIVERIES
    stamp = UTCDateTime()
    session.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"), held_condition(table.c, worker_id=worker_id, status="delivering"))
        .values(status=bindparam("b_status"), attempts=bindparam("b_attempts"),
                next_attempt_at=bindparam("b_next", type_=stamp), last_status_code=bindparam("b_code"),
                last_error=bindparam("b_error"), delivered_at=bindparam("b_delivered", type_=stamp),
                updated_at=bindparam("b_updated", type_=stamp), **released_values()),
        [{"b_id": r.delivery_id, "b_status": r.decision.status, "b_attempts": r.attempts,
          "b_next": r.decision.next_attempt_at, "b_code": r.status_code, "b_error": r.decision.error,
          "b_delivered": r.recorded_at if r.decision.status == "delivered" else None, "b_updated": r.recorded_at}
         for r in results],
    )
    if attempted:
        session.execute(insert(ATTEMPTS), [
            {"delivery_id": r.delivery_id, "started_at": r.started_at, "status_code": r.status_code,
             "latency_ms": r.latency_ms, "error": r.error, "response_body": r.response_body} for r in attempted])


def set_subscription(session: Session, department: str, *, enabled: bool, now: datetime,
                     reason: str | None = None) -> None:
    """Enable or disable a department's subscription (an upsert: safe when two workers race)."""
    values = {"department": department, "enabled": enabled, "disabled_reason": None if enabled else reason,
              "disabled_at": None if enabled else now, "updated_at": now}
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(SUBSCRIPTIONS).values(**values)
    session.execute(statement.on_conflict_do_update(
        index_elements=["department"], set_={k: v for k, v in values.items() if k != "department"}))
