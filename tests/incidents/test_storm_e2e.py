"""Storm -> incident through a running `webcare serve` (real HTTP, workers included, its own
database: PostgreSQL when the suite runs on it, else SQLite), with a real department receiver.

History is written to the database before the service starts (a week of outage background, and a
busy billing hour a week ago); then 300 outage posts arrive over HTTP. The incident check (every
second here) opens an incident within 2 minutes of the crossing, it groups exactly the storm's
cases, one reply answers them all, the network department receives opened/updated/closed, and it
closes itself after the calm. A billing burst below the factor opens nothing; ten agents closing
the next storm's incident at once close it once.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.db import make_engine, make_sessionmaker, transaction
from app.delivery.signing import sign_payload
from app.ingest.service import ingest_mentions
from app.ingest.standard import ParsedItem
from app.mentions.model import Author, Mention
from app.migrate import upgrade_to_head
from app.rules import load_ruleset
from app.rules.watching import watch_matches
from tests.conftest import EXAMPLE_RULES
from tests.dbutil import scratch_database_url
from tests.test_department_link_e2e import Receiver
from tests.test_service_e2e import run, start_service
from tests.ui.browser import CHROMIUM, CHROMIUM_ARGS, assert_accessible

pytestmark = pytest.mark.slow
NETWORK_SECRET = "whsec_" + base64.b64encode(b"network-e2e-secret-32-bytes-lng").decode()
INCIDENTS_YAML = """\
incidents:
  - {id: outage, title: Storing, lists: [outage_all], window: 20s, factor: 4, min_count: 20, calm: 20s}
  - {id: billing, title: Facturen, lists: [billing_all], window: 60s, factor: 20, min_count: 20, calm: 5s}
"""
PASSWORD = "correct horse battery"
STORM_TEXT = "Storing! Geen internet in heel Utrecht"
BILLING_TEXT = "Mijn factuur is veel te hoog deze maand"
OTHER_TEXT = "Hoe verhuis ik mijn abonnement?"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """The network (and billing) department's system: verifies every delivery and records it."""
    with Receiver(NETWORK_SECRET) as receiver:
        yield receiver


def incident_events(receiver: Receiver) -> list[dict[str, Any]]:
    """The incident events received, each as its incident plus `type`."""
    return [{"type": r["type"], **r["data"]["incident"]} for r in receiver.received
            if r["type"].startswith("incident.")]


@pytest.fixture
def rules(tmp_path: Path, receiver: Receiver) -> Path:
    folder = tmp_path / "routing_rules"
    shutil.copytree(EXAMPLE_RULES, folder)
    (folder / "incidents.yaml").write_text(INCIDENTS_YAML)
    (folder / "tests" / "incidents.yaml").unlink()  # the example's series tests are for the example's watch
    departments = folder / "departments.yaml"
    text = departments.read_text()
    for port in (8801, 8802):  # network and billing: both to the receiver
        text = text.replace(f"http://127.0.0.1:{port}/hooks/webcare", f"http://127.0.0.1:{receiver.port}/hooks/webcare")
    departments.write_text(text)
    return folder


def types_of(receiver: Receiver, incident_id: int) -> list[str]:
    """The types of one incident's events, in the order received."""
    return [e["type"] for e in incident_events(receiver) if e["id"] == incident_id]


def check_queue_in_browser(base: str, incident_id: int) -> None:
    """The queue in Chromium shows one banner and one grouped row for the open incident, both pages
    pass the accessibility checks, and the banner's link leads to the incident's page."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-GB")
            page.goto(f"{base}/ui/login")
            page.get_by_label("Username").fill("ann")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(f"{base}/ui/")
            assert page.locator(".incident-banner").count() == 1
            assert page.locator(".incident-banner h2").inner_text().endswith("Incident: Storing")
            assert page.locator(f"#incident-row-{incident_id}").is_visible()
            assert_accessible(page)
            page.get_by_role("link", name="See the cases of Storing and answer them all").click()
            page.wait_for_url(f"{base}/ui/incidents/{incident_id}")
            assert page.get_by_role("button", name=re.compile(r"Answer all \d+ cases")).is_visible()
            assert_accessible(page)
        finally:
            browser.close()


def seed_history(database_url: str, rules: Path, now: datetime) -> None:
    """A week of outage background (one an hour) and, around this hour a week ago, 60 billing
    mentions an hour: one a minute usually, so more than 20 x 1 are needed in the billing window."""
    ruleset = load_ruleset(rules)
    engine = make_engine(database_url)
    upgrade_to_head(engine)
    sessions = make_sessionmaker(engine)
    batches: list[tuple[datetime, list[str]]] = []
    start = now - timedelta(weeks=1)
    batches += [(start + timedelta(hours=h), [STORM_TEXT.replace("Utrecht", "Zwolle"), OTHER_TEXT])
                for h in range(7 * 24)]
    hour = start.replace(minute=0, second=0, microsecond=0)
    batches += [(hour + timedelta(minutes=5 * k), [BILLING_TEXT] * 5) for k in range(-12, 24)]
    try:
        for n, (at, texts) in enumerate(batches):
            # One conversation, so the history makes one case (whose SLA timers the service's
            # sweeper would otherwise work through by the hundred at start).
            items = [ParsedItem(Mention(external_id=f"h{n}-{k}", channel="x", text=text, conversation_id="history",
                                        author=Author(handle="@history")), {}) for k, text in enumerate(texts)]
            with transaction(sessions) as session:
                ingest_mentions(session, ruleset=ruleset, connector="listening-tool", items=items, received_at=at)
    finally:
        engine.dispose()


def post_mentions(env: dict[str, Any], texts: list[str]) -> list[str]:
    """One signed batch to the listening tool; the refs of the cases, in order."""
    body = json.dumps({"mentions": [{"id": f"m-{uuid.uuid4().hex}", "channel": "x", "text": text,
                                     "author": {"handle": f"@{uuid.uuid4().hex[:10]}"}} for text in texts]}).encode()
    headers = {**sign_payload([env["secret"]], f"msg_{uuid.uuid4().hex}", int(time.time()), body),
               "content-type": "application/json"}
    answer = httpx.post(f"{env['base']}/webhooks/listening-tool", content=body, headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    refs: list[str] = answer.json()["cases"]
    return refs


def wait_for(condition: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
    return found


def test_a_storm_through_the_running_service(tmp_path: Path, rules: Path, receiver: Receiver) -> None:
    ruleset = load_ruleset(rules)
    outage, billing = ruleset.incidents
    assert watch_matches(ruleset, outage, STORM_TEXT, None) and not watch_matches(ruleset, billing, STORM_TEXT, None)
    assert watch_matches(ruleset, billing, BILLING_TEXT, None) and not watch_matches(ruleset, outage, BILLING_TEXT,
                                                                                      None)
    assert not any(watch_matches(ruleset, w, OTHER_TEXT, None) for w in ruleset.incidents)
    with scratch_database_url(tmp_path) as url:
        seed_history(url, rules, datetime.now(UTC))
        extra = {"WEBCARE_INCIDENT_CHECK_SECONDS": "1", "NETWORK_WEBHOOK_SECRET": NETWORK_SECRET,
                 "BILLING_WEBHOOK_SECRET": NETWORK_SECRET}
        with start_service(tmp_path, rules, extra, url) as env:
            assert run(env, "users", "add", "ann", "--role", "agent", "--password", PASSWORD).returncode == 0
            token = run(env, "tokens", "create", "--user", "ann").stdout.strip()
            env = {**env, "secret": (Path(env["WEBCARE_VAR_DIR"]) / "secrets" / "LISTENING_WEBHOOK_SECRET")
                   .read_text().strip()}
            api = httpx.Client(base_url=env["base"], headers={"authorization": f"Bearer {token}"}, timeout=60)

            def incidents(status: str | None = None) -> list[dict[str, Any]]:
                items: list[dict[str, Any]] = api.get("/api/v1/incidents", params={"status": status} if status
                                                      else {}).json()["items"]
                return items

            # A billing burst of 20 in a minute: min_count is met, the factor is not (20 x 1 + 1 needed).
            post_mentions(env, [BILLING_TEXT] * 20)
            time.sleep(3)  # three checks
            assert incidents() == []

            # The storm: 300 outage posts in 30 batches, with some other posts between them.
            storm_refs: list[str] = []
            crossing: datetime | None = None
            others: list[str] = []
            for batch in range(30):
                storm_refs += post_mentions(env, [STORM_TEXT] * 10)
                if crossing is None and len(storm_refs) >= 20:
                    crossing = datetime.now(UTC)  # the 20th post is in: the window has crossed
                if batch % 10 == 0:
                    others += post_mentions(env, [OTHER_TEXT])
            assert crossing is not None and len(set(storm_refs)) == 300
            [opened] = wait_for(lambda: incidents("open"))
            assert opened["watch"] == "outage" and opened["needed"] == 20
            assert datetime.fromisoformat(opened["opened_at"]) <= crossing + timedelta(minutes=2)

            # every storm case joins (the check after the last batch), nothing else
            detail = wait_for(lambda: (d := api.get(f"/api/v1/incidents/{opened['id']}").json())["case_count"] == 300
                              and d)
            assert {c["ref"] for c in detail["cases"]} == set(storm_refs)
            assert not {c["ref"] for c in detail["cases"]} & set(others)

            # one reply answers every case, each recording its own response
            answer = api.post(f"/api/v1/incidents/{opened['id']}/respond",
                              json={"text": "We weten van de storing en werken eraan.", "send": True})
            assert answer.status_code == 200, answer.text
            assert Counter(r["outcome"] for r in answer.json()["responses"]) == {"responded": 300}
            # the listening tool cannot post replies: each is recorded as sent elsewhere, and says why
            assert {r["delivery"] for r in answer.json()["responses"]} == {"recorded"}
            case = api.get(f"/api/v1/cases/{storm_refs[150]}").json()
            assert [e["data"]["text"] for e in case["timeline"] if e["type"] == "responded"] == [
                "We weten van de storing en werken eraan."]

            # calm: 20 s window + 20 s calm after the storm, it closes itself
            [closed] = wait_for(lambda: incidents("closed"), timeout=90)
            assert closed["id"] == opened["id"] and closed["closed_by"] == "calm"

            wait_for(lambda: types_of(receiver, opened["id"])[-1:] == ["incident.closed"])
            types = types_of(receiver, opened["id"])
            assert types[0] == "incident.opened" and types[-1] == "incident.closed"
            assert set(types[1:-1]) <= {"incident.updated"} and receiver.rejected == 0
            assert not any(e["watch"] == "billing" for e in incident_events(receiver))

            # the next storm opens a new incident; ten agents closing it at once close it once
            for _ in range(3):
                post_mentions(env, [STORM_TEXT] * 10)
            second = wait_for(lambda: [i for i in incidents("open") if i["id"] != opened["id"]])[0]
            # keep this storm going while the browser looks (a slow machine must not let it calm down)
            stop_feeding = threading.Event()

            def feed() -> None:
                while not stop_feeding.wait(3):
                    post_mentions(env, [STORM_TEXT] * 5)

            feeder = threading.Thread(target=feed)
            feeder.start()
            try:
                check_queue_in_browser(env["base"], second["id"])
            finally:
                stop_feeding.set()
                feeder.join()
            # it stays open for the window and the calm after the last post: time enough for the closes
            barrier = threading.Barrier(10)

            def close() -> int:
                with httpx.Client(base_url=env["base"], headers={"authorization": f"Bearer {token}"},
                                  timeout=60) as client:
                    client.get("/healthz")
                    barrier.wait()
                    return client.post(f"/api/v1/incidents/{second['id']}/close", json={}).status_code

            with ThreadPoolExecutor(10) as pool:
                statuses = Counter(pool.map(lambda _: close(), range(10)))
            assert statuses == {200: 1, 409: 9}
            wait_for(lambda: types_of(receiver, second["id"])[-1:] == ["incident.closed"])
            time.sleep(2)  # later checks must not close it again or send more
            assert types_of(receiver, second["id"]).count("incident.closed") == 1
