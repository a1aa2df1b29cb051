"""Concurrent requests through a live `webcare serve` (real HTTP, its own database: PostgreSQL when
the suite runs on it, else SQLite): of conflicting actions on one case sent at the same moment
exactly one wins, the others are answered 409, and the timeline and outbox match the answers; one
`Idempotency-Key` sent twice at once acts once and never answers 500."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.db import make_engine
from app.delivery.models import DepartmentEvent
from app.delivery.signing import sign_payload
from tests.test_service_e2e import run, start_service

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("concurrent")
    with start_service(tmp) as env:
        assert run(env, "users", "add", "ann", "--role", "agent", "--password", "correct horse battery")\
            .returncode == 0
        agent = run(env, "tokens", "create", "--user", "ann").stdout.strip()
        billing = run(env, "tokens", "create", "--department", "billing").stdout.strip()
        secret = (Path(env["WEBCARE_VAR_DIR"]) / "secrets" / "LISTENING_WEBHOOK_SECRET").read_text().strip()
        yield {**env, "agent": agent, "billing": billing, "secret": secret}


def billing_case(service: dict[str, Any]) -> str:
    """A new case handed off to billing (a new author each time, so it never joins another case)."""
    body = json.dumps({"id": f"c-{uuid.uuid4().hex}", "channel": "x", "text": "Mijn factuur klopt niet",
                       "author": {"handle": f"@{uuid.uuid4().hex[:10]}"}}).encode()
    headers = {**sign_payload([service["secret"]], f"msg_{uuid.uuid4().hex}", int(time.time()), body),
               "content-type": "application/json"}
    answer = httpx.post(f"{service['base']}/webhooks/listening-tool", content=body, headers=headers).json()
    ref: str = answer["cases"][0]
    assert case_of(service, ref)["status"] == "pending_department"
    return ref


def case_of(service: dict[str, Any], ref: str) -> dict[str, Any]:
    answer = httpx.get(f"{service['base']}/api/v1/cases/{ref}", headers=auth(service["agent"]))
    assert answer.status_code == 200
    result: dict[str, Any] = answer.json()
    return result


def auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def at_once(service: dict[str, Any], ref: str, calls: list[tuple[str, str, dict[str, Any]]]) -> list[int]:
    """Send every (token, action, body) to the case at the same moment; the statuses."""
    answers = posts_at_once(service, [(token, f"/api/v1/cases/{ref}/{action}", body, {})
                                      for token, action, body in calls])
    return [answer.status_code for answer in answers]


def posts_at_once(service: dict[str, Any], calls: list[tuple[str, str, Any, dict[str, str]]]) -> list[httpx.Response]:
    """POST every (token, path, JSON body, headers) at the same moment, each on its own connection."""
    barrier = threading.Barrier(len(calls))

    def send(call: tuple[str, str, Any, dict[str, str]]) -> httpx.Response:
        token, path, body, headers = call
        with httpx.Client(base_url=service["base"], timeout=60) as client:
            client.get("/healthz")  # connected before the barrier, so the POSTs leave together
            barrier.wait()
            return client.post(path, json=body, headers={**auth(token), **headers})

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(send, calls))


def timeline_types(service: dict[str, Any], ref: str) -> Counter[str]:
    return Counter(event["type"] for event in case_of(service, ref)["timeline"])


def test_twenty_concurrent_resolves_accept_exactly_one(service: dict[str, Any]) -> None:
    ref = billing_case(service)
    statuses = at_once(service, ref, [(service["agent"], "resolve", {})] * 20)
    assert sorted(Counter(statuses).items()) == [(200, 1), (409, 19)]
    assert timeline_types(service, ref)["resolved"] == 1
    assert case_of(service, ref)["status"] == "resolved"


def test_concurrent_resolves_and_closes_end_consistently(service: dict[str, Any]) -> None:
    ref = billing_case(service)
    calls = [(service["agent"], "resolve", {})] * 10 + [(service["agent"], "close", {"reason": "done"})] * 10
    statuses = at_once(service, ref, calls)
    assert set(statuses) <= {200, 409}
    resolves, closes = Counter(statuses[:10])[200], Counter(statuses[10:])[200]
    # Close is allowed from resolved too, so a resolve may win before the close; nothing after it.
    assert closes == 1 and resolves <= 1
    types = timeline_types(service, ref)
    assert (types["resolved"], types["closed"]) == (resolves, closes)
    assert case_of(service, ref)["status"] == "closed"


def test_a_departments_concurrent_acknowledges_accept_one(service: dict[str, Any]) -> None:
    ref = billing_case(service)
    statuses = at_once(service, ref, [(service["billing"], "acknowledge", {})] * 10)
    assert sorted(Counter(statuses).items()) == [(200, 1), (409, 9)]
    assert timeline_types(service, ref)["acknowledged"] == 1


def test_a_departments_concurrent_resolves_queue_one_delivery(service: dict[str, Any]) -> None:
    ref = billing_case(service)
    statuses = at_once(service, ref, [(service["billing"], "resolve", {})] * 10)
    assert sorted(Counter(statuses).items()) == [(200, 1), (409, 9)]
    engine = make_engine(service["WEBCARE_DATABASE_URL"])
    try:
        with engine.connect() as connection:
            resolved = connection.scalar(select(func.count()).select_from(DepartmentEvent).where(
                DepartmentEvent.case_id == int(ref.removeprefix("WC-")), DepartmentEvent.type == "case.resolved"))
    finally:
        engine.dispose()
    assert resolved == 1


def test_one_idempotency_key_sent_at_once_acts_once_and_never_500s(service: dict[str, Any]) -> None:
    key = {"Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    body = {"mention": {"id": "idem", "channel": "x", "text": "storing in Utrecht"}}
    answers = posts_at_once(service, [(service["agent"], "/api/v1/rules/explain", body, key)] * 10)
    statuses = Counter(answer.status_code for answer in answers)
    assert set(statuses) <= {200, 409} and statuses[200] >= 1, statuses
    refused = [answer for answer in answers if answer.status_code == 409]
    assert all(a.json()["type"].endswith("/idempotency-key-in-use") for a in refused)
    again = httpx.post(f"{service['base']}/api/v1/rules/explain", json=body, headers={**auth(service["agent"]), **key})
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"


def test_one_idempotency_key_on_concurrent_case_actions_resolves_once(service: dict[str, Any]) -> None:
    ref = billing_case(service)
    key = {"Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    answers = posts_at_once(service, [(service["agent"], f"/api/v1/cases/{ref}/resolve", {}, key)] * 10)
    assert {answer.status_code for answer in answers} <= {200, 409}
    # The case lock queues them: the first acts, the others answer its stored response again.
    assert sum(1 for a in answers if a.status_code == 200 and "Idempotent-Replayed" not in a.headers) == 1
    assert timeline_types(service, ref)["resolved"] == 1
