"""Bulk work from the queue through HTTP: one action on many selected cases, each case on its own
(a case whose status forbids the action is reported, the others proceed), CSRF, invalid fields."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.ui.bulk import MAX_BULK, selected_refs
from tests.support import Signer, mention, post_mentions
from tests.ui.support import csrf_of, login, make_user


@pytest.fixture
def agent(client: TestClient, sessions: sessionmaker[Session]) -> TestClient:
    make_user(sessions, "ann")
    login(client, "ann")
    return client


def new_cases(client: TestClient, signer: Signer, n: int, text: str = "Storing in Delft") -> list[str]:
    return [post_mentions(client, signer, mention(text, author={"handle": f"@klant{i}"})).json()["cases"][0]
            for i in range(n)]


def bulk(client: TestClient, refs: list[str], action: str, **fields: str) -> tuple[int, str]:
    token = csrf_of(client.get("/ui/").text)
    answer = client.post("/ui/bulk", data={"csrf_token": token, "action": action, "ref": refs,
                                           "next": "/ui/?assignee=none", **fields})
    return answer.status_code, answer.text


def results(html: str) -> dict[str, str]:
    """ref -> done | refused, from the report page."""
    return {ref: result for result, ref in re.findall(r'<tr class="bulk-(done|refused)" data-ref="(WC-\d+)"', html)}


def case(client: TestClient, ref: str) -> str:
    return client.get(f"/ui/cases/{ref}").text


def test_selected_refs() -> None:
    assert selected_refs(["wc-000001", "WC-000001", "nonsense", "WC-000002 ", 7]) == ["WC-000001", "WC-000002"]
    with pytest.raises(ValueError, match="at most"):
        selected_refs([f"WC-{i:06d}" for i in range(1, MAX_BULK + 2)])


def test_bulk_claim_reports_the_case_whose_status_forbids_it(agent: TestClient, signer: Signer) -> None:
    refs = new_cases(agent, signer, 4)
    closed = refs[-1]
    token = csrf_of(case(agent, closed))
    agent.post(f"/ui/cases/{closed}/act/close", data={"csrf_token": token, "reason": "dubbel"})
    status, page = bulk(agent, refs, "claim")
    assert status == 200
    assert results(page) == {**{ref: "done" for ref in refs[:3]}, closed: "refused"}
    assert "claim is not allowed when the case is closed" in page
    assert "Claim: 3 of 4 cases done." in page
    assert 'href="/ui/?assignee=none"' in page  # back to the queue it came from
    for ref in refs[:3]:
        assert '<dd id="case-assignee">ann</dd>' in case(agent, ref)
    assert '<dd id="case-assignee">nobody</dd>' in case(agent, closed)


def test_bulk_tag_priority_handoff_resolve_close(agent: TestClient, signer: Signer) -> None:
    refs = new_cases(agent, signer, 3)
    assert bulk(agent, refs, "tag", tags="outage, vip")[0] == 200
    assert bulk(agent, refs, "priority", priority="P1")[0] == 200
    _, handed = bulk(agent, refs[:2], "handoff", department="billing", reason="storing rond facturen")
    assert results(handed) == {refs[0]: "done", refs[1]: "done"}
    for ref in refs:
        page = case(agent, ref)
        assert '<span class="tag">outage</span>' in page and '<span class="tag">vip</span>' in page
        assert '<span class="prio prio-P1">P1</span>' in page
    assert "Facturatie" in re.search(r'<dd id="case-department">[^<]*', case(agent, refs[0])).group(0)  # type: ignore[union-attr]
    assert results(bulk(agent, refs, "resolve", resolution="storing voorbij")[1]) == {r: "done" for r in refs}
    _, closed = bulk(agent, refs, "close", reason="opgelost")
    assert results(closed) == {r: "done" for r in refs}
    again = bulk(agent, refs, "resolve")[1]
    assert results(again) == {r: "refused" for r in refs}  # closed cases cannot be resolved


def test_bulk_refuses_invalid_fields_and_empty_selections(agent: TestClient, signer: Signer) -> None:
    refs = new_cases(agent, signer, 2)
    status, page = bulk(agent, refs, "close")  # a reason is required
    assert status == 422 and "reason" in page
    status, page = bulk(agent, [], "claim")
    assert status == 422 and "Select at least one case." in page
    status, page = bulk(agent, refs, "tag", tags="")
    assert status == 422 and "tags" in page
    status, _ = bulk(agent, refs, "merge", into="WC-000001")
    assert status == 422
    for ref in refs:
        assert '<dd id="case-assignee">nobody</dd>' in case(agent, ref)


def test_bulk_needs_the_csrf_token(agent: TestClient, signer: Signer) -> None:
    refs = new_cases(agent, signer, 1)
    forged = agent.post("/ui/bulk", data={"action": "claim", "ref": refs})
    assert forged.status_code == 403
    assert '<dd id="case-assignee">nobody</dd>' in case(agent, refs[0])


def test_queue_rows_offer_selection_and_claim(agent: TestClient, signer: Signer) -> None:
    [ref] = new_cases(agent, signer, 1)
    page = agent.get("/ui/?assignee=none").text
    row = re.search(rf'<tr class="qrow[^"]*" id="row-{ref}".*?</tr>', page, re.S).group(0)  # type: ignore[union-attr]
    assert f'name="ref" value="{ref}" form="bulk-form"' in row
    assert f'form="row-claim-form" formaction="/ui/cases/{ref}/act/claim"' in row
    claim_form = re.search(r'<form id="row-claim-form".*?</form>', page, re.S).group(0)  # type: ignore[union-attr]
    assert 'name="next" value="/ui/?assignee=none"' in claim_form and 'name="csrf_token"' in claim_form
    token = csrf_of(page)
    claimed = agent.post(f"/ui/cases/{ref}/act/claim", data={"csrf_token": token, "next": "/ui/?assignee=none"},
                         follow_redirects=False)
    assert claimed.headers["location"] == "/ui/?assignee=none"
    mine = agent.get("/ui/?assignee=me").text
    row = re.search(rf'<tr class="qrow[^"]*" id="row-{ref}".*?</tr>', mine, re.S).group(0)  # type: ignore[union-attr]
    assert "formaction" not in row  # already mine: no claim button
