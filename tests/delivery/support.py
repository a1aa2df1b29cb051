"""What the delivery tests share: rule folders whose webhooks point where a test wants, secrets,
cases and events written through the real outbox, and a dispatcher wired to them."""

from __future__ import annotations

import base64
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.cases.models import Case
from app.delivery.dispatcher import Dispatcher
from app.delivery.models import Delivery, DeliveryAttempt, DepartmentEvent
from app.delivery.outbox import emit
from app.rules import RuleSet, load_ruleset
from app.rules.holder import RuleSetHolder
from app.secrets import SecretStore

BASE_RULES = Path(__file__).parent / "fixtures" / "routing_delivery"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def make_secret(seed: int) -> str:
    return "whsec_" + base64.b64encode(bytes([seed]) * 32).decode()


SECRETS = {
    "TEST_DELIVERY_BILLING_SECRET": make_secret(1),
    "TEST_DELIVERY_BILLING_SECRET_OLD": make_secret(2),
    "TEST_DELIVERY_NETWORK_SECRET": make_secret(3),
    "TEST_LISTENING_SECRET": make_secret(4),
}


@dataclass(frozen=True)
class Hook:
    url: str
    secret_env: str
    previous_secret_env: str | None = None
    events: tuple[str, ...] | None = None


def rules_folder(directory: Path, hooks: Mapping[str, Hook | None]) -> Path:
    """A copy of the delivery fixture folder where `hooks` sets each named department's webhook
    (None: no webhook). Departments not named keep no webhook."""
    shutil.rmtree(directory, ignore_errors=True)
    shutil.copytree(BASE_RULES, directory)
    departments: list[dict[str, Any]] = [{"id": "webcare", "name": "Webcare", "calendar": "always"}]
    for name in ("billing", "network", "claims"):
        entry: dict[str, Any] = {"id": name, "name": name.title(), "calendar": "always"}
        hook = hooks.get(name)
        if hook is not None:
            webhook: dict[str, Any] = {"url": hook.url, "secret_env": hook.secret_env}
            if hook.previous_secret_env:
                webhook["previous_secret_env"] = hook.previous_secret_env
            if hook.events is not None:
                webhook["events"] = list(hook.events)
            entry["webhook"] = webhook
        departments.append(entry)
    document = {"defaults": {"department": "webcare", "category": "general", "priority": "P3",
                             "sla_policy": "standard"}, "departments": departments}
    (directory / "departments.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return directory


def standard_hooks(base_url: str) -> dict[str, Hook | None]:
    return {"billing": Hook(f"{base_url}/billing", "TEST_DELIVERY_BILLING_SECRET"),
            "network": Hook(f"{base_url}/network", "TEST_DELIVERY_NETWORK_SECRET")}


def secret_store(tmp_path: Path, environ: Mapping[str, str] | None = None) -> SecretStore:
    """Production mode: a secret the test did not set is an error, never generated."""
    return SecretStore(production=True, var_dir=tmp_path / "var", environ=dict(SECRETS if environ is None else environ))


def add_case(session: Session, *, department: str, now: datetime = NOW) -> Case:
    case = Case(status="pending_department", department=department, category="general", priority="P3",
                sla_policy="standard", channel="x", connector="listening-tool", author={"handle": "@jan"},
                routing={"ruleset_version": "rs-test", "rule_ids": [], "deciding_rule": None, "spans": []},
                ruleset_version="rs-test", created_at=now, updated_at=now, last_mention_at=now)
    session.add(case)
    session.flush()
    return case


def add_events(sessions: sessionmaker[Session], ruleset: RuleSet, *, department: str, cases: int,
               per_case: int, now: datetime = NOW, type: str = "case.updated") -> list[list[int]]:
    """`cases` new cases owned by `department`, each with `per_case` events emitted through the
    outbox, interleaved across cases; returns the event ids per case in emission order."""
    with sessions() as session, session.begin():
        rows = [add_case(session, department=department, now=now) for _ in range(cases)]
        ids: list[list[int]] = [[] for _ in rows]
        for _ in range(per_case):
            for index, case in enumerate(rows):
                events = emit(session, case, type=type, now=now, ruleset=ruleset)
                session.flush()
                ids[index] += [e.id for e in events if e.department == department]
    return ids


def dispatcher(sessions: sessionmaker[Session], rules: RuleSetHolder | Path, secrets: SecretStore,
               **options: Any) -> Dispatcher:
    holder = rules if isinstance(rules, RuleSetHolder) else RuleSetHolder(rules, load_ruleset(rules))
    options.setdefault("worker_id", "test-worker")
    options.setdefault("timeout", 2.0)
    options.setdefault("lease_seconds", 30.0)
    return Dispatcher(sessions, holder, secrets, **options)


def deliveries(session: Session) -> list[Delivery]:
    session.expire_all()
    return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def delivery_of(session: Session, event_id: int) -> Delivery:
    session.expire_all()
    row = session.scalar(select(Delivery).where(Delivery.event_id == event_id))
    assert row is not None
    return row


def attempts_of(session: Session, delivery_id: int) -> list[DeliveryAttempt]:
    return list(session.scalars(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery_id)
                                .order_by(DeliveryAttempt.id)))


def event_ids(session: Session, department: str) -> list[int]:
    return list(session.scalars(select(DepartmentEvent.id).where(DepartmentEvent.department == department)
                                .order_by(DepartmentEvent.id)))
