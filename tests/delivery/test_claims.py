"""Claiming with leases and recording outcomes, straight against the database."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from app.delivery.claims import AttemptResult, claim_due, record_results, set_subscription
from app.delivery.schedule import Decision
from app.rules import RuleSet, load_ruleset
from tests.delivery.support import NOW, add_events, attempts_of, delivery_of, rules_folder, standard_hooks

LEASE = timedelta(seconds=30)


def ruleset(tmp_path: Path) -> RuleSet:
    return load_ruleset(rules_folder(tmp_path / "rules", standard_hooks("https://hooks.test")))


def claim(sessions: sessionmaker[Session], worker: str, *, at=NOW, **wanted: int) -> list[int]:  # type: ignore[no-untyped-def]
    with sessions() as session, session.begin():
        return [c.delivery_id for c in claim_due(session, wanted=wanted, now=at, worker_id=worker, lease=LEASE)]


def test_a_leased_row_is_not_claimed_again_until_its_lease_expires(
        sessions: sessionmaker[Session], session: Session, tmp_path: Path) -> None:
    [[event_id]] = add_events(sessions, ruleset(tmp_path), department="billing", cases=1, per_case=1)
    first = claim(sessions, "a", billing=10)
    assert len(first) == 1
    row = delivery_of(session, event_id)
    assert (row.status, row.lease_owner, row.lease_until) == ("delivering", "a", NOW + LEASE)
    assert claim(sessions, "b", billing=10) == []
    assert claim(sessions, "b", at=NOW + LEASE - timedelta(seconds=1), billing=10) == []
    assert claim(sessions, "b", at=NOW + LEASE + timedelta(seconds=1), billing=10) == first  # a crashed
    assert delivery_of(session, event_id).lease_owner == "b"


def test_only_the_oldest_open_delivery_of_each_case_is_claimable(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    cases = add_events(sessions, ruleset(tmp_path), department="billing", cases=3, per_case=2)
    claimed = claim(sessions, "a", billing=10)
    assert len(claimed) == 3
    with sessions() as s:
        heads = {delivery_of(s, ids[0]).id for ids in cases}
    assert set(claimed) == heads
    assert claim(sessions, "b", billing=10) == []  # the second events wait for the first


def test_limits_are_per_department_and_a_disabled_subscription_is_skipped(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    rules = ruleset(tmp_path)
    add_events(sessions, rules, department="billing", cases=5, per_case=1)
    add_events(sessions, rules, department="network", cases=5, per_case=1)
    with sessions() as s, s.begin():
        set_subscription(s, "network", enabled=False, now=NOW, reason="test")
    assert len(claim(sessions, "a", billing=2, network=5)) == 2
    with sessions() as s, s.begin():
        set_subscription(s, "network", enabled=True, now=NOW)
    assert len(claim(sessions, "a", billing=0, network=5)) == 5


def test_not_due_rows_wait(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    add_events(sessions, ruleset(tmp_path), department="billing", cases=1, per_case=1,
               now=NOW + timedelta(minutes=1))
    assert claim(sessions, "a", billing=5) == []
    assert len(claim(sessions, "a", at=NOW + timedelta(minutes=1), billing=5)) == 1


def test_an_outcome_is_recorded_only_by_the_lease_holder(
        sessions: sessionmaker[Session], session: Session, tmp_path: Path) -> None:
    [[event_id]] = add_events(sessions, ruleset(tmp_path), department="billing", cases=1, per_case=1)
    [delivery_id] = claim(sessions, "a", billing=1)
    later = NOW + LEASE + timedelta(seconds=1)
    assert claim(sessions, "b", at=later, billing=1) == [delivery_id]   # a's lease ran out
    late = AttemptResult(delivery_id=delivery_id, department="billing", attempts=1, started_at=NOW,
                         decision=Decision(status="delivered", next_attempt_at=later), recorded_at=later,
                         status_code=200, latency_ms=31_000)
    with sessions() as s, s.begin():
        record_results(s, [late], worker_id="a")
    row = delivery_of(session, event_id)
    assert (row.status, row.lease_owner) == ("delivering", "b")         # b's lease is untouched
    assert [a.status_code for a in attempts_of(session, delivery_id)] == [200]  # but a's call is logged
    with sessions() as s, s.begin():
        record_results(s, [late], worker_id="b")
    assert delivery_of(session, event_id).status == "delivered"
