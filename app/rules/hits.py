"""Rule hit counters: per rule, the mentions it matched and the ones it decided.

Each process counts in memory (`HitCounter.add`, a dictionary update per classified mention) and
its rules thread adds the counts to the shared `rule_hits` rows every few seconds in one short
transaction (`flush_hits`: one upsert statement for all the rules hit since the last flush). So
ingest never waits on a counter row that another process is updating, and every process adds to
one total. What a process counted but had not flushed when it was killed (at most one flush
interval) is lost; a clean stop flushes.

Every classification that is stored counts, not only ingest's: a dead letter's replay (over HTTP
or from the CLI, which has no rules thread) and the reclassification of a case whose Instagram
mention was read after the commit add theirs with `record_hits`, in their own transaction (they
are rare, so holding the counter rows until that commit costs nobody anything). A mention
reclassified after enrichment therefore counts twice: once as received, once as completed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.rules.decision import Decision
from app.rules.models import RuleHit


@dataclass(frozen=True, slots=True)
class HitCount:
    """What one rule matched and decided (so far, or in one batch)."""

    matched: int = 0
    decided: int = 0

    def __add__(self, other: HitCount) -> HitCount:
        return HitCount(self.matched + other.matched, self.decided + other.decided)


def count_hits(decisions: Iterable[Decision]) -> dict[str, HitCount]:
    """Per rule id, how many of `decisions` it matched and decided. Pure."""
    matched: dict[str, int] = {}
    decided: dict[str, int] = {}
    for d in decisions:
        for rule_id in d.matched_rules:
            matched[rule_id] = matched.get(rule_id, 0) + 1
        if d.deciding_rule is not None:
            decided[d.deciding_rule] = decided.get(d.deciding_rule, 0) + 1
    return {rule_id: HitCount(n, decided.get(rule_id, 0)) for rule_id, n in matched.items()}


class HitCounter:
    """This process's counts not yet added to the database. Thread-safe."""

    def __init__(self) -> None:
        self._pending: dict[str, HitCount] = {}
        self._lock = threading.Lock()

    def add(self, decisions: Iterable[Decision]) -> None:
        """Count the decisions of mentions that were stored (call after the commit)."""
        counts = count_hits(decisions)
        if not counts:
            return
        with self._lock:
            for rule_id, hits in counts.items():
                self._pending[rule_id] = self._pending.get(rule_id, HitCount()) + hits

    def take(self) -> dict[str, HitCount]:
        """The pending counts, which are forgotten here: the caller adds them to the database, or
        hands them back with `restore` when it could not."""
        with self._lock:
            pending, self._pending = self._pending, {}
        return pending

    def restore(self, counts: Mapping[str, HitCount]) -> None:
        """Put back counts a failed flush took."""
        with self._lock:
            for rule_id, hits in counts.items():
                self._pending[rule_id] = self._pending.get(rule_id, HitCount()) + hits


def flush_hits(session: Session, counts: Mapping[str, HitCount], *, now: datetime) -> None:
    """Add `counts` to the shared totals: one INSERT ... ON CONFLICT DO UPDATE for all rules, in
    rule-id order (two processes flushing at once lock the rows in the same order: no deadlock)."""
    if not counts:
        return
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    rows = [{"rule_id": rule_id, "matched": hits.matched, "decided": hits.decided, "last_hit_at": now}
            for rule_id, hits in sorted(counts.items())]
    statement = insert(RuleHit)
    session.execute(statement.on_conflict_do_update(
        index_elements=[RuleHit.rule_id],
        set_={"matched": RuleHit.matched + statement.excluded.matched,
              "decided": RuleHit.decided + statement.excluded.decided,
              "last_hit_at": statement.excluded.last_hit_at}), rows)


def record_hits(session: Session, decisions: Iterable[Decision], *, now: datetime) -> None:
    """Add the hits of `decisions` to the shared totals in the caller's transaction."""
    flush_hits(session, count_hits(decisions), now=now)


def read_hits(session: Session) -> dict[str, tuple[HitCount, datetime]]:
    """Every rule's totals and when it last matched, by rule id (rules never hit are absent)."""
    return {row.rule_id: (HitCount(row.matched, row.decided), row.last_hit_at)
            for row in session.scalars(select(RuleHit))}
