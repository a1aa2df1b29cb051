"""Erasure and export of one author's data, end to end through the API, on the real database."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import IdempotencyKey
from app.auth.service import Principal
from app.cases.models import Case, CaseEvent
from app.db import make_sessionmaker, transaction
from app.delivery.models import Delivery, DeliveryAttempt
from app.ingest.dead_letters import keep_dead_letter
from app.kernel.clock import utc_now
from app.kernel.refs import parse_ref
from app.learning.department_model import refresh_department_model
from app.learning.models import RoutingModel
from app.main import create_app
from app.mentions.stored import StoredMention
from app.privacy.erasure import AuthorRef, erase_author
from app.settings import Settings
from tests.privacy.support import places_holding
from tests.support import ApiClient, Signer, make_department_token, make_user_token, mention, post_mentions
from tests.ui.support import login, make_user

JAN = {"id": "author-7f3a91", "handle": "@jan_devries_nl", "name": "Jan de Vries-Zonneveld"}
JAN_TEXT = "Mijn adres is Dorpsstraat 117 en mijn nummer 0612398765, de monteur kwam niet"
JAN_LATER = "Nog steeds geen monteur op Dorpsstraat 117"
PIET = {"id": "author-2b8c44", "handle": "@piet_pannekoek", "name": "Piet Pannekoek"}
PIET_TEXT = "Storing bij Pannekoekhuis Utrecht sinds vanochtend"
JAN_TRACES = ("Dorpsstraat", "0612398765", "jan_devries_nl", "author-7f3a91", "Zonneveld")


@pytest.fixture
def ops(client: TestClient, sessions: sessionmaker[Session]) -> ApiClient:
    return ApiClient(client, make_user_token(sessions, "ops-olga", "ops"))


def _seed(client: TestClient, signer: Signer, api: ApiClient, sessions: sessionmaker[Session]) -> dict[str, str]:
    """Jan opens a case (agents note, answer and hand it to billing, which has a webhook) and writes
    again on Piet's thread; Piet opens a case of his own. A dead letter holds Jan's id, a trained
    model learned from Jan's text, an idempotent answer holds Jan's case, a delivery attempt's
    response echoes Jan's handle."""
    jan = post_mentions(client, signer, mention(JAN_TEXT, author=JAN, conversation_id="conv-jan")).json()["cases"][0]
    piet = post_mentions(client, signer,
                         mention(PIET_TEXT, author=PIET, conversation_id="conv-piet")).json()["cases"][0]
    joined = post_mentions(client, signer, mention(JAN_LATER, author=JAN, conversation_id="conv-piet")).json()
    assert joined["cases"] == [piet]
    assert api.post(f"/api/v1/cases/{jan}/notes", json={"text": "Jan belt over Dorpsstraat 117"}).status_code == 200
    answered = api.post(f"/api/v1/cases/{jan}/respond", json={"text": "Dag Jan de Vries-Zonneveld!", "send": False},
                        headers={"Idempotency-Key": "respond-jan"})
    assert answered.status_code == 200
    assert api.post(f"/api/v1/cases/{jan}/handoff", json={"department": "billing", "reason": "0612398765 belt"}
                    ).status_code == 200
    assert api.post(f"/api/v1/cases/{piet}/notes", json={"text": "Piet wacht op Pannekoekhuis"}).status_code == 200
    assert api.post(f"/api/v1/cases/{jan}/feedback",
                    json={"score": 3, "csat": 2, "comment": "Monteur vond Dorpsstraat 117 niet"}).status_code == 200
    with sessions() as session, session.begin():
        keep_dead_letter(session, connector="listening-tool", kind="mention",
                         body=f'{{"id": "m-x", "author": {{"id": "{JAN["id"]}"}}, "text": 42}}'.encode(),
                         failures=["text: not a string"], content_type="application/json", now=utc_now())
        keep_dead_letter(session, connector="listening-tool", kind="mention",
                         body=f'{{"id": "m-y", "author": {{"id": "{PIET["id"]}"}}, "text": 42}}'.encode(),
                         failures=["text: not a string"], content_type="application/json", now=utc_now())
        delivery = session.scalars(select(Delivery).where(Delivery.case_id == parse_ref(jan))).first()
        assert delivery is not None
        session.add(DeliveryAttempt(delivery_id=delivery.id, started_at=utc_now(), status_code=200, latency_ms=5,
                                    response_body=f'{{"seen": "{JAN["handle"]}"}}'))
        refresh_department_model(session, now=utc_now() + timedelta(seconds=1))
    return {"jan": jan, "piet": piet}


def test_erasure_blanks_every_copy_of_the_author_and_leaves_others_untouched(
        client: TestClient, signer: Signer, api: ApiClient, ops: ApiClient, sessions: sessionmaker[Session],
        session: Session) -> None:
    refs = _seed(client, signer, api, sessions)
    for trace in JAN_TRACES:
        assert places_holding(session, trace), f"the seed should have stored {trace}"
    model_before = session.scalars(select(RoutingModel).order_by(RoutingModel.id.desc())).first()
    assert model_before is not None and "dorpsstraat" in str(model_before.model)
    trained_before = model_before.trained_at
    piet_before = api.get(f"/api/v1/cases/{refs['piet']}").json()

    answer = ops.post("/api/v1/privacy/erasure", json={"connector": "listening-tool", "handle": "JAN_DEVRIES_NL"})

    assert answer.status_code == 200, answer.text
    counts = answer.json()["counts"]
    assert counts["mentions"] == 2 and counts["cases"] == 1 and counts["cases_touched"] == 2
    assert counts["dead_letters"] == 1 and counts["idempotent_responses"] == 1 and counts["feedback_comments"] == 1
    assert counts["delivery_responses"] == 1 and counts["models_retrained"] == 1
    assert counts["timeline_entries"] >= 3 and counts["department_events"] >= 1
    session.expire_all()
    for trace in JAN_TRACES:
        assert places_holding(session, trace) == [], f"{trace} is still stored"
    # Piet's data is untouched: his text, his author data, his note, his dead letter.
    for trace in ("Pannekoekhuis Utrecht", "piet_pannekoek", "author-2b8c44", "Piet wacht op Pannekoekhuis"):
        assert places_holding(session, trace), f"{trace} of another author was erased"
    piet_after = api.get(f"/api/v1/cases/{refs['piet']}").json()
    assert piet_after["author"] == piet_before["author"] == {**PIET, "followers": None, "verified": None}
    assert [m["text"] for m in piet_after["mentions"]] == [PIET_TEXT, ""]
    # The case Jan opened keeps what reports count: department, status, channel, timers, timestamps.
    jan_case = api.get(f"/api/v1/cases/{refs['jan']}").json()
    assert (jan_case["department"], jan_case["channel"], jan_case["status"]) == ("billing", "x", "pending_department")
    assert jan_case["author"] == {"id": None, "handle": None, "name": None, "followers": None, "verified": None}
    assert [m["text"] for m in jan_case["mentions"]] == [""]
    assert [e["data"]["to"] for e in jan_case["timeline"] if e["type"] == "handed_off"] == ["billing"]
    erased = [e for e in jan_case["timeline"] if e["type"] == "privacy_erased"]
    assert erased[0]["actor"] == "ops-olga" and erased[0]["data"] == {"scope": "connector:listening-tool",
                                                                        "mentions": 1}
    # The model was retrained from the blanked history; the earlier runs that knew Jan are gone.
    make_user(sessions, "ann")
    login(client, "ann")
    page = client.get(f"/ui/cases/{refs['jan']}")
    assert page.status_code == 200 and "Personal data erased" in page.text and "Dorpsstraat" not in page.text
    [model_after] = session.scalars(select(RoutingModel)).all()
    assert model_after.trained_at != trained_before and "dorpsstraat" not in str(model_after.model)
    assert session.scalars(select(IdempotencyKey.key).where(IdempotencyKey.key == "respond-jan")).all() == []


def test_erasure_is_idempotent_and_by_author_id_too(client: TestClient, signer: Signer, api: ApiClient,
                                                    ops: ApiClient, sessions: sessionmaker[Session]) -> None:
    _seed(client, signer, api, sessions)
    first = ops.post("/api/v1/privacy/erasure", json={"channel": "x", "author_id": JAN["id"]})
    assert first.status_code == 200 and first.json()["counts"]["mentions"] == 2
    again = ops.post("/api/v1/privacy/erasure", json={"channel": "x", "author_id": JAN["id"]})
    assert again.status_code == 200
    assert set(again.json()["counts"].values()) == {0}
    assert again.json()["scope"] == "channel:x"


def test_export_holds_everything_about_the_author_and_nothing_of_others(
        client: TestClient, signer: Signer, api: ApiClient, ops: ApiClient, sessions: sessionmaker[Session]) -> None:
    refs = _seed(client, signer, api, sessions)
    answer = ops.post("/api/v1/privacy/export", json={"connector": "listening-tool", "author_id": JAN["id"]})
    assert answer.status_code == 200, answer.text
    export = answer.json()
    assert sorted(m["text"] for m in export["mentions"]) == sorted([JAN_TEXT, JAN_LATER])
    assert all(m["raw"]["author"]["id"] == JAN["id"] for m in export["mentions"])
    assert sorted(m["case"] for m in export["mentions"]) == sorted([refs["jan"], refs["piet"]])
    [case] = export["cases"]
    assert case["ref"] == refs["jan"] and case["author"]["handle"] == JAN["handle"]
    assert "Jan belt over Dorpsstraat 117" in [e["data"].get("text") for e in case["timeline"]]
    assert [r["text"] for r in export["replies"]] == []  # recorded, not sent: no platform reply row
    assert [(f["score"], f["comment"]) for f in export["feedback"]] == [(3, "Monteur vond Dorpsstraat 117 niet")]
    assert {e["department"] for e in export["department_events"]} == {"billing"}
    assert [d["connector"] for d in export["dead_letters"]] == ["listening-tool"]
    assert "Pannekoek" not in answer.text and PIET_TEXT not in answer.text


@pytest.mark.parametrize("path", ["/api/v1/privacy/erasure", "/api/v1/privacy/export"])
def test_only_ops_may_erase_or_export(client: TestClient, signer: Signer, api: ApiClient, path: str,
                                      sessions: sessionmaker[Session], session: Session) -> None:
    post_mentions(client, signer, mention(JAN_TEXT, author=JAN))
    lead = ApiClient(client, make_user_token(sessions, "lead-lia", "lead"))
    department = ApiClient(client, make_department_token(sessions, "billing"))
    body = {"connector": "listening-tool", "author_id": JAN["id"]}
    for caller in (api, lead, department):
        refused = caller.post(path, json=body)
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert client.post(path, json=body).status_code == 401
    session.expire_all()
    assert session.scalars(select(StoredMention.text).where(StoredMention.author_id == JAN["id"])).all() == [JAN_TEXT]


@pytest.mark.parametrize("body", [
    {"author_id": "a"},  # neither connector nor channel
    {"connector": "listening-tool", "channel": "x", "author_id": "a"},  # both
    {"connector": "listening-tool"},  # no author
    {"connector": "listening-tool", "handle": "@"},  # a handle that names nobody
    {"connector": "listening-tool", "author_id": "a", "email": "x@example.org"},  # unknown field
])
def test_a_request_that_names_no_single_author_is_422(ops: ApiClient, body: dict[str, str]) -> None:
    answer = ops.post("/api/v1/privacy/erasure", json=body)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["errors"]


def test_the_erasure_record_holds_no_personal_data(client: TestClient, signer: Signer, api: ApiClient,
                                                  ops: ApiClient, sessions: sessionmaker[Session],
                                                  session: Session) -> None:
    _seed(client, signer, api, sessions)
    ops.post("/api/v1/privacy/erasure", json={"connector": "listening-tool", "author_id": JAN["id"]})
    records = session.scalars(select(CaseEvent).where(CaseEvent.type == "privacy_erased")).all()
    assert len(records) == 2
    assert all(set(r.data) == {"scope", "mentions"} for r in records)
    assert session.scalars(select(Case.author_key).where(Case.author_key.like("%7f3a91%"))).all() == []


def test_two_erasures_of_one_author_at_once_erase_each_mention_once(live_database: Engine,
                                                                     settings: Settings) -> None:
    sessions = make_sessionmaker(live_database)
    with TestClient(create_app(settings, engine=live_database, sessions=sessions)) as client:
        signer = Signer(client.app.state.secrets.get("TEST_LISTENING_SECRET", webhook=True))  # type: ignore[attr-defined]
        jan_cases = {post_mentions(client, signer, mention(f"{JAN_TEXT} ({i})", author=JAN)).json()["cases"][0]
                     for i in range(6)}
        post_mentions(client, signer, mention(PIET_TEXT, author=PIET))
    ops = Principal(kind="user", name="ops-olga", role="ops")
    jan = AuthorRef(connector="listening-tool", handle=JAN["handle"])

    def erase() -> dict[str, int]:
        with transaction(sessions) as session:
            return erase_author(session, jan, principal=ops, now=utc_now())

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = [f.result() for f in [pool.submit(erase), pool.submit(erase)]]
    assert sorted(r["mentions"] for r in results) == [0, 6]
    assert sorted(r["cases"] for r in results) == [0, len(jan_cases)]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(CaseEvent)
                              .where(CaseEvent.type == "privacy_erased")) == len(jan_cases)
        assert places_holding(session, "Dorpsstraat") == []
        assert places_holding(session, PIET_TEXT)
