"""The rules' Prometheus metrics: how this process's last reload went, the version it runs, and
the rule hit counters (read from the database at scrape time: the same total in every replica)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker

from app.rules.hits import read_hits
from app.rules.holder import RuleSetHolder


class RulesCollector(Collector):
    """`webcare_rules_last_reload_successful`, `webcare_rules_last_reload_success_timestamp_seconds`,
    `webcare_rules_info{version}` (this process) and `webcare_rule_hits_total{rule,outcome}`."""

    def __init__(self, holder: RuleSetHolder, sessions: sessionmaker[Session]):
        self.holder = holder
        self.sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        status = self.holder.status
        yield GaugeMetricFamily("webcare_rules_last_reload_successful",
                                "1 when this process's last rules reload succeeded, 0 when it was refused",
                                value=1 if status.successful else 0)
        yield GaugeMetricFamily("webcare_rules_last_reload_success_timestamp_seconds",
                                "When this process last loaded its rules successfully (Unix time)",
                                value=status.last_success_at.timestamp() if status.last_success_at else 0)
        info = GaugeMetricFamily("webcare_rules_info", "The rule-set version this process runs", labels=["version"])
        info.add_metric([self.holder.current.version], 1)
        yield info
        hits = CounterMetricFamily("webcare_rule_hits", "Mentions each rule matched, and decided, over all processes",
                                   labels=["rule", "outcome"])
        with self.sessions() as session:
            totals = read_hits(session)
        for rule_id, (count, _) in sorted(totals.items()):
            hits.add_metric([rule_id, "matched"], count.matched)
            hits.add_metric([rule_id, "decided"], count.decided)
        yield hits
