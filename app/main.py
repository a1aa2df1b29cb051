"""The application factory: wires settings, database, rule set, secrets and routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import Scope

import app.case_handlers  # noqa: F401  (registers what every case change does: timers, outbox, replies)
from app.audit.routes import router as audit_router
from app.cases.action_routes import router as case_actions_router
from app.cases.routes import router as cases_router
from app.db import checkpoint_sqlite, make_engine, make_sessionmaker
from app.delivery.feed import router as events_router
from app.delivery.routes import router as deliveries_router
from app.feedback.routes import router as feedback_router
from app.health.routes import router as health_router
from app.incidents.routes import router as incidents_router
from app.ingest.body import webhook_body_limit
from app.ingest.dead_letters import router as dead_letters_router
from app.ingest.routes import router as ingest_router
from app.kernel.clock import utc_now
from app.learning.department_model import ModelCache, department_suggester
from app.learning.routes import router as reports_router
from app.mentions.language import warm_up as warm_up_language_detection
from app.metrics.routes import Metrics, MetricsMiddleware
from app.metrics.routes import router as metrics_router
from app.observability import RequestIdMiddleware, protect_logs
from app.privacy.routes import router as privacy_router
from app.reports.routes import router as kpi_reports_router
from app.rules import RuleSet, RuleSetError
from app.rules.hits import HitCounter
from app.rules.holder import RuleSetHolder, holder_for
from app.rules.metrics import RulesCollector
from app.rules.routes import router as rules_router
from app.rules.runtime import RulesRuntime, new_process_id, runtime_from_settings
from app.secrets import InvalidSecret, SecretStore, secret_problem
from app.settings import Settings, get_settings
from app.ui.router import mount_ui
from app.web.body_limit import DEFAULT_MAX_BODY_BYTES, BodyLimitMiddleware
from app.web.hsts import HstsMiddleware
from app.web.input_guard import refuse_unstorable_input
from app.web.openapi_contract import finish_openapi
from app.web.problems import install_problem_handlers

API_DESCRIPTION = """Webcare Router turns social-media mentions into owned, timed cases.

Errors are RFC 9457 `application/problem+json`; the `type` slugs are listed in the README.
Authenticate with `Authorization: Bearer <token>` (`webcare tokens create`)."""


def required_secrets(ruleset: RuleSet) -> list[tuple[str, bool]]:
    """Every secret variable the rule set names, with whether it is a Standard Webhooks secret.
    Optional ones (a previous key during a rotation, platform access tokens) are left out."""
    names: list[tuple[str, bool]] = []
    for connector in ruleset.connectors.values():
        if connector.kind == "standard" and connector.secret_env:
            names.append((connector.secret_env, True))
        for env in (connector.app_secret_env, connector.verify_token_env, connector.consumer_secret_env,
                    connector.secret_token_env):
            if env:
                names.append((env, False))
    for department in ruleset.departments.values():
        if department.webhook is not None:
            names.append((department.webhook.secret_env, True))
    return names


def create_app(settings: Settings | None = None, *, engine: Engine | None = None,
               sessions: sessionmaker[Session] | None = None) -> FastAPI:
    """A ready application. Fails fast when the rule folder has errors or (in production) a secret
    is missing, naming what is wrong."""
    settings = settings or get_settings()
    protect_logs(*settings.secret_values)
    holder = holder_for(settings.rules_dir, now=utc_now())
    ruleset = holder.current
    secrets = SecretStore(production=settings.env == "production", var_dir=settings.var_dir)
    for name, webhook in required_secrets(ruleset):
        secrets.get(name, webhook=webhook)
    if settings.production and settings.metrics_token and (problem := secret_problem(settings.metrics_token,
                                                                                      webhook=False)):
        raise InvalidSecret("WEBCARE_METRICS_TOKEN", problem)
    engine = engine or make_engine(settings.effective_database_url)

    app = api_shell(docs=settings.serves_docs, hsts=settings.production)
    app.state.workers = None
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = sessions or make_sessionmaker(engine)
    app.state.rules = holder
    app.state.rule_hits = HitCounter()
    app.state.process_id = new_process_id()
    app.state.rules_runtime = None
    app.state.secrets = secrets
    app.state.metrics = Metrics(app.state.sessions)
    app.state.metrics.registry.register(RulesCollector(app.state.rules, app.state.sessions))
    # One parsed model per process, shared by the case JSON and the case page.
    app.state.suggest_department = department_suggester(ModelCache(), app.state.rules)
    return app


def rules_runtime(app: FastAPI, settings: Settings, *, kind: str) -> RulesRuntime:
    """The threads that keep `app`'s rules current (watcher, reloads from other processes and
    SIGHUP, heartbeat, hit counts); started and stopped with the app's lifespan."""
    runtime = runtime_from_settings(app.state.rules, app.state.rule_hits, app.state.sessions, settings, kind=kind,
                                    process_id=app.state.process_id)
    app.state.rules_runtime = runtime
    return runtime


def api_shell(*, docs: bool = True, hsts: bool = False) -> FastAPI:
    """The routes, error handlers and middleware without any state: what `webcare openapi` prints.
    `docs`: serve /docs, /redoc and /openapi.json; `hsts`: send Strict-Transport-Security on every
    response (production, which is always served over HTTPS)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings: Settings | None = getattr(app.state, "settings", None)
        runtime: RulesRuntime | None = getattr(app.state, "rules_runtime", None)
        if runtime is not None:
            runtime.start()
        workers = None
        if settings is not None:
            from app.server import call_first_on_shutdown_signal
            from app.ui.live import close_all_streams

            call_first_on_shutdown_signal(close_all_streams)

            warm_up_language_detection()
        if settings is not None and settings.workers_enabled:
            from app.workers import Workers

            workers = Workers(app.state.sessions, app.state.rules, app.state.secrets,
                              retention=settings.retention_policy,
                              incident_check_seconds=settings.incident_check_seconds)
            app.state.workers = workers
            await workers.start()
        try:
            yield
        finally:
            if workers is not None:
                await workers.stop()
            if runtime is not None:
                runtime.stop()  # before the checkpoint: it writes the last hit counts
            live = getattr(app.state, "live", None)
            if live is not None:
                live.stop()
            engine: Engine | None = getattr(app.state, "engine", None)
            if getattr(app.state, "checkpoint_on_shutdown", False) and engine is not None \
                    and engine.dialect.name == "sqlite":
                checkpoint_sqlite(engine)

    app = FastAPI(title="Webcare Router", version="0.1.0", description=API_DESCRIPTION, lifespan=lifespan,
                  dependencies=[Depends(refuse_unstorable_input)],
                  docs_url="/docs" if docs else None, redoc_url="/redoc" if docs else None,
                  openapi_url="/openapi.json" if docs else None)
    install_problem_handlers(app)
    for router in (ingest_router, cases_router, case_actions_router, events_router, deliveries_router, rules_router,
                   health_router, metrics_router, dead_letters_router, reports_router, privacy_router,
                   feedback_router, kpi_reports_router, audit_router, incidents_router):
        app.include_router(router)
    mount_ui(app)
    install_openapi_contract(app)
    # Outermost last: request ids and metrics see every answer, the 413s included; the body limit
    # comes before the UI session lookup, so an oversized body costs no database work.
    app.add_middleware(BodyLimitMiddleware, limit_for=request_body_limit)
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(RequestIdMiddleware)
    if hsts:
        app.add_middleware(HstsMiddleware)
    return app


def install_openapi_contract(app: FastAPI) -> None:
    """Serve the generated document made true by `finish_openapi` (computed once, like FastAPI's)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = finish_openapi(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def request_body_limit(scope: Scope) -> int:
    """The body limit of one request: the connector's for `/webhooks/{connector}`, else
    `WEBCARE_MAX_BODY_BYTES` (256 KiB unless set) for `/api/v1`, `/ui` and everything else."""
    state = scope["app"].state
    settings: Settings | None = getattr(state, "settings", None)
    default = settings.max_body_bytes if settings is not None else DEFAULT_MAX_BODY_BYTES
    path: str = scope.get("path", "")
    holder: RuleSetHolder | None = getattr(state, "rules", None)
    if path.startswith("/webhooks/") and holder is not None:
        return webhook_body_limit(holder.current.connectors.get(path.removeprefix("/webhooks/")), default)
    return default


__all__ = ["RuleSetError", "create_app"]
