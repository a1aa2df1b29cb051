"""Which case a mention joins (DESIGN "Case life cycle"), through the webhook."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.cases.models import Case
from app.kernel.refs import parse_ref
from tests.support import ApiClient, Signer, mention, post_mentions


def ingest(client: TestClient, signer: Signer, text: str, **fields: object) -> str:
    response = post_mentions(client, signer, mention(text, **fields))
    assert response.status_code == 200, response.text
    return str(response.json()["cases"][0])


def set_status(session: Session, ref: str, status: str) -> None:
    case = session.get_one(Case, parse_ref(ref))
    case.status = status
    session.commit()


def test_same_conversation_joins_the_case(client: TestClient, signer: Signer, api: ApiClient) -> None:
    first = ingest(client, signer, "storing in Delft", id="c1", conversation_id="conv-1", author={"id": "u1"})
    second = ingest(client, signer, "nog steeds", id="c2", conversation_id="conv-1", author={"id": "u2"})
    assert first == second
    case = api.get(f"/api/v1/cases/{first}").json()
    assert [m["external_id"] for m in case["mentions"]] == ["c1", "c2"]
    assert case["timeline"][-1]["type"] == "mention_added"
    assert case["timeline"][-1]["data"]["joined_by"] == "thread"


def test_a_reply_joins_the_case_of_the_post_it_answers(client: TestClient, signer: Signer) -> None:
    first = ingest(client, signer, "factuur te hoog", id="p1", author={"id": "u1"})
    assert ingest(client, signer, "@telco graag antwoord", id="p2", in_reply_to="p1", author={"id": "u9"}) == first


def test_same_author_same_channel_joins_within_a_day(client: TestClient, signer: Signer) -> None:
    first = ingest(client, signer, "hallo", author={"handle": "@Piet"})
    assert ingest(client, signer, "nog een vraag", author={"handle": "@piet"}) == first
    assert ingest(client, signer, "via whatsapp", channel="whatsapp", author={"handle": "@piet"}) != first
    assert ingest(client, signer, "iemand anders", author={"handle": "@klaas"}) != first


def test_same_author_after_24_hours_opens_a_new_case(client: TestClient, signer: Signer, session: Session) -> None:
    first = ingest(client, signer, "hallo", author={"id": "old"})
    case = session.get_one(Case, parse_ref(first))
    case.last_mention_at -= timedelta(hours=25)
    session.commit()
    assert ingest(client, signer, "weer ik", author={"id": "old"}) != first


def test_a_new_mention_reopens_a_resolved_case(client: TestClient, signer: Signer, session: Session,
                                               api: ApiClient) -> None:
    ref = ingest(client, signer, "storing", id="r1", conversation_id="conv-r")
    set_status(session, ref, "resolved")
    assert ingest(client, signer, "het is weer stuk", id="r2", conversation_id="conv-r") == ref
    case = api.get(f"/api/v1/cases/{ref}").json()
    assert case["status"] == "open"
    assert case["timeline"][-1]["type"] == "reopened"


def test_a_customer_reply_returns_a_pending_customer_case(client: TestClient, signer: Signer, session: Session,
                                                         api: ApiClient) -> None:
    ref = ingest(client, signer, "factuur", id="w1", conversation_id="conv-w")
    case = session.get_one(Case, parse_ref(ref))
    case.status, case.return_status = "pending_customer", "pending_department"
    session.commit()
    ingest(client, signer, "hier is mijn klantnummer", id="w2", conversation_id="conv-w")
    assert api.get(f"/api/v1/cases/{ref}").json()["status"] == "pending_department"


def test_a_closed_thread_opens_a_new_linked_case(client: TestClient, signer: Signer, session: Session,
                                                 api: ApiClient) -> None:
    ref = ingest(client, signer, "storing", id="x1", conversation_id="conv-x")
    set_status(session, ref, "closed")
    new = ingest(client, signer, "weer storing", id="x2", conversation_id="conv-x")
    assert new != ref
    assert api.get(f"/api/v1/cases/{new}").json()["linked_case"] == ref


def test_joining_raises_priority_and_adds_tags_but_keeps_the_owner(client: TestClient, signer: Signer,
                                                                   api: ApiClient) -> None:
    ref = ingest(client, signer, "mijn factuur", id="j1", conversation_id="conv-j")
    ingest(client, signer, "en nu ook storing", id="j2", conversation_id="conv-j", author={"followers": 50000})
    case = api.get(f"/api/v1/cases/{ref}").json()
    assert case["department"] == "billing"
    assert case["priority"] == "P2"
    assert set(case["tags"]) == {"influencer", "outage"}
