"""What this process has done, as Prometheus counters and histograms: mentions received, rule
classification time, SLA firings, webhook deliveries. Counted where the work happens, after its
transaction committed (a delivery: when its HTTP call ended), and exposed by this process's
`/metrics`: Prometheus sums them over the replicas. (`webcare worker` processes serve no HTTP;
run the workers inside `webcare serve` to have their deliveries and SLA firings scraped.)"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)

MENTIONS = Counter("webcare_mentions", "Mentions received, by connector, channel and outcome (accepted: stored; "
                   "duplicate, updated (an edit or removal), ignored, dead_lettered)",
                   ["connector", "channel", "outcome"], registry=REGISTRY)
CLASSIFY_SECONDS = Histogram("webcare_classify_seconds", "Time the rules took to classify one mention",
                             buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
                             registry=REGISTRY)
SLA_EVENTS = Counter("webcare_sla_events", "SLA thresholds fired, by timer kind, the timer's department and "
                     "kind (warning, breach, escalation)", ["timer", "department", "kind"], registry=REGISTRY)
DELIVERIES = Counter("webcare_deliveries", "Webhook delivery attempts, by department and outcome (delivered, retry, "
                     "dead)", ["department", "outcome"], registry=REGISTRY)
DELIVERY_SECONDS = Histogram("webcare_delivery_seconds", "Time one webhook delivery attempt took, by department",
                             ["department"], buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0), registry=REGISTRY)


def count_mentions(connector: str, outcomes: Iterable[tuple[str, str]]) -> None:
    """Count (channel, outcome) pairs of one committed delivery of `connector`."""
    for channel, outcome in outcomes:
        MENTIONS.labels(connector, channel, outcome).inc()


def count_sla_events(firings: Iterable[tuple[str, str, str]]) -> None:
    """Count committed (timer kind, department, warning|breach|escalation) firings."""
    for timer, department, kind in firings:
        SLA_EVENTS.labels(timer, department, kind).inc()


def count_delivery(department: str, status: str, seconds: float | None) -> None:
    """One attempt that ended with the delivery's next `status` (pending counts as `retry`)."""
    DELIVERIES.labels(department, "retry" if status == "pending" else status).inc()
    if seconds is not None:
        DELIVERY_SECONDS.labels(department).observe(seconds)


class ProcessCounters(Collector):
    """Exposes `REGISTRY` through an app's own registry."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
