"""The retention purge: what is due is a pure function of `now`; past its retention data is blanked,
never deleted, so every report over the period adds up the same afterwards."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from app.cases.models import Case
from app.db import make_sessionmaker
from app.delivery.models import Delivery, DeliveryAttempt
from app.ingest.dead_letters import keep_dead_letter
from app.ingest.models import InboundDeadLetter
from app.kernel.clock import utc_now
from app.kernel.refs import parse_ref
from app.main import create_app
from app.mentions.stored import StoredMention
from app.privacy.policy import RetentionPolicy, retention_cutoffs
from app.privacy.retention import RetentionPurger, purge_due
from app.settings import Settings
from app.workers import Workers
from tests.privacy.support import places_holding
from tests.support import ApiClient, Signer, make_user_token, mention, post_mentions
from tests.ui.support import login, make_user

POLICY = RetentionPolicy(raw_payloads=timedelta(days=30), dead_letters=timedelta(days=14),
                         finished_cases=timedelta(days=365), delivery_logs=timedelta(days=90))
CLOSED_TEXT = "Mijn IBAN NL91ABNA0417164300 is twee keer belast in oktober"
RESOLVED_TEXT = "Geen bereik in Kerkstraat 9 Zwolle"
OPEN_TEXT = "Mijn modem 4711-XK geeft al dagen storing"


def test_what_is_due_is_now_minus_each_retention() -> None:
    now = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
    cutoffs = retention_cutoffs(now, POLICY)
    assert cutoffs.raw_received_before == datetime(2027, 5, 2, 12, 0, tzinfo=UTC)
    assert cutoffs.dead_letters_received_before == datetime(2027, 5, 18, 12, 0, tzinfo=UTC)
    assert cutoffs.cases_finished_before == datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert cutoffs.delivery_attempts_before == datetime(2027, 3, 3, 12, 0, tzinfo=UTC)


def test_the_settings_give_the_policy_and_every_worker_process_purges(app: Any) -> None:
    settings = Settings(retention_raw_payload_days=7, retention_dead_letter_days=3, retention_closed_case_days=100,
                        retention_delivery_log_days=10)
    assert settings.retention_policy == RetentionPolicy(timedelta(days=7), timedelta(days=3), timedelta(days=100),
                                                        timedelta(days=10))
    assert Settings().retention_policy == RetentionPolicy()  # the documented defaults
    workers = Workers(app.state.sessions, app.state.rules, app.state.secrets, retention=settings.retention_policy)
    [purger] = [w for w in workers.workers if isinstance(w, RetentionPurger)]
    assert purger.policy == settings.retention_policy and purger.interval == timedelta(days=1)


def _seed(client: TestClient, signer: Signer, api: ApiClient, sessions: sessionmaker[Session]) -> dict[str, str]:
    """A case handed on by an agent and closed, one resolved by webcare, one still open; a dead letter
    and a department's response body."""
    closed = post_mentions(client, signer, mention(CLOSED_TEXT, author={"handle": "@klant_closed"})).json()["cases"][0]
    resolved = post_mentions(client, signer,
                             mention(RESOLVED_TEXT, author={"id": "u-resolved", "name": "Kees Kerkstraat"}))
    still_open = post_mentions(client, signer, mention(OPEN_TEXT, author={"handle": "@klant_open"}))
    refs = {"closed": closed, "resolved": resolved.json()["cases"][0], "open": still_open.json()["cases"][0]}
    for path, body in ((f"{closed}/handoff", {"department": "billing", "reason": "IBAN NL91ABNA0417164300"}),
                       (f"{closed}/notes", {"text": "Klant belde over NL91ABNA0417164300"}),
                       (f"{closed}/close", {"reason": "klant tevreden, IBAN NL91ABNA0417164300 gecorrigeerd"}),
                       (f"{refs['resolved']}/respond",
                        {"text": "Beste Kees, we kijken in Kerkstraat 9", "send": False}),
                       (f"{refs['resolved']}/resolve", {"resolution": "mast in Zwolle hersteld"}),
                       (f"{refs['resolved']}/feedback",
                        {"score": 9, "csat": 5, "comment": "Top, Kerkstraat 9 heeft bereik"}),
                       (f"{closed}/feedback", {"score": 2, "comment": "Rekening NL91ABNA0417164300 nog fout"})):
        answer = api.post(f"/api/v1/cases/{path}", json=body)
        assert answer.status_code == 200, answer.text
    with sessions() as session, session.begin():
        keep_dead_letter(session, connector="listening-tool", kind="mention", body=b'{"text": "letter-7731"}',
                         failures=["id: missing"], content_type="application/json", now=utc_now())
        delivery = session.scalars(select(Delivery).where(Delivery.case_id == parse_ref(closed))).first()
        assert delivery is not None
        session.add(DeliveryAttempt(delivery_id=delivery.id, started_at=utc_now(), status_code=200, latency_ms=3,
                                    response_body='{"ticket": "echo NL91ABNA0417164300"}'))
    return refs


def _steady(value: Any) -> Any:
    """A report without what moves with the clock alone: `now`, the backlog's age, `seconds_left`."""
    if isinstance(value, dict):
        return {k: _steady(v) for k, v in value.items()
                if k not in ("now", "seconds_left") and not k.startswith("backlog_age")}
    if isinstance(value, list):
        return [_steady(v) for v in value]
    return value


def _figures(api: ApiClient, lead: ApiClient, client: TestClient, start: datetime, end: datetime) -> dict[str, Any]:
    """What the reports say about [start, end): the routing report, the KPI reports per department,
    channel and agent (volumes, response and resolution times, SLA compliance, reopens, reroutes,
    NPS, CSAT), the workload report, the case counts /metrics shows and the cases listed with their
    statuses, departments, channels, timers and timestamps."""
    window = {"from": start.isoformat(), "to": end.isoformat()}
    routing = lead.get("/api/v1/reports/routing", params=window)
    csv = lead.get("/api/v1/reports/routing", params={**window, "format": "csv"})
    kpis = {group: lead.get(f"/api/v1/reports/{group}", params=window)
            for group in ("departments", "channels", "agents", "workload")}
    assert all(answer.status_code == 200 for answer in kpis.values())
    metrics = [line for line in client.get("/metrics").text.splitlines() if line.startswith("webcare_cases")]
    cases = api.get("/api/v1/cases", params={"limit": 200, "sort": "created_at"}).json()["items"]
    listed = [{k: c[k] for k in ("ref", "status", "department", "channel", "priority", "category", "tags",
                                 "created_at", "updated_at", "routing", "sla")} for c in cases]
    assert routing.status_code == csv.status_code == 200
    return _steady({"routing": routing.json(), "csv": csv.text, "metrics": metrics, "cases": listed,
                    **{group: answer.json() for group, answer in kpis.items()}})


def test_a_purge_blanks_what_is_past_its_retention_and_every_report_adds_up_the_same(
        client: TestClient, signer: Signer, api: ApiClient, sessions: sessionmaker[Session],
        session: Session) -> None:
    refs = _seed(client, signer, api, sessions)
    lead = ApiClient(client, make_user_token(sessions, "lead-lia", "lead"))
    start, end = utc_now() - timedelta(hours=1), utc_now() + timedelta(hours=1)
    before = _figures(api, lead, client, start, end)
    assert before["routing"]["decided"]["cases"] + before["routing"]["default"]["cases"] == 3
    assert before["routing"]["default"]["handed_on"] == 1
    assert before["channels"]["total"]["nps"] is not None and before["channels"]["total"]["csat"] is not None

    with sessions() as purge, purge.begin():
        purged = purge_due(purge, now=utc_now() + timedelta(days=366), policy=POLICY)

    # The closed case's delivery response went with the case; the open case's raw payload alone.
    assert purged == {"cases": 2, "raw_payloads": 1, "dead_letters": 1, "delivery_responses": 0}
    assert _figures(api, lead, client, start, end) == before
    session.expire_all()
    for trace in ("NL91ABNA0417164300", "Kerkstraat", "klant_closed", "u-resolved", "letter-7731",
                  "mast in Zwolle", "heeft bereik"):
        assert places_holding(session, trace) == [], f"{trace} outlived its retention"
    # The open case keeps its text and author; only its raw payload went.
    [still_open] = session.scalars(select(StoredMention).where(StoredMention.case_id == parse_ref(refs["open"])))
    assert (still_open.text, still_open.author_handle, still_open.raw) == (OPEN_TEXT, "@klant_open", {})
    closed = session.get_one(Case, parse_ref(refs["closed"]))
    assert closed.anonymised_at is not None and closed.author_key is None
    [letter] = session.scalars(select(InboundDeadLetter)).all()
    assert (letter.status, letter.body, letter.events_failed) == ("erased", b"", 1)
    with sessions() as purge, purge.begin():
        assert set(purge_due(purge, now=utc_now() + timedelta(days=366), policy=POLICY).values()) == {0}


def test_nothing_is_purged_before_its_retention_ends(client: TestClient, signer: Signer, api: ApiClient,
                                                    sessions: sessionmaker[Session], session: Session) -> None:
    _seed(client, signer, api, sessions)
    with sessions() as purge, purge.begin():
        assert set(purge_due(purge, now=utc_now() + timedelta(days=13), policy=POLICY).values()) == {0}
    with sessions() as purge, purge.begin():  # the dead letter's 14 days are over, nothing else's
        assert purge_due(purge, now=utc_now() + timedelta(days=15), policy=POLICY) == \
            {"cases": 0, "raw_payloads": 0, "dead_letters": 1, "delivery_responses": 0}
    with sessions() as purge, purge.begin():  # raw payloads after 30 days; case texts stay a year
        assert purge_due(purge, now=utc_now() + timedelta(days=31), policy=POLICY) == \
            {"cases": 0, "raw_payloads": 3, "dead_letters": 0, "delivery_responses": 0}
    with sessions() as purge, purge.begin():  # a department's response bodies after 90 days
        assert purge_due(purge, now=utc_now() + timedelta(days=91), policy=POLICY) == \
            {"cases": 0, "raw_payloads": 0, "dead_letters": 0, "delivery_responses": 1}
    session.expire_all()
    assert session.scalars(select(DeliveryAttempt.response_body)).all() == [None]
    assert places_holding(session, "NL91ABNA0417164300")
    assert places_holding(session, RESOLVED_TEXT)


def test_purges_running_at_once_anonymise_each_case_once(live_database: Engine, settings: Settings) -> None:
    sessions = make_sessionmaker(live_database)
    with TestClient(create_app(settings, engine=live_database, sessions=sessions)) as client:
        signer = Signer(client.app.state.secrets.get("TEST_LISTENING_SECRET", webhook=True))  # type: ignore[attr-defined]
        agent = ApiClient(client, make_user_token(sessions, "agent-ann", "agent"))
        refs = [post_mentions(client, signer, mention(f"Klacht {i} over de winkel", author={"handle": f"@k{i}"}))
                .json()["cases"][0] for i in range(12)]
        for ref in refs:
            assert agent.post(f"/api/v1/cases/{ref}/close", json={"reason": "dubbel"}).status_code == 200
    purgers = [RetentionPurger(sessions, RetentionPolicy(finished_cases=timedelta(seconds=0))) for _ in range(3)]

    def drain(purger: RetentionPurger) -> int:
        done = 0
        while (found := purger.purge_batch()) > 0:
            done += found
        return done

    with ThreadPoolExecutor(max_workers=3) as pool:
        done = list(pool.map(drain, purgers))
    assert sum(done) == 12  # each case anonymised by exactly one of the purges
    with sessions() as session:
        cases = session.scalars(select(Case)).all()
        assert len(cases) == 12 and all(c.anonymised_at is not None for c in cases)
        assert session.scalars(select(StoredMention.text).distinct()).all() == [""]


def test_the_queue_forgets_a_resolved_cases_text_once_it_is_purged(
        client: TestClient, signer: Signer, api: ApiClient, sessions: sessionmaker[Session]) -> None:
    refs = _seed(client, signer, api, sessions)
    make_user(sessions, "ann")
    login(client, "ann")
    search = {"q": "Kerkstraat", "status": "resolved"}
    assert refs["resolved"] in client.get("/ui/", params=search).text
    with sessions() as purge, purge.begin():
        purge_due(purge, now=utc_now() + timedelta(days=366), policy=POLICY)
    assert refs["resolved"] not in client.get("/ui/", params=search).text
    assert refs["resolved"] in client.get("/ui/", params={"status": "resolved"}).text
    timeline = api.get(f"/api/v1/cases/{refs['resolved']}").json()["timeline"]
    assert [e["data"] for e in timeline if e["type"] == "privacy_anonymised"] == [{"retention_days": 365}]
