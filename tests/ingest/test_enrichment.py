"""Instagram `mentions` arrive as ids only: the enrichment worker reads the text from the Graph API
after the commit (respx stands in for it) and routes the case again when nobody touched it yet."""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.ingest.enrichment import EnrichmentWorker, instagram_mention_content
from app.ingest.models import MentionEnrichment
from app.jobs.retry import RetrySchedule
from app.kernel.clock import utc_now
from app.mentions.stored import StoredMention
from app.rules.hits import HitCount, read_hits
from app.secrets import SecretStore
from tests.conftest import BASIC_RULES
from tests.ingest.platform_support import PlatformPoster, platform_rules, poster_for
from tests.support import ApiClient

GRAPH = "https://graph.test/v21.0"
ACCOUNT_URL = f"{GRAPH}/17841405726653026"
COMMENT = {"mentioned_comment": {"id": "17894227972186120", "text": "@telco Al 3 uur STORING bij jullie!!",
                                 "timestamp": "2026-03-02T09:15:00+0000", "username": "jan.jansen",
                                 "media": {"id": "17918195224117851", "permalink": "https://www.instagram.com/p/abc/"}},
           "id": "17841405726653026"}


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    return platform_rules(BASIC_RULES, tmp_path / "rules")


@pytest.fixture
def poster(client: TestClient, app) -> PlatformPoster:  # type: ignore[no-untyped-def]
    return poster_for(client, app)


@pytest.fixture
def worker(app, sessions, tmp_path: Path) -> EnrichmentWorker:  # type: ignore[no-untyped-def]
    secrets = SecretStore(production=False, var_dir=tmp_path / "w", environ={"TEST_META_PAGE_TOKEN": "page-token"})
    return EnrichmentWorker(sessions, app.state.rules, secrets, worker_id="e1", client=httpx.AsyncClient(),
                            graph_url=GRAPH, base_delay=30, max_attempts=3)


def run(worker: EnrichmentWorker, minutes: float = 0) -> int:
    return asyncio.run(worker.run_once(utc_now() + timedelta(minutes=minutes)))


def mention(session: Session) -> StoredMention:
    session.expire_all()
    [row] = session.scalars(select(StoredMention))
    return row


def job(session: Session) -> MentionEnrichment:
    session.expire_all()
    [row] = session.scalars(select(MentionEnrichment))
    return row


def test_the_text_is_read_and_the_untouched_case_is_routed_again(
        poster: PlatformPoster, worker: EnrichmentWorker, api: ApiClient, session: Session) -> None:
    ref = poster.sample("fb", "instagram_mention_comment.json").json()["cases"][0]
    before = api.get(f"/api/v1/cases/{ref}").json()
    assert (before["department"], before["mentions"][0]["text"]) == ("webcare", "")  # visible meanwhile
    with respx.mock() as mock:
        route = mock.get(ACCOUNT_URL).respond(200, json=COMMENT)
        assert run(worker) == 1
    query = parse_qs(urlparse(str(route.calls.last.request.url)).query)
    assert query["fields"][0].startswith("mentioned_comment.comment_id(17894227972186120){")
    assert route.calls.last.request.headers["authorization"] == "Bearer page-token"
    m = mention(session)
    assert (m.text, m.author_handle, m.url, m.language) == \
        ("@telco Al 3 uur STORING bij jullie!!", "@jan.jansen", "https://www.instagram.com/p/abc/", "nl")
    assert m.posted_at is not None and m.posted_at.isoformat() == "2026-03-02T09:15:00+00:00"
    assert m.extra is not None and m.extra["enrichment"]["state"] == "done"
    assert job(session).status == "done"
    case = api.get(f"/api/v1/cases/{ref}").json()
    assert (case["department"], case["status"], case["category"], case["priority"]) == \
        ("network", "pending_department", "outage", "P2")
    assert case["routing"]["deciding_rule"] == "outage"
    types = [e["type"] for e in case["timeline"]]
    assert types[:1] == ["created"] and {"mention_enriched", "reclassified", "handed_off"} <= set(types)
    # the timers followed the new routing: network's own acknowledgement clock, on the urgent policy
    assert case["sla"]["department_ack"]["department"] == "network"
    assert case["sla"]["department_ack"]["state"] == "running"
    created = datetime.fromisoformat(case["created_at"])
    assert datetime.fromisoformat(case["sla"]["first_response"]["due_at"]) - created <= timedelta(minutes=15)
    assert run(worker) == 0
    # The reclassification counts in the rule hits like any classification.
    session.expire_all()
    assert {rule: count for rule, (count, _) in read_hits(session).items()} == {"outage": HitCount(1, 1)}


def test_a_failed_read_is_retried_with_backoff_and_the_case_stays_visible(
        poster: PlatformPoster, worker: EnrichmentWorker, api: ApiClient, session: Session) -> None:
    ref = poster.sample("fb", "instagram_mention_media.json").json()["cases"][0]
    media = {"mentioned_media": {"id": "17918195224117851", "caption": "Nieuwe telefoon binnen! @telco",
                                 "media_type": "IMAGE", "media_url": "https://cdn.test/m.jpg",
                                 "permalink": "https://www.instagram.com/p/xyz/", "username": "petra"}}
    with respx.mock() as mock:
        route = mock.get(ACCOUNT_URL).mock(side_effect=[
            httpx.Response(500, json={"error": {"message": "An unexpected error has occurred.", "code": 2}}),
            httpx.ConnectError("refused"),
            httpx.Response(200, json=media)])
        run(worker)
        assert (job(session).status, job(session).attempts) == ("pending", 1)
        assert run(worker, minutes=0.25) == 0  # 30 s backoff not over yet
        run(worker, minutes=1)
        assert job(session).attempts == 2
        assert api.get(f"/api/v1/cases/{ref}").status_code == 200
        run(worker, minutes=3)
    assert route.call_count == 3
    m = mention(session)
    assert (m.text, m.author_handle, m.attachments) == ("Nieuwe telefoon binnen! @telco", "@petra",
                                                        [{"type": "image", "url": "https://cdn.test/m.jpg",
                                                          "id": "17918195224117851"}])
    assert job(session).status == "done"


def test_a_case_an_agent_already_touched_keeps_its_routing(
        poster: PlatformPoster, worker: EnrichmentWorker, api: ApiClient, session: Session) -> None:
    ref = poster.sample("fb", "instagram_mention_comment.json").json()["cases"][0]
    assert api.post(f"/api/v1/cases/{ref}/claim", json={}).status_code == 200
    with respx.mock() as mock:
        mock.get(ACCOUNT_URL).respond(200, json=COMMENT)
        run(worker)
    case = api.get(f"/api/v1/cases/{ref}").json()
    assert case["department"] == "webcare" and case["mentions"][0]["text"].endswith("STORING bij jullie!!")
    enriched = [e for e in case["timeline"] if e["type"] == "mention_enriched"]
    assert enriched[0]["data"]["reclassified"] is False
    assert "reclassified" not in [e["type"] for e in case["timeline"]]


def test_a_refusal_or_too_many_failures_is_shown_on_the_case(
        poster: PlatformPoster, worker: EnrichmentWorker, api: ApiClient, session: Session) -> None:
    ref = poster.sample("fb", "instagram_mention_comment.json").json()["cases"][0]
    with respx.mock() as mock:
        mock.get(ACCOUNT_URL).respond(400, json={"error": {"message": "(#10) Permission denied", "code": 10}})
        run(worker)
    assert job(session).status == "failed" and "Permission denied" in (job(session).last_error or "")
    case = api.get(f"/api/v1/cases/{ref}").json()
    assert [e["data"]["attempts"] for e in case["timeline"] if e["type"] == "enrichment_failed"] == [1]
    assert mention(session).extra["enrichment"]["state"] == "failed"  # type: ignore[index]


def test_gives_up_after_max_attempts(poster: PlatformPoster, worker: EnrichmentWorker, session: Session) -> None:
    poster.sample("fb", "instagram_mention_media.json")
    with respx.mock() as mock:
        mock.get(ACCOUNT_URL).respond(503)
        for minutes in (0, 10, 20, 30):
            run(worker, minutes=minutes)
    assert (job(session).status, job(session).attempts) == ("failed", 3)


def test_pure_parts() -> None:
    doubling = RetrySchedule.doubling(timedelta(seconds=30), cap=timedelta(hours=1), attempts=20, jitter=0)
    assert doubling.max_attempts == 20
    assert doubling.backoff(1, random.Random()) == timedelta(seconds=30)
    assert doubling.backoff(4, random.Random()) == timedelta(seconds=240)
    assert doubling.backoff(19, random.Random()) == timedelta(seconds=3600)
    with pytest.raises(ValueError):
        instagram_mention_content({"id": "1"})
