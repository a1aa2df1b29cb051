"""The queue and the case page through HTTP: filters, counts, search, highlights, action forms, admin."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.support import Signer, mention, post_mentions
from tests.ui.support import csrf_of, login, make_user


@pytest.fixture
def agent(client: TestClient, sessions: sessionmaker[Session]) -> TestClient:
    make_user(sessions, "ann")
    login(client, "ann")
    return client


def new_case(client: TestClient, signer: Signer, text: str, **fields: object) -> str:
    answer = post_mentions(client, signer, mention(text, **fields))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["cases"][0])


def refs(html: str) -> list[str]:
    return re.findall(r'<tr class="qrow[^"]*" id="row-(WC-\d+)"', html)


def act(client: TestClient, ref: str, action: str, **fields: str) -> object:
    token = csrf_of(client.get(f"/ui/cases/{ref}").text)
    return client.post(f"/ui/cases/{ref}/act/{action}", data={"csrf_token": token, **fields})


def test_queue_shows_and_filters_by_account(agent: TestClient, signer: Signer) -> None:
    brand = new_case(agent, signer, "hallo", account="brand-nl")
    jobs = new_case(agent, signer, "vacature?", account="jobs-nl")
    plain = new_case(agent, signer, "hoi")
    page = agent.get("/ui/")
    # connectors.yaml names brand-nl; jobs-nl is shown by its id
    assert '<option value="brand-nl"  data-count="account.brand-nl" data-label="Telco NL">Telco NL (1)' in page.text
    assert 'data-label="jobs-nl">jobs-nl (1)' in page.text
    assert '<span class="account muted">Telco NL</span>' in page.text
    assert refs(agent.get("/ui/?account=brand-nl").text) == [brand]
    assert refs(agent.get("/ui/?account=jobs-nl&account=brand-nl").text) == [brand, jobs]
    assert set(refs(page.text)) == {brand, jobs, plain}
    assert 'id="case-account">Telco NL <span class="muted">(brand-nl)</span>' in agent.get(f"/ui/cases/{brand}").text


def test_queue_filters_counts_and_search(agent: TestClient, signer: Signer) -> None:
    general = new_case(agent, signer, "Waar vind ik de handleiding?", author={"handle": "@piet"})
    billing = new_case(agent, signer, "Mijn factuur klopt niet", author={"handle": "@jan"})
    outage = new_case(agent, signer, "Storing in Utrecht, geen internet", channel="facebook")
    page = agent.get("/ui/")
    # most urgent first: the outage is P2, the others P3 in the order they came
    assert refs(page.text) == [outage, general, billing]
    assert 'data-count="active">3<' in page.text
    assert page.text.count('class="countdown" data-due="') == 3  # every row ticks towards its SLA deadline
    assert refs(agent.get("/ui/?department=billing").text) == [billing]
    assert refs(agent.get("/ui/?channel=facebook").text) == [outage]
    assert refs(agent.get("/ui/?priority=P2").text) == [outage]
    assert refs(agent.get("/ui/?status=pending_department").text) == [outage, billing]
    assert refs(agent.get("/ui/?assignee=none").text) == [outage, general, billing]
    assert refs(agent.get("/ui/?q=handleiding").text) == [general]
    assert refs(agent.get("/ui/?q=%40jan").text) == [billing]
    assert refs(agent.get(f"/ui/?q={billing}").text) == [billing]
    assert refs(agent.get("/ui/?department=nonsense&priority=P9").text) == [outage, general, billing]
    filtered = agent.get("/ui/?department=billing&q=factuur")
    assert 'value="factuur"' in filtered.text and '<option value="billing" selected' in filtered.text
    act(agent, general, "claim")
    mine = agent.get("/ui/?assignee=me")
    assert refs(mine.text) == [general]
    assert 'data-count="assignee.me">1<' in mine.text and 'data-count="assignee.none">2<' in mine.text
    act(agent, general, "close", reason="beantwoord")
    assert general not in refs(agent.get("/ui/").text)
    assert refs(agent.get("/ui/?q=handleiding").text) == [general]  # search covers closed cases
    assert refs(agent.get("/ui/?status=closed").text) == [general]


def test_case_page_shows_thread_highlights_routing_and_author(agent: TestClient, signer: Signer) -> None:
    earlier = new_case(agent, signer, "Mijn factuur klopt niet", author={"handle": "@jan"})
    act(agent, earlier, "close", reason="beantwoord")
    text = "Al 3 uur STORING 🙈 bij jullie, geen internet!"
    ref = new_case(agent, signer, text, author={"handle": "@jan", "followers": 12000},
                   url="https://x.example/jan/status/1", attachments=[{"type": "image", "url": "javascript:alert(1)"}])
    assert ref != earlier
    page = agent.get(f"/ui/cases/{ref}").text
    assert '<mark title="outage">STORING</mark>' in page  # code-point offsets, after an emoji too
    assert '<mark title="outage">geen internet</mark>' in page
    assert "influencer" in page and "rs-" in page
    assert 'href="https://x.example/jan/status/1"' in page
    assert "javascript:" not in page  # payload URLs never become script links
    assert "12\u202f000" in page
    assert f'href="/ui/cases/{earlier}"' in page  # the same author's other case on x


def test_actions_through_the_forms(agent: TestClient, signer: Signer, sessions: sessionmaker[Session]) -> None:
    ref = new_case(agent, signer, "Waar vind ik de handleiding van mijn modem?")
    claimed = act(agent, ref, "claim")
    assert claimed.status_code == 200 and "You have claimed this case" in claimed.text  # type: ignore[attr-defined]
    act(agent, ref, "respond", text="Kijk op telco.nl/modem", send="1")
    handed = act(agent, ref, "handoff", department="billing", reason="klant vraagt om creditnota")
    assert "With department" in handed.text  # type: ignore[attr-defined]
    again = act(agent, ref, "handoff", department="billing")
    assert again.status_code == 409  # type: ignore[attr-defined]
    invalid = act(agent, ref, "merge", into="nonsense")
    assert invalid.status_code == 422  # type: ignore[attr-defined]
    page = act(agent, ref, "resolve", resolution="opgelost")
    assert "Resolved" in page.text  # type: ignore[attr-defined]
    timeline = agent.get(f"/ui/cases/{ref}").text
    for entry in ("Claimed", "Replied", "Kijk op telco.nl/modem", "klant vraagt om creditnota", "Handed off"):
        assert entry in timeline
    assert "case.handed_off" in timeline  # the outbox delivery to billing, with its status


def test_queue_claim_from_the_keyboard_returns_to_the_queue(agent: TestClient, signer: Signer) -> None:
    ref = new_case(agent, signer, "Waar vind ik de handleiding?")
    token = csrf_of(agent.get("/ui/").text)
    answer = agent.post(f"/ui/cases/{ref}/act/claim", data={"csrf_token": token, "next": "/ui/?assignee=none"},
                        follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/?assignee=none"
    assert refs(agent.get("/ui/?assignee=me").text) == [ref]


def test_dutch_per_user(client: TestClient, sessions: sessionmaker[Session], signer: Signer) -> None:
    make_user(sessions, "piet", language="nl")
    login(client, "piet")
    ref = new_case(client, signer, "Mijn factuur klopt niet")
    page = client.get("/ui/").text
    assert 'lang="nl"' in page and "Wachtrij" in page and "Bij afdeling" in page
    assert "Gesprek" in client.get(f"/ui/cases/{ref}").text


def test_ops_manage_users_and_tokens(client: TestClient, sessions: sessionmaker[Session]) -> None:
    from tests.support import make_department_token

    make_user(sessions, "olga", "ops")
    make_user(sessions, "ann")
    make_department_token(sessions, "billing")
    login(client, "olga")
    users = client.get("/ui/admin/users")
    token = csrf_of(users.text)
    added = client.post("/ui/admin/users", data={"username": "bob", "role": "lead", "language": "nl",
                                                 "csrf_token": token})
    one_time = re.search(r'<code id="one-time-password">([^<]+)</code>', added.text)
    assert one_time, added.text
    assert "Must change password" in added.text
    reset = client.post("/ui/admin/users/ann/reset", data={"csrf_token": token})
    assert "One-time password for ann" in reset.text
    gone = client.post("/ui/admin/users/ann/deactivate", data={"csrf_token": token})
    assert "ann is deactivated" in gone.text
    assert client.post("/ui/admin/users/olga/deactivate", data={"csrf_token": token}).text.count("cannot deactivate")
    tokens = client.get("/ui/admin/tokens")
    token_id = re.search(r'action="/ui/admin/tokens/(\d+)/revoke"', tokens.text)
    assert token_id and "department billing" in tokens.text
    revoked = client.post(f"/ui/admin/tokens/{token_id.group(1)}/revoke", data={"csrf_token": token})
    assert "Token revoked" in revoked.text
    # the new user logs in with the one-time password and must change it
    client.cookies.clear()
    assert "Kies eerst een eigen wachtwoord" in login(client, "bob", one_time.group(1))


def test_agents_may_not_manage_users(agent: TestClient) -> None:
    assert agent.get("/ui/admin/users").status_code == 403
    assert agent.get("/ui/admin/tokens").status_code == 403


def test_unknown_case_is_a_404_page(agent: TestClient) -> None:
    page = agent.get("/ui/cases/WC-424242")
    assert page.status_code == 404 and "There is no case WC-424242" in page.text
