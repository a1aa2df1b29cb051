"""The queue's total, summed from the count groups, equals a direct count for every filter it covers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.service import Principal
from app.cases.models import Case
from app.ui.queue import QueueFilter, queue_conditions, queue_counts
from tests.support import ApiClient, Signer, make_user_token, mention, post_mentions

FILTERS = [QueueFilter(), QueueFilter(status=("open",)), QueueFilter(status=("pending_department", "resolved")),
           QueueFilter(department=("billing",)), QueueFilter(department=("network", "webcare"), channel=("x",)),
           QueueFilter(priority=("P2",)), QueueFilter(assignee="me"), QueueFilter(assignee="none"),
           QueueFilter(sla="running"), QueueFilter(sla="breached"),
           QueueFilter(channel=("facebook",), priority=("P3",))]


@pytest.fixture
def seeded(client: TestClient, signer: Signer, sessions: sessionmaker[Session]) -> Principal:
    token = make_user_token(sessions, "counter", "agent")
    agent = ApiClient(client, token)
    refs = [post_mentions(client, signer, mention(text, channel=channel, author={"id": f"a{i}"})).json()["cases"][0]
            for i, (text, channel) in enumerate([("storing", "x"), ("factuur", "facebook"), ("vraag", "x"),
                                                 ("storing weer", "facebook"), ("hallo", "instagram")])]
    agent.post(f"/api/v1/cases/{refs[0]}/claim", json={})
    agent.post(f"/api/v1/cases/{refs[2]}/resolve", json={})
    agent.post(f"/api/v1/cases/{refs[4]}/close", json={"reason": "spam"})
    with sessions() as session:
        user_id = session.scalar(select(func.max(Case.assignee_id)))
    return Principal(kind="user", name="counter", role="agent", user_id=user_id)


@pytest.mark.parametrize("f", FILTERS, ids=lambda f: f.query_string() or "active")
def test_total_from_groups_equals_a_count(seeded: Principal, session: Session, f: QueueFilter) -> None:
    counts = queue_counts(session, seeded, f)
    counted = session.scalar(select(func.count()).select_from(Case).where(*queue_conditions(seeded, f)))
    assert counts.total(f) == counted


def test_searches_and_closed_cases_are_counted_directly(seeded: Principal, session: Session) -> None:
    assert queue_counts(session, seeded, QueueFilter(q="storing")).total(QueueFilter(q="storing")) is None
    closed = QueueFilter(status=("closed",))
    assert queue_counts(session, seeded, closed).total(closed) is None
