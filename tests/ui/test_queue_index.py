"""The in-memory queue index answers exactly what the SQL conditions of the queue answer (the case
filters of `app.cases.queries`, which `GET /api/v1/cases` applies too: one table, `FILTERS`, holds
all three to the same answers), and stays
true as cases change: read-your-writes through the event log, late commits through the broadcaster,
and a full reload when the broadcaster says changes may have been missed."""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.auth.service import Principal
from app.cases.models import Case
from app.cases.queries import list_cases
from app.db import make_sessionmaker
from app.kernel.vocabulary import ACTIVE_STATUSES, NOT_CLOSED
from app.rules import load_ruleset
from app.ui.queue import QueueFilter, cases_in_order, queue_conditions, queue_order
from app.ui.queue_index import IndexView, QueueIndex, warm_queue_index
from app.ui.reads import mark_seen, seen_times
from app.ui.rows import entry_rows, queue_rows
from tests.support import ApiClient, Signer, make_user_token, mention, post_mentions

FILTERS = [
    QueueFilter(), QueueFilter(status=("open",)), QueueFilter(status=("pending_department", "resolved")),
    QueueFilter(status=NOT_CLOSED), QueueFilter(department=("billing",)),
    QueueFilter(department=("network", "webcare"), channel=("x",)), QueueFilter(priority=("P1",)),
    QueueFilter(priority=("P2", "P3")), QueueFilter(assignee="me"), QueueFilter(assignee="none"),
    QueueFilter(sla="warned"), QueueFilter(sla="breached"), QueueFilter(channel=("facebook",), priority=("P3",)),
    # Searches within the not-closed statuses (a search over every status is the database's).
    *(QueueFilter(status=NOT_CLOSED, q=q) for q in ("storing", "STORING weer", "@klant2", "Ann Smit",
                                                     "niets dat bestaat", "100%_", "WC-000003")),
    QueueFilter(status=("open",), q="factuur"), QueueFilter(status=("pending_customer",), assignee="me"),
    QueueFilter(account=("brand-nl",)), QueueFilter(account=("brand-nl", "jobs-nl"), status=NOT_CLOSED),
    QueueFilter(account=("jobs-nl",), channel=("x",)), QueueFilter(account=("nobody",)),
]


@pytest.fixture
def seeded(client: TestClient, signer: Signer, sessions: sessionmaker[Session]) -> tuple[Principal, list[str]]:
    """Cases in every not-closed status, on several channels, departments and priorities, some
    assigned to the user, some with deadlines in each SLA state, one closed."""
    agent = ApiClient(client, make_user_token(sessions, "indexer", "agent"))
    texts = [("storing in Utrecht", "x"), ("mijn factuur klopt niet", "facebook"), ("vraag over bundel", "x"),
             ("storing weer terug", "facebook"), ("hallo", "instagram"), ("factuur dubbel", "x"),
             ("geen internet sinds gisteren", "whatsapp"), ("waar blijft mijn modem", "facebook"),
             ("100%_ kapot", "x")]
    # Our accounts: none, the brand account, the jobs account.
    accounts = ({}, {"account": "brand-nl"}, {"account": "jobs-nl"})
    refs = [post_mentions(client, signer, mention(text, channel=channel, **accounts[i % 3], author={
        "id": f"a{i}", "handle": f"@klant{i}", "name": "Ann Smit" if i == 7 else f"Klant {i}"})).json()["cases"][0]
        for i, (text, channel) in enumerate(texts)]
    agent.post(f"/api/v1/cases/{refs[0]}/claim", json={})
    agent.post(f"/api/v1/cases/{refs[1]}/claim", json={})
    agent.post(f"/api/v1/cases/{refs[1]}/pending-customer", json={})
    agent.post(f"/api/v1/cases/{refs[2]}/resolve", json={})
    agent.post(f"/api/v1/cases/{refs[4]}/close", json={"reason": "spam"})
    agent.post(f"/api/v1/cases/{refs[5]}/handoff", json={"department": "billing", "reason": "factuur"})
    agent.post(f"/api/v1/cases/{refs[6]}/priority", json={"priority": "P1"})
    now = datetime.now(UTC)
    with sessions() as session, session.begin():
        # Deadlines as the SLA engine keeps them, so the order by deadline is tested too.
        for ref, minutes, state in ((refs[3], -5, "breached"), (refs[7], 10, "warned"), (refs[8], 90, "running")):
            session.execute(update(Case).where(Case.id == int(ref[3:])).values(
                due_at=now + timedelta(minutes=minutes), sla_state=state))
        user_id = session.scalar(select(func.max(Case.assignee_id)))
    return Principal(kind="user", name="indexer", role="agent", user_id=user_id), refs


def ids_of(found: IndexView) -> tuple[list[int], int] | None:
    return None if found.entries is None else ([e.id for e in found.entries], found.total or 0)


def sql_page(session: Session, principal: Principal, f: QueueFilter) -> tuple[list[int], int]:
    conditions = queue_conditions(principal, f)
    ids = list(session.scalars(select(Case.id).where(*conditions).order_by(*queue_order())))
    return ids, len(ids)


def sql_counts(session: Session, principal: Principal, q: str | None) -> dict[str, Counter[str]]:
    """Every per-filter count the page shows, each counted by the database on its own."""
    def count(f: QueueFilter) -> int:
        return session.scalar(select(func.count()).select_from(Case).where(*queue_conditions(principal, f))) or 0

    return {
        "status": Counter({s: n for s in NOT_CLOSED if (n := count(QueueFilter(status=(s,), q=q)))}),
        "department": Counter({d: n for d in ("webcare", "network", "billing") if (n := count(QueueFilter(
            department=(d,), q=q, status=ACTIVE_STATUSES)))}),
        "channel": Counter({c: n for c in ("x", "facebook", "instagram", "whatsapp") if (n := count(QueueFilter(
            channel=(c,), q=q, status=ACTIVE_STATUSES)))}),
        "priority": Counter({p: n for p in ("P1", "P2", "P3", "P4") if (n := count(QueueFilter(
            priority=(p,), q=q, status=ACTIVE_STATUSES)))}),
        "sla": Counter({s: n for s in ("warned", "breached") if (n := count(QueueFilter(
            sla=s, q=q, status=ACTIVE_STATUSES)))}),
        "account": Counter({a: n for a in ("brand-nl", "jobs-nl") if (n := count(QueueFilter(
            account=(a,), q=q, status=ACTIVE_STATUSES)))}),
        "mine": Counter({"me": count(QueueFilter(assignee="me", q=q, status=ACTIVE_STATUSES)),
                         "none": count(QueueFilter(assignee="none", q=q, status=ACTIVE_STATUSES))}),
    }


@pytest.mark.parametrize("f", FILTERS, ids=lambda f: f.query_string() or "active")
def test_the_index_answers_what_the_sql_conditions_answer(
        seeded: tuple[Principal, list[str]], session: Session, f: QueueFilter) -> None:
    principal, _ = seeded
    index = QueueIndex()
    expected_ids, expected_total = sql_page(session, principal, f)
    assert ids_of(index.view(session, principal.user_id, f, limit=1000)) == (expected_ids, expected_total)
    assert ids_of(index.view(session, principal.user_id, f, limit=2)) == (expected_ids[:2], expected_total)
    # the API's list, given the same filter, finds the same cases (in its own order)
    api_cases, _ = list_cases(session, principal, dataclasses.replace(f.case_filter(), limit=1000))
    assert sorted(c.id for c in api_cases) == sorted(expected_ids)
    counts = index.view(session, principal.user_id, f, limit=1).counts
    expected = sql_counts(session, principal, f.q)
    assert +counts.status == expected["status"]
    assert +counts.department == expected["department"] and +counts.channel == expected["channel"]
    assert +counts.priority == expected["priority"] and +counts.sla == expected["sla"]
    assert +counts.account == expected["account"]
    assert (counts.assignee["me"], counts.assignee["none"]) == (expected["mine"]["me"], expected["mine"]["none"])
    assert counts.active == sum(expected["status"][s] for s in ACTIVE_STATUSES)


def test_the_seed_covers_what_the_filters_test(seeded: tuple[Principal, list[str]], session: Session) -> None:
    principal, refs = seeded
    page = ids_of(QueueIndex().view(session, principal.user_id, QueueFilter(status=NOT_CLOSED), limit=100))
    assert page is not None
    ids, total = page
    # The overdue case comes first (every other deadline lies ahead); the closed case is not there.
    assert ids[0] == int(refs[3][3:])
    assert total == len(refs) - 1 and int(refs[4][3:]) not in ids


def test_closed_cases_are_left_to_the_database(seeded: tuple[Principal, list[str]], session: Session) -> None:
    principal, _ = seeded
    index = QueueIndex()
    for f in (QueueFilter(status=("closed",)), QueueFilter(status=("all",)), QueueFilter(q="storing")):
        view = index.view(session, principal.user_id, f, limit=50)
        assert view.entries is None and view.total is None
        assert sum(view.counts.status.values()) > 0  # the counts of the not-closed cases still come


def test_a_change_is_seen_by_the_next_read(client: TestClient, signer: Signer, sessions: sessionmaker[Session],
                                           seeded: tuple[Principal, list[str]]) -> None:
    principal, refs = seeded
    index = QueueIndex()
    mine = QueueFilter(assignee="me")

    def page(f: QueueFilter) -> tuple[list[int], int] | None:
        with sessions() as session:
            return ids_of(index.view(session, principal.user_id, f, limit=50))

    before = page(mine)
    assert before is not None and int(refs[6][3:]) not in before[0]
    lead = ApiClient(client, make_user_token(sessions, "lead", "lead"))
    assert lead.post(f"/api/v1/cases/{refs[6]}/assign", json={"user": "indexer"}).status_code == 200
    after = page(mine)
    assert after is not None and int(refs[6][3:]) in after[0] and after[1] == before[1] + 1
    # A new mention: in the queue and findable by its text at once; a closed case leaves it.
    new_ref = post_mentions(client, signer, mention("zeldzaam woord xyzzy", channel="x")).json()["cases"][0]
    assert page(QueueFilter(q="xyzzy", status=NOT_CLOSED)) == ([int(new_ref[3:])], 1)
    assert lead.post(f"/api/v1/cases/{new_ref}/close", json={"reason": "spam"}).status_code == 200
    assert page(QueueFilter(q="xyzzy", status=NOT_CLOSED)) == ([], 0)


def test_the_broadcaster_covers_what_the_event_log_cannot(
        sessions: sessionmaker[Session], seeded: tuple[Principal, list[str]]) -> None:
    """A change whose event id lies below what the index has read (a PostgreSQL transaction that
    committed late) arrives by the broadcaster; a lost broadcaster connection reloads everything."""
    principal, refs = seeded
    index = QueueIndex()
    urgent = QueueFilter(priority=("P4",))
    case_ids = [int(refs[0][3:]), int(refs[8][3:])]

    def page() -> list[int]:
        with sessions() as session:
            found = ids_of(index.view(session, principal.user_id, urgent, limit=50))
        assert found is not None
        return found[0]

    assert page() == []
    with sessions() as session, session.begin():  # changed without a new event id the index would read
        session.execute(update(Case).where(Case.id.in_(case_ids)).values(priority="P4"))
    assert page() == []  # an index, not a query: it relies on the event log and the broadcaster
    index.listen(frozenset({case_ids[0]}))
    assert page() == [case_ids[0]]
    index.listen(None)  # the broadcaster lost its connection: anything may have changed
    assert sorted(page()) == sorted(case_ids)


def test_rows_from_the_index_are_the_rows_from_the_database(
        seeded: tuple[Principal, list[str]], session: Session, rules_dir: Path) -> None:
    """Every column of every row (author, first line, tags, assignee, SLA timer, sort key, times,
    unread markers)."""
    principal, _ = seeded
    ruleset = load_ruleset(rules_dir)
    entries = QueueIndex().view(session, principal.user_id, QueueFilter(status=NOT_CLOSED), limit=100).entries
    assert entries is not None
    now = datetime.now(UTC)
    assert principal.user_id is not None
    for entry in entries[::2]:  # the user has opened every other case
        mark_seen(session, principal.user_id, entry.id, now=now)
    seen = seen_times(session, principal.user_id, [e.id for e in entries])
    from_index = entry_rows(entries, ruleset=ruleset, now=now, seen=seen)
    from_database = queue_rows(session, cases_in_order(session, [e.id for e in entries]), ruleset=ruleset, now=now,
                               seen=seen)
    assert from_index == from_database
    assert [row.unread for row in from_index] == [i % 2 == 1 for i in range(len(entries))]
    assert any(row.assignee for row in from_index) and any(row.tags for row in from_index)
    assert all(row.timer is not None for row in from_index if row.status == "open")


def test_refreshed_cases_take_their_new_place_in_the_order(
        sessions: sessionmaker[Session], seeded: tuple[Principal, list[str]]) -> None:
    principal, refs = seeded
    index = QueueIndex()
    everything = QueueFilter(status=NOT_CLOSED)
    with sessions() as session:
        before = ids_of(index.view(session, principal.user_id, everything, limit=100))
    now = datetime.now(UTC)
    moved = {int(refs[5][3:]): now - timedelta(hours=1), int(refs[1][3:]): now + timedelta(days=30),
             int(refs[7][3:]): None}
    with sessions() as session, session.begin():
        for case_id, due in moved.items():
            session.execute(update(Case).where(Case.id == case_id).values(due_at=due))
        # ... and one changes status, priority, assignee and SLA state at once
        session.execute(update(Case).where(Case.id == int(refs[0][3:])).values(
            status="resolved", priority="P4", assignee_id=None, sla_state="warned"))
    index.listen(frozenset({*moved, int(refs[0][3:])}))
    with sessions() as session:
        after = ids_of(index.view(session, principal.user_id, everything, limit=100))
        assert after == sql_page(session, principal, everything)
        # Every selection, total and count kept up by the change equals a freshly loaded index's.
        fresh = QueueIndex()
        for f in FILTERS:
            assert index.view(session, principal.user_id, f, limit=100) == \
                fresh.view(session, principal.user_id, f, limit=100), f
    assert after != before and after is not None and after[0][0] == int(refs[5][3:])


def test_a_failed_catch_up_is_tried_again(sessions: sessionmaker[Session], seeded: tuple[Principal, list[str]],
                                          client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    principal, refs = seeded
    index = QueueIndex()
    urgent = QueueFilter(priority=("P1",))

    def page() -> list[int]:
        with sessions() as session:
            found = ids_of(index.view(session, principal.user_id, urgent, limit=50))
        assert found is not None
        return found[0]

    assert int(refs[0][3:]) not in page()
    lead = ApiClient(client, make_user_token(sessions, "lead", "lead"))
    assert lead.post(f"/api/v1/cases/{refs[0]}/priority", json={"priority": "P1"}).status_code == 200

    def broken(session: Session, case_ids: set[int] | None) -> list[Any]:
        raise RuntimeError("the database went away")

    import app.ui.queue_index as module
    working = module._read_entries
    monkeypatch.setattr(module, "_read_entries", broken)
    with pytest.raises(RuntimeError):
        page()
    monkeypatch.setattr(module, "_read_entries", working)
    assert int(refs[0][3:]) in page()


def test_warming_up_loads_the_index_once(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """At start the index loads once, also on PostgreSQL, where the broadcaster's announcement on
    connecting (anything may have changed) would otherwise make the first page load it again."""
    import app.ui.queue_index as module

    full_reads: list[None] = []
    reading = module._read_entries

    def counted(session: Session, case_ids: set[int] | None) -> list[Any]:
        if case_ids is None:
            full_reads.append(None)
        return reading(session, case_ids)

    monkeypatch.setattr(module, "_read_entries", counted)
    state = SimpleNamespace(engine=engine, sessions=make_sessionmaker(engine))
    try:
        warm_queue_index(state)
        assert full_reads == [None]
        time.sleep(0.5)  # let a late announcement arrive, if one were to
        with state.sessions() as session:
            assert state.queue_index.view(session, None, QueueFilter(), limit=5).entries is not None
        assert full_reads == [None]
    finally:
        live = getattr(state, "live", None)
        if live is not None:
            live.stop()
