"""The dispatcher inside one process, the endpoints mocked with respx: signing, retries, throttling,
410, dead letters, ordering per case, redirects, and a dead endpoint beside a healthy one."""

from __future__ import annotations

import asyncio
import json
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook, WebhookVerificationError

from app.audit import Actor
from app.audit.models import AuditEntry
from app.delivery.log import enable_subscription
from app.delivery.models import Delivery, Subscription
from app.jobs.retry import RetrySchedule
from app.rules import load_ruleset
from app.rules.holder import RuleSetHolder
from tests.delivery.support import (
    NOW,
    SECRETS,
    Hook,
    add_events,
    attempts_of,
    delivery_of,
    dispatcher,
    rules_folder,
    secret_store,
    standard_hooks,
)

BASE = "https://hooks.test"
BILLING, NETWORK = f"{BASE}/billing", f"{BASE}/network"
SHORT = RetrySchedule(delays=(timedelta(seconds=5), timedelta(seconds=30)), jitter=0.0)


@pytest.fixture
def holder(tmp_path: Path) -> RuleSetHolder:
    folder = rules_folder(tmp_path / "rules", standard_hooks(BASE))
    return RuleSetHolder(folder, load_ruleset(folder))


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def once(d: Any, now: datetime) -> int:
    try:
        return int(await d.run_once(now))
    finally:
        await d.aclose()


def test_delivers_signed_body_and_records_the_attempt(sessions: sessionmaker[Session], session: Session,
                                                      holder: RuleSetHolder, tmp_path: Path) -> None:
    [[event_id]] = add_events(sessions, holder.current, department="billing", cases=1, per_case=1)
    d = dispatcher(sessions, holder, secret_store(tmp_path))
    now = datetime.now(UTC)
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(BILLING).respond(200, text="x" * 5000)
        assert run(once(d, now)) == 1
    request = route.calls.last.request
    assert request.headers["webhook-id"] == f"evt_{event_id}"
    assert request.headers["content-type"] == "application/json"
    payload = Webhook(SECRETS["TEST_DELIVERY_BILLING_SECRET"]).verify(request.content, dict(request.headers))
    assert payload["type"] == "case.updated" and payload["data"]["case"]["department"] == "billing"
    row = delivery_of(session, event_id)
    assert (row.status, row.attempts, row.last_status_code, row.last_error) == ("delivered", 1, 200, None)
    assert row.lease_owner is None and row.delivered_at == now
    [attempt] = attempts_of(session, row.id)
    assert attempt.status_code == 200 and attempt.error is None and attempt.latency_ms >= 0
    assert attempt.response_body == "x" * 1024


def test_failure_is_retried_on_the_schedule_with_the_same_webhook_id(
        sessions: sessionmaker[Session], session: Session, holder: RuleSetHolder, tmp_path: Path) -> None:
    [[event_id]] = add_events(sessions, holder.current, department="billing", cases=1, per_case=1)
    d = dispatcher(sessions, holder, secret_store(tmp_path), schedule=SHORT)
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(BILLING)
        route.side_effect = [httpx.Response(500, text="boom"), httpx.ConnectError("refused"),
                             httpx.Response(200)]
        assert run(once(d, NOW)) == 1
        row = delivery_of(session, event_id)
        assert (row.status, row.attempts, row.last_error) == ("pending", 1, "HTTP 500")
        assert row.next_attempt_at == NOW + timedelta(seconds=5) and row.lease_owner is None
        assert run(once(d, NOW + timedelta(seconds=4))) == 0           # not due yet
        assert run(once(d, NOW + timedelta(seconds=5))) == 1           # connection refused
        row = delivery_of(session, event_id)
        assert row.attempts == 2 and row.last_status_code is None
        assert row.last_error is not None and row.last_error.startswith("connection error: ConnectError")
        assert row.next_attempt_at == NOW + timedelta(seconds=35)
        assert run(once(d, NOW + timedelta(seconds=35))) == 1
    ids = {call.request.headers["webhook-id"] for call in route.calls}
    assert ids == {f"evt_{event_id}"} and route.call_count == 3
    row = delivery_of(session, event_id)
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 3, 200)
    assert [(a.status_code, a.response_body) for a in attempts_of(session, row.id)] == \
        [(500, "boom"), (None, None), (200, "")]


def test_retry_after_is_honoured_and_throttles_the_endpoint(
        sessions: sessionmaker[Session], session: Session, holder: RuleSetHolder, tmp_path: Path) -> None:
    [[first], [second]] = add_events(sessions, holder.current, department="billing", cases=2, per_case=1)
    [[other]] = add_events(sessions, holder.current, department="network", cases=1, per_case=1)
    d = dispatcher(sessions, holder, secret_store(tmp_path), concurrency=1, batch_size=1)
    with respx.mock(assert_all_called=False) as mock:
        billing = mock.post(BILLING)
        billing.side_effect = [httpx.Response(429, headers={"Retry-After": "120"}), httpx.Response(200),
                               httpx.Response(200)]
        network = mock.post(NETWORK).respond(200)
        assert run(d.run_once(NOW)) == 2                   # one per endpoint
        row = delivery_of(session, first)
        assert row.status == "pending" and row.next_attempt_at == NOW + timedelta(seconds=120)
        assert row.last_error == "HTTP 429: throttled"
        # The billing endpoint is paused: not even the other case's event goes there.
        assert run(d.run_once(NOW + timedelta(seconds=60))) == 0
        assert delivery_of(session, second).status == "pending"
        assert run(d.run_once(NOW + timedelta(seconds=120))) == 1
        assert run(once(d, NOW + timedelta(seconds=121))) == 1
    assert billing.call_count == 3 and network.call_count == 1
    assert delivery_of(session, first).status == delivery_of(session, second).status == "delivered"
    assert delivery_of(session, other).status == "delivered"


def test_410_disables_the_subscription_until_ops_enable_it(
        sessions: sessionmaker[Session], session: Session, holder: RuleSetHolder, tmp_path: Path) -> None:
    [[event_id]] = add_events(sessions, holder.current, department="billing", cases=1, per_case=1)
    d = dispatcher(sessions, holder, secret_store(tmp_path))
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(BILLING)
        route.side_effect = [httpx.Response(410), httpx.Response(200)]
        assert run(d.run_once(NOW)) == 1
        session.expire_all()
        subscription = session.get(Subscription, "billing")
        assert subscription is not None and subscription.enabled is False
        assert subscription.disabled_reason is not None and "410" in subscription.disabled_reason
        row = delivery_of(session, event_id)
        assert row.status == "pending" and row.last_status_code == 410
        assert run(d.run_once(NOW + timedelta(hours=1))) == 0      # held while disabled
        [disabled] = session.scalars(select(AuditEntry).where(AuditEntry.action == "subscription.disabled"))
        assert (disabled.actor_type, disabled.target) == ("system", "department:billing")
        assert disabled.details == {"reason": subscription.disabled_reason}
        with sessions() as s, s.begin():
            enable_subscription(s, "billing", now=NOW, actor=Actor("cli", "piet", "cli"))
        assert run(once(d, NOW + timedelta(hours=1))) == 1
    assert route.call_count == 2
    assert delivery_of(session, event_id).status == "delivered"


def test_dead_after_the_last_attempt(sessions: sessionmaker[Session], session: Session, holder: RuleSetHolder,
                                     tmp_path: Path) -> None:
    [[event_id]] = add_events(sessions, holder.current, department="billing", cases=1, per_case=1)
    d = dispatcher(sessions, holder, secret_store(tmp_path), schedule=SHORT)
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(BILLING).respond(503, text="down")
        for at in (NOW, NOW + timedelta(seconds=5), NOW + timedelta(seconds=35)):
            assert run(d.run_once(at)) == 1
        assert run(once(d, NOW + timedelta(days=3))) == 0
    assert route.call_count == SHORT.max_attempts == 3
    row = delivery_of(session, event_id)
    assert row.status == "dead" and row.attempts == 3
    assert row.last_error == "HTTP 503; no attempts left after 3"
    assert len(attempts_of(session, row.id)) == 3


def test_a_redirect_is_not_followed(sessions: sessionmaker[Session], session: Session, holder: RuleSetHolder,
                                    tmp_path: Path) -> None:
    [[event_id]] = add_events(sessions, holder.current, department="billing", cases=1, per_case=1)
    d = dispatcher(sessions, holder, secret_store(tmp_path))
    with respx.mock(assert_all_called=False) as mock:
        mock.post(BILLING).respond(307, headers={"Location": f"{BASE}/moved"})
        moved = mock.post(f"{BASE}/moved").respond(200)
        assert run(once(d, NOW)) == 1
    assert not moved.called
    row = delivery_of(session, event_id)
    assert row.status == "pending" and row.last_status_code == 307
    assert row.last_error == f"HTTP 307: redirect to {BASE}/moved not followed"


def test_key_rotation_signs_with_both_secrets(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    folder = rules_folder(tmp_path / "rotating", {
        "billing": Hook(BILLING, "TEST_DELIVERY_BILLING_SECRET", "TEST_DELIVERY_BILLING_SECRET_OLD")})
    holder = RuleSetHolder(folder, load_ruleset(folder))
    add_events(sessions, holder.current, department="billing", cases=2, per_case=1)
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(BILLING).respond(200)
        # During the rotation both keys sign; once the old variable is unset, only the new one.
        assert run(once(dispatcher(sessions, holder, secret_store(tmp_path), batch_size=1), datetime.now(UTC))) == 1
        without_old = {k: v for k, v in SECRETS.items() if k != "TEST_DELIVERY_BILLING_SECRET_OLD"}
        assert run(once(dispatcher(sessions, holder, secret_store(tmp_path, without_old)), datetime.now(UTC))) == 1
    rotating, settled = (call.request for call in route.calls)
    assert len(rotating.headers["webhook-signature"].split(" ")) == 2
    for secret in ("TEST_DELIVERY_BILLING_SECRET", "TEST_DELIVERY_BILLING_SECRET_OLD"):
        Webhook(SECRETS[secret]).verify(rotating.content, dict(rotating.headers))
    assert len(settled.headers["webhook-signature"].split(" ")) == 1
    Webhook(SECRETS["TEST_DELIVERY_BILLING_SECRET"]).verify(settled.content, dict(settled.headers))
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRETS["TEST_DELIVERY_BILLING_SECRET_OLD"]).verify(settled.content, dict(settled.headers))
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRETS["TEST_DELIVERY_NETWORK_SECRET"]).verify(rotating.content, dict(rotating.headers))


def test_events_of_a_case_arrive_in_order_even_across_a_retry(
        sessions: sessionmaker[Session], session: Session, holder: RuleSetHolder, tmp_path: Path) -> None:
    [case_a, case_b] = add_events(sessions, holder.current, department="billing", cases=2, per_case=3)
    d = dispatcher(sessions, holder, secret_store(tmp_path), schedule=SHORT)
    seen: list[str] = []
    fail_once = {f"evt_{case_a[0]}"}

    def answer(request: httpx.Request) -> httpx.Response:
        msg_id = request.headers["webhook-id"]
        if msg_id in fail_once:
            fail_once.discard(msg_id)
            return httpx.Response(500)
        seen.append(msg_id)
        return httpx.Response(200)

    with respx.mock(assert_all_called=False) as mock:
        mock.post(BILLING).mock(side_effect=answer)
        at = NOW
        assert run(d.run_once(at)) == 2                # the head of each case, nothing more
        for _ in range(3):                             # case B goes on while case A waits for its retry
            run(d.run_once(at))
        assert seen == [f"evt_{i}" for i in case_b]
        assert delivery_of(session, case_a[1]).attempts == 0
        for _ in range(4):
            at += timedelta(seconds=5)
            run(d.run_once(at))
        run(d.aclose())
    assert [s for s in seen if int(s[4:]) in case_a] == [f"evt_{i}" for i in case_a]
    assert all(delivery_of(session, i).status == "delivered" for i in case_a + case_b)


def test_a_department_without_webhook_turns_its_deliveries_dead(
        sessions: sessionmaker[Session], session: Session, holder: RuleSetHolder, tmp_path: Path) -> None:
    [[billing_event]] = add_events(sessions, holder.current, department="billing", cases=1, per_case=1)
    [[network_event]] = add_events(sessions, holder.current, department="network", cases=1, per_case=1)
    reloaded = rules_folder(tmp_path / "reloaded", {"network": Hook(NETWORK, "TEST_DELIVERY_NETWORK_SECRET")})
    holder.current = load_ruleset(reloaded)
    d = dispatcher(sessions, holder, secret_store(tmp_path))
    with respx.mock(assert_all_called=False) as mock:
        billing = mock.post(BILLING).respond(200)
        mock.post(NETWORK).respond(200)
        assert run(once(d, NOW)) == 1
    assert not billing.called
    row = delivery_of(session, billing_event)
    assert row.status == "dead"
    assert row.last_error == f"the department has no webhook in rule set {holder.current.version}"
    assert delivery_of(session, network_event).status == "delivered"


def test_webhook_removed_between_claim_and_send_is_dead_without_a_request(
        sessions: sessionmaker[Session], session: Session, holder: RuleSetHolder, tmp_path: Path) -> None:
    [[event_id]] = add_events(sessions, holder.current, department="billing", cases=1, per_case=1)
    d = dispatcher(sessions, holder, secret_store(tmp_path))
    reloaded = load_ruleset(rules_folder(tmp_path / "reloaded", {}))

    async def claim_then_reload() -> list[Any]:
        claimed = await d._db(d._claim, {"billing": 5}, NOW, False)
        holder.current = reloaded
        results = [await d._handle(c, now=NOW) for c in claimed]
        await d._db(d._record, results)
        await d.aclose()
        return results

    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(BILLING).respond(200)
        [result] = run(claim_then_reload())
    assert not route.called and result.attempted is False
    row = delivery_of(session, event_id)
    assert row.status == "dead" and row.attempts == 0 and attempts_of(session, row.id) == []


def test_a_missing_secret_is_a_failed_attempt_not_a_crash(
        sessions: sessionmaker[Session], session: Session, holder: RuleSetHolder, tmp_path: Path) -> None:
    [[event_id]] = add_events(sessions, holder.current, department="billing", cases=1, per_case=1)
    d = dispatcher(sessions, holder, secret_store(tmp_path, {}))
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(BILLING).respond(200)
        assert run(once(d, NOW)) == 1
    assert not route.called
    row = delivery_of(session, event_id)
    assert row.status == "pending" and row.last_error is not None
    assert "TEST_DELIVERY_BILLING_SECRET" in row.last_error


def test_a_hanging_endpoint_never_delays_a_healthy_one(
        sessions: sessionmaker[Session], session: Session, holder: RuleSetHolder, tmp_path: Path) -> None:
    healthy = [i for ids in add_events(sessions, holder.current, department="billing", cases=30, per_case=2)
               for i in ids]
    hanging = [i for ids in add_events(sessions, holder.current, department="network", cases=30, per_case=1)
               for i in ids]
    d = dispatcher(sessions, holder, secret_store(tmp_path), concurrency=4, batch_size=4, timeout=4.0,
                   lease_seconds=15, idle_seconds=0.05, rng=random.Random(1))
    delivered_at: dict[str, float] = {}
    hung: list[str] = []

    async def hang(request: httpx.Request) -> httpx.Response:
        hung.append(request.headers["webhook-id"])
        await asyncio.sleep(60)
        return httpx.Response(200)

    async def healthy_answer(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.005)
        delivered_at[request.headers["webhook-id"]] = time.monotonic()
        return httpx.Response(200)

    async def scenario() -> float:
        stop = asyncio.Event()
        started = time.monotonic()
        runner = asyncio.create_task(d.run_forever(stop))
        while len(delivered_at) < len(healthy) and time.monotonic() - started < 10:
            await asyncio.sleep(0.02)
        stop.set()
        await runner
        return started

    with respx.mock(assert_all_called=False) as mock:
        mock.post(NETWORK).mock(side_effect=hang)
        mock.post(BILLING).mock(side_effect=healthy_answer)
        started = run(scenario())
    # 60 healthy deliveries through 4 slots while the other endpoint's 4 slots hang until the 4 s
    # timeout: all delivered before the first timeout. Had they shared the wait, each round of 4
    # would take 4 s.
    assert len(delivered_at) == len(healthy)
    assert max(delivered_at.values()) - started < 3.5
    assert len(hung) == 4                              # its own lane's 4 slots, never more
    rows = {r.event_id: r for r in session.scalars(select(Delivery))}
    assert all(rows[i].status == "delivered" for i in healthy)
    timed_out = [rows[i] for i in hanging if rows[i].attempts]
    assert timed_out and all(r.status == "pending" and r.last_error == "timeout after 4 s" for r in timed_out)
    assert all(r.lease_owner is None for r in rows.values())


def test_a_failing_endpoint_is_probed_one_call_at_a_time(
        sessions: sessionmaker[Session], holder: RuleSetHolder, tmp_path: Path) -> None:
    add_events(sessions, holder.current, department="network", cases=20, per_case=1)
    d = dispatcher(sessions, holder, secret_store(tmp_path), concurrency=4, idle_seconds=0.02)
    in_flight: list[int] = []
    current = 0

    async def failing(request: httpx.Request) -> httpx.Response:
        nonlocal current
        current += 1
        in_flight.append(current)
        await asyncio.sleep(0.1)
        current -= 1
        return httpx.Response(503)

    async def scenario() -> None:
        stop = asyncio.Event()
        runner = asyncio.create_task(d.run_forever(stop))
        while len(in_flight) < 12:
            await asyncio.sleep(0.01)
        stop.set()
        await runner

    with respx.mock(assert_all_called=False) as mock:
        mock.post(NETWORK).mock(side_effect=failing)
        run(asyncio.wait_for(scenario(), timeout=20))
    assert max(in_flight[:4]) == 4                  # a full lane at first
    # Each of the first three failures frees a slot that is filled again; once four attempts in a
    # row have failed (and those three refills are over), one probe at a time.
    assert set(in_flight[7:]) == {1}


def test_wake_starts_a_claim_before_the_idle_sleep_ends(
        sessions: sessionmaker[Session], session: Session, holder: RuleSetHolder, tmp_path: Path) -> None:
    d = dispatcher(sessions, holder, secret_store(tmp_path), idle_seconds=30)

    async def scenario() -> float:
        stop = asyncio.Event()
        sent = asyncio.Event()
        with respx.mock(assert_all_called=False) as mock:
            mock.post(BILLING).mock(side_effect=lambda request: (sent.set(), httpx.Response(200))[1])
            runner = asyncio.create_task(d.run_forever(stop))
            await asyncio.sleep(0.3)                    # the first claim found nothing: idle for 30 s
            await asyncio.to_thread(add_events, sessions, holder.current, department="billing", cases=1,
                                    per_case=1)
            began = time.monotonic()
            await asyncio.to_thread(d.wake)             # from another thread, as a request handler would
            await asyncio.wait_for(sent.wait(), timeout=5)
            stop.set()
            await runner
        return time.monotonic() - began

    assert run(scenario()) < 5
    [row] = session.scalars(select(Delivery)).all()
    session.refresh(row)
    assert row.status == "delivered"


def test_body_is_the_stored_event_body(sessions: sessionmaker[Session], session: Session, holder: RuleSetHolder,
                                       tmp_path: Path) -> None:
    [[event_id]] = add_events(sessions, holder.current, department="billing", cases=1, per_case=1)
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(BILLING).respond(200)
        run(once(dispatcher(sessions, holder, secret_store(tmp_path)), NOW))
    row = delivery_of(session, event_id)
    assert json.loads(route.calls.last.request.content) == row.event.body


def test_a_lane_spreads_its_calls_over_small_pools() -> None:
    from contextlib import ExitStack

    from app.delivery.dispatcher import CONNECTIONS_PER_POOL, _Pools

    async def scenario() -> None:
        pools = _Pools(concurrency=2 * CONNECTIONS_PER_POOL + 1, timeout=1.0, tls=httpx.create_ssl_context())
        assert len(pools.clients) == 3
        with ExitStack() as stack:
            used = [stack.enter_context(pools.lease()) for _ in range(2 * CONNECTIONS_PER_POOL + 1)]
            # The calls in flight are spread evenly: no pool holds more than its share.
            assert max(pools.in_flight) <= CONNECTIONS_PER_POOL
            assert {id(c) for c in used} == {id(c) for c in pools.clients}
        assert pools.in_flight == [0, 0, 0]  # every lease returned, also after an exception below
        with pytest.raises(RuntimeError), pools.lease():
            raise RuntimeError("the call failed")
        assert pools.in_flight == [0, 0, 0]
        await pools.aclose()

    run(scenario())


def test_each_failed_attempt_is_logged_once_at_warning_with_endpoint_and_status(
        sessions: sessionmaker[Session], session: Session, holder: RuleSetHolder, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    [[event_id]] = add_events(sessions, holder.current, department="billing", cases=1, per_case=1)
    d = dispatcher(sessions, holder, secret_store(tmp_path), schedule=SHORT)
    caplog.set_level("WARNING", logger="app.delivery.dispatcher")
    with respx.mock(assert_all_called=False) as mock:
        mock.post(BILLING).side_effect = [httpx.Response(500, text="boom"), httpx.ConnectError("refused"),
                                          httpx.Response(200)]
        for moment in (NOW, NOW + timedelta(seconds=5), NOW + timedelta(seconds=35)):
            assert run(once(d, moment)) == 1
    failures = [r for r in caplog.records if r.name == "app.delivery.dispatcher" and r.levelname == "WARNING"]
    assert len(failures) == 2                                        # two failed attempts, the success is quiet
    first, second = (r.getMessage() for r in failures)
    assert f"delivery {delivery_of(session, event_id).id} to billing ({BILLING}) failed on attempt 1: 500" in first
    assert "next attempt at" in first
    assert "attempt 2: connection error: ConnectError" in second
    assert [r.status_code for r in failures] == [500, None]  # type: ignore[attr-defined]


def test_the_endpoint_in_logs_has_no_user_info_or_query() -> None:
    from app.delivery.dispatcher import endpoint_for_logs

    assert endpoint_for_logs("https://user:pw@hooks.test:8443/in?token=abc#x") == "https://hooks.test:8443/in"
    assert endpoint_for_logs("http://127.0.0.1:8801/hooks/webcare") == "http://127.0.0.1:8801/hooks/webcare"


def test_410s_of_one_batch_disable_and_audit_the_subscription_once(
        sessions: sessionmaker[Session], session: Session, holder: RuleSetHolder, tmp_path: Path) -> None:
    add_events(sessions, holder.current, department="billing", cases=3, per_case=1)
    d = dispatcher(sessions, holder, secret_store(tmp_path))
    with respx.mock(assert_all_called=False) as mock:
        mock.post(BILLING).respond(410)
        assert run(d.run_once(NOW)) == 3
    entries = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "subscription.disabled")))
    assert [(e.actor_type, e.target) for e in entries] == [("system", "department:billing")]
