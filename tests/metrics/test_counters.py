"""`/metrics` scraped and parsed with the Prometheus text parser: mentions by connector, channel and
outcome, classification time, SLA firings, delivery attempts and their time, open incidents,
beside the gauges read from the database."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import respx
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session, sessionmaker

from app.rules import load_ruleset
from app.rules.holder import RuleSetHolder
from app.sla.sweeper import sweep_due
from tests.delivery.support import add_events, dispatcher, rules_folder, secret_store, standard_hooks
from tests.delivery.test_dispatcher import once, run
from tests.support import Signer, mention, post_mentions

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: TestClient) -> tuple[Samples, dict[str, str]]:
    """Every sample, and every family's type, as the Prometheus parser reads them."""
    answer = client.get("/metrics")
    assert answer.status_code == 200
    families = list(text_string_to_metric_families(answer.text))
    names = [f.name for f in families]
    assert len(names) == len(set(names)), "a family name appears twice"
    return ({(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples},
            {f.name: f.type for f in families})


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_mentions_classification_and_sla_firings_are_counted(app, client: TestClient, signer: Signer,  # type: ignore[no-untyped-def]
                                                             sessions: sessionmaker[Session]) -> None:
    before, types = scrape(client)
    assert {types[n] for n in ("webcare_mentions", "webcare_sla_events", "webcare_deliveries",
                               "webcare_rule_hits")} == {"counter"}
    assert {types[n] for n in ("webcare_classify_seconds", "webcare_delivery_seconds")} == {"histogram"}
    assert (types["webcare_incidents_open"], types["webcare_deliveries_queued"]) == ("gauge", "gauge")
    first = mention("mijn factuur klopt niet", channel="facebook")
    post_mentions(client, signer, first)
    post_mentions(client, signer, first)  # the same mention again: a duplicate
    post_mentions(client, signer, mention("storing!", author={"id": str(uuid.uuid4())}))
    sweep_due(sessions, app.state.rules, now=datetime.now(UTC) + timedelta(minutes=50))  # 75% of 1h: warnings
    after, _ = scrape(client)
    connector = {"connector": "listening-tool"}
    assert delta(before, after, "webcare_mentions_total", **connector, channel="facebook", outcome="accepted") == 1
    assert delta(before, after, "webcare_mentions_total", **connector, channel="facebook", outcome="duplicate") == 1
    assert delta(before, after, "webcare_mentions_total", **connector, channel="x", outcome="accepted") == 1
    assert delta(before, after, "webcare_classify_seconds_count") == 2  # a duplicate is not classified
    assert delta(before, after, "webcare_classify_seconds_sum") > 0
    # both cases' first_response (1h on the standard policy, triage) warned at 75%
    assert delta(before, after, "webcare_sla_events_total", timer="first_response", department="webcare",
                 kind="warning") == 2
    assert after[("webcare_incidents_open", ())] == 0


def test_delivery_attempts_are_counted_by_outcome_with_their_time(client: TestClient, sessions: sessionmaker[Session],
                                                                  tmp_path: Path) -> None:
    folder = rules_folder(tmp_path / "rules", standard_hooks("https://hooks.test"))
    holder = RuleSetHolder(folder, load_ruleset(folder))
    add_events(sessions, holder.current, department="billing", cases=2, per_case=1)
    before, _ = scrape(client)
    with respx.mock(assert_all_called=False) as mock:
        mock.post("https://hooks.test/billing").mock(side_effect=[
            respx.MockResponse(200), respx.MockResponse(503, text=json.dumps({"busy": True}))])
        run(once(dispatcher(sessions, holder, secret_store(tmp_path)), datetime.now(UTC)))
    after, _ = scrape(client)
    assert delta(before, after, "webcare_deliveries_total", department="billing", outcome="delivered") == 1
    assert delta(before, after, "webcare_deliveries_total", department="billing", outcome="retry") == 1
    assert delta(before, after, "webcare_delivery_seconds_count", department="billing") == 2
