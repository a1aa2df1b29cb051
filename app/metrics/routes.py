"""`GET /metrics`: Prometheus metrics for operators.

The state of the work (cases per department, status and SLA state; deliveries waiting per
department and status, `webcare_deliveries_queued`; open incidents) is read from the database at
scrape time, so every replica reports the same figures and nothing is lost on a restart. Request
counts and latencies, and the counters of `app.metrics.counters` (mentions, classification time,
SLA firings, delivery attempts), are this process's own (Prometheus sums them over replicas).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.cases.models import Case
from app.delivery.models import Delivery
from app.incidents.models import Incident
from app.metrics.counters import ProcessCounters
from app.web.problems import Unauthorized

router = APIRouter(tags=["operations"])


class WorkCollector(Collector):
    """Gauges computed with a few GROUP BY queries per scrape."""

    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily]:
        cases = GaugeMetricFamily("webcare_cases", "Cases that are not closed, by owner, status and SLA state",
                                  labels=["department", "status", "sla_state"])
        deliveries = GaugeMetricFamily("webcare_deliveries_queued", "Webhook deliveries not yet delivered, by "
                                       "department and status", labels=["department", "status"])
        with self.sessions() as session:
            for department, status, sla_state, count in session.execute(
                    select(Case.department, Case.status, Case.sla_state, func.count())
                    .where(Case.status != "closed").group_by(Case.department, Case.status, Case.sla_state)):
                cases.add_metric([department, status, sla_state or "none"], count)
            for department, status, count in session.execute(
                    select(Delivery.department, Delivery.status, func.count())
                    .where(Delivery.status.in_(["pending", "delivering", "dead"]))
                    .group_by(Delivery.department, Delivery.status)):
                deliveries.add_metric([department, status], count)
        yield cases
        yield deliveries
        yield self._incidents()

    def _incidents(self) -> GaugeMetricFamily:
        """`webcare_incidents_open`: the incidents open now (at most one per watch of incidents.yaml)."""
        with self.sessions() as session:
            count = session.scalar(select(func.count()).select_from(Incident).where(Incident.status == "open")) or 0
        return GaugeMetricFamily("webcare_incidents_open", "Incidents (storms of matching mentions) open now",
                                 value=count)


class Metrics:
    """One registry per app: the database gauges and the HTTP request counters."""

    def __init__(self, sessions: sessionmaker[Session]):
        self.registry = CollectorRegistry()
        self.registry.register(WorkCollector(sessions))
        self.registry.register(ProcessCounters())
        self.requests = Counter("webcare_http_requests", "HTTP requests by route and status",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("webcare_http_request_seconds", "HTTP request time by route", ["method", "route"],
                                 registry=self.registry)


class MetricsMiddleware:
    """Counts requests by route template (never the raw path: refs would explode the labels)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = scope.get("app") if scope["type"] == "http" else None
        metrics: Metrics | None = getattr(getattr(app, "state", None), "metrics", None)
        if metrics is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            metrics.requests.labels(scope["method"], route, str(status)).inc()
            metrics.latency.labels(scope["method"], route).observe(time.perf_counter() - started)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def metrics(request: Request) -> Response:
    """The Prometheus text format. With `WEBCARE_METRICS_TOKEN` set, only for
    `Authorization: Bearer <that token>` (401 otherwise)."""
    expected = request.app.state.settings.metrics_token if hasattr(request.app.state, "settings") else None
    if expected:
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), expected.encode()):
            raise Unauthorized("send Authorization: Bearer <WEBCARE_METRICS_TOKEN>")
    registry: Any = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
