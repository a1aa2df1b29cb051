"""GET /api/v1/cases and /api/v1/cases/{ref}: filters, search, pagination, visibility."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.support import ApiClient, Signer, make_department_token, make_user_token, mention, post_mentions


def seed(client: TestClient, signer: Signer) -> dict[str, str]:
    refs = {}
    for key, text, extra in [
        ("outage", "storing in Utrecht", {"channel": "x", "author": {"handle": "@utrecht"}}),
        ("billing", "mijn factuur is te hoog", {"channel": "facebook", "author": {"handle": "@fac", "name": "Fien"}}),
        ("general", "hoe laat open?", {"channel": "x", "author": {"handle": "@vraag"}}),
        ("influencer", "verbindingsproblemen!", {"channel": "instagram",
                                                 "author": {"handle": "@star", "followers": 20000}}),
    ]:
        refs[key] = post_mentions(client, signer, mention(text, **extra)).json()["cases"][0]
    return refs


def refs_of(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    return [item["ref"] for item in response.json()["items"]]


def test_filters_combine(client: TestClient, signer: Signer, api: ApiClient) -> None:
    refs = seed(client, signer)
    assert set(refs_of(api.get("/api/v1/cases", params={"department": "network"}))) == {refs["outage"],
                                                                                         refs["influencer"]}
    assert refs_of(api.get("/api/v1/cases", params={"department": "network", "channel": "x"})) == [refs["outage"]]
    assert set(refs_of(api.get("/api/v1/cases", params=[("status", "open"), ("status", "pending_department")]))) \
        == set(refs.values())
    assert refs_of(api.get("/api/v1/cases", params={"tag": "influencer"})) == [refs["influencer"]]
    assert refs_of(api.get("/api/v1/cases", params={"priority": "P3", "channel": "facebook"})) == [refs["billing"]]
    assert set(refs_of(api.get("/api/v1/cases", params={"assignee": "none"}))) == set(refs.values())
    assert refs_of(api.get("/api/v1/cases", params={"assignee": "me"})) == []


def test_search_finds_text_author_and_ref(client: TestClient, signer: Signer, api: ApiClient) -> None:
    refs = seed(client, signer)
    assert refs_of(api.get("/api/v1/cases", params={"q": "FACTUUR"})) == [refs["billing"]]
    assert refs_of(api.get("/api/v1/cases", params={"q": "fien"})) == [refs["billing"]]
    assert refs_of(api.get("/api/v1/cases", params={"q": "@star"})) == [refs["influencer"]]
    assert refs_of(api.get("/api/v1/cases", params={"q": refs["general"]})) == [refs["general"]]
    assert refs_of(api.get("/api/v1/cases", params={"q": "100%_"})) == []


def test_keyset_pagination_walks_every_case_once(client: TestClient, signer: Signer, api: ApiClient) -> None:
    payload = {"mentions": [mention(f"vraag {i}", author={"id": f"p{i}"}) for i in range(7)]}
    created = post_mentions(client, signer, payload).json()["cases"]
    for sort, expected in (("-created_at", list(reversed(created))), ("created_at", created)):
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            params = {"limit": 3, "sort": sort} | ({"cursor": cursor} if cursor else {})
            body = api.get("/api/v1/cases", params=params).json()
            seen += [item["ref"] for item in body["items"]]
            cursor = body["next_cursor"]
            pages += 1
            if cursor is None:
                break
        assert seen == expected
        assert pages == 3


def test_bad_query_parameters_are_422_problems(api: ApiClient) -> None:
    for params, field in (({"sort": "due_soon"}, "sort"), ({"limit": 500}, "limit"),
                          ({"cursor": "garbage"}, "cursor"), ({"status": "waiting"}, "status[0]")):
        response = api.get("/api/v1/cases", params=params)
        assert response.status_code == 422, params
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == field


def test_unknown_case_is_404(api: ApiClient) -> None:
    for ref in ("WC-999999", "nonsense", "WC-12"):
        response = api.get(f"/api/v1/cases/{ref}")
        assert response.status_code == 404
        assert response.json()["type"].endswith("/not-found")


def test_department_tokens_see_only_cases_their_department_owns(client: TestClient, signer: Signer,
                                                               sessions: sessionmaker[Session]) -> None:
    refs = seed(client, signer)
    billing = ApiClient(client, make_department_token(sessions, "billing"))
    assert refs_of(billing.get("/api/v1/cases")) == [refs["billing"]]
    assert billing.get(f"/api/v1/cases/{refs['billing']}").status_code == 200
    assert billing.get(f"/api/v1/cases/{refs['outage']}").status_code == 404
    assert refs_of(billing.get("/api/v1/cases", params={"q": "storing"})) == []


def test_assignee_me_needs_a_user(client: TestClient, sessions: sessionmaker[Session]) -> None:
    network = ApiClient(client, make_department_token(sessions, "network"))
    assert network.get("/api/v1/cases", params={"assignee": "me"}).status_code == 422
    lead = ApiClient(client, make_user_token(sessions, "lead-lou", "lead"))
    assert lead.get("/api/v1/cases", params={"assignee": "me"}).status_code == 200
