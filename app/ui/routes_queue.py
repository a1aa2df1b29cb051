"""The queue page and its live event stream."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.service import Principal
from app.cases.models import Case
from app.incidents.queries import open_incidents
from app.kernel.clock import utc_now
from app.kernel.refs import format_ref
from app.kernel.vocabulary import PRIORITIES, STATUSES
from app.mentions.model import CHANNELS
from app.rules import RuleSet
from app.ui.bulk import BULK_ACTIONS
from app.ui.casepage import accounts_of, assignable_users, departments_of
from app.ui.deps import UiUser, in_transaction, session_alive
from app.ui.i18n import Translator, translator
from app.ui.live import broadcaster_for
from app.ui.queue import QUEUE_LIMIT, QueueCounts, QueueFilter, changed_cases, queue_cases, queue_conditions
from app.ui.queue_index import QueueIndex, queue_index_for
from app.ui.reads import seen_times
from app.ui.rows import QueueRow, entry_rows, queue_rows
from app.ui.templating import base_context, render, render_fragment

router = APIRouter(prefix="/ui", include_in_schema=False)

KEEPALIVE_SECONDS = 15.0
MIN_BATCH_INTERVAL = 0.5  # a page re-evaluates at most twice a second, however busy the system
MAX_STREAM_SECONDS = 600.0  # then the browser reconnects, and the session is checked again


def filter_of(request: Request, ruleset: RuleSet) -> QueueFilter:
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    return QueueFilter.from_params(params, departments=ruleset.departments)


def queue_url(f: QueueFilter) -> str:
    """The queue page showing `f` (where a row's claim button and bulk work return to)."""
    query = f.query_string()
    return f"/ui/?{query}" if query else "/ui/"


@dataclass(frozen=True)
class Chip:
    label: str
    query: str
    count: int
    count_key: str
    current: bool


def chips(f: QueueFilter, counts: QueueCounts, t: Translator) -> list[Chip]:
    base = QueueFilter()
    options = [
        (t("queue.all_active"), base, counts.active, "active"),
        (t("queue.mine"), base.with_(assignee="me"), counts.assignee["me"], "assignee.me"),
        (t("queue.unassigned"), base.with_(assignee="none"), counts.assignee["none"], "assignee.none"),
        (t("sla.warned"), base.with_(sla="warned"), counts.sla["warned"], "sla.warned"),
        (t("sla.breached"), base.with_(sla="breached"), counts.sla["breached"], "sla.breached"),
    ]
    return [Chip(label, chip.query_string(), n, key, chip == f) for label, chip, n, key in options]


SEARCH_TOTAL_CAP = 1000


@dataclass(frozen=True)
class QueueView:
    rows: list[QueueRow]
    counts: QueueCounts
    total: int | str


def queue_view(session: Session, index: QueueIndex, principal: Principal, f: QueueFilter, *, ruleset: RuleSet,
               with_rows: bool = True) -> QueueView:
    """The page's rows (none unless `with_rows`), counts and total: from the process's queue index
    when `f` stays within the not-closed cases (always for the counts), else from the database. A
    search over the whole history stops counting at `SEARCH_TOTAL_CAP` (`"1000+"`)."""
    entries, total, counts = index.view(session, principal.user_id, f, limit=QUEUE_LIMIT)
    if entries is not None and total is not None:
        rows = entry_rows(entries, ruleset=ruleset, now=utc_now(),
                          seen=seen_times(session, principal.user_id, (e.id for e in entries))) if with_rows else []
        return QueueView(rows, counts, total)
    rows = database_rows(session, principal, queue_cases(session, principal, f), ruleset=ruleset) if with_rows else []
    conditions = queue_conditions(principal, f)
    if not f.q:
        return QueueView(rows, counts, session.scalar(select(func.count()).select_from(Case).where(*conditions)) or 0)
    capped = select(Case.id).where(*conditions).limit(SEARCH_TOTAL_CAP + 1).subquery()
    n = session.scalar(select(func.count()).select_from(capped)) or 0
    return QueueView(rows, counts, f"{SEARCH_TOTAL_CAP}+" if n > SEARCH_TOTAL_CAP else n)


def database_rows(session: Session, principal: Principal, cases: list[Case], *, ruleset: RuleSet) -> list[QueueRow]:
    """Rows for `cases` read from the database, unread markers for `principal`."""
    return queue_rows(session, cases, ruleset=ruleset, now=utc_now(),
                      seen=seen_times(session, principal.user_id, (c.id for c in cases)))


@router.get("", include_in_schema=False)
def ui_root() -> Response:
    return RedirectResponse("/ui/", status_code=307)


@router.get("/", response_class=HTMLResponse)
async def queue_page(request: Request, info: UiUser) -> Response:
    ruleset: RuleSet = request.app.state.rules.current
    f = filter_of(request, ruleset)
    t = translator(info.language)

    index = queue_index_for(request.app.state)

    def work(session: Session) -> dict[str, Any]:
        view = queue_view(session, index, info.principal, f, ruleset=ruleset)
        return {"rows": view.rows, "counts": view.counts, "total": view.total, "incidents": open_incidents(session),
                "assignable": assignable_users(session, info.principal)}

    data = await in_transaction(request, work)
    counts: QueueCounts = data["counts"]
    channels = sorted(set(CHANNELS) | set(counts.channel) | set(f.channel))
    flash = t("password.changed") if request.query_params.get("changed") == "password" else None
    return render(request, info, "queue.html", {
        **data, "f": f, "nav": "queue", "chips": chips(f, counts, t), "statuses": STATUSES,
        "departments": departments_of(ruleset), "channels": channels, "priorities": PRIORITIES,
        "accounts": accounts_of(ruleset, [*counts.account, *f.account]),
        "limit": QUEUE_LIMIT, "flash": flash, "queue_back": queue_url(f), "bulk_actions": BULK_ACTIONS,
        "priority_values": PRIORITIES,
    }, t=t)


def _row_payload(rows: list[QueueRow], context: dict[str, Any]) -> list[dict[str, str]]:
    return [{"ref": row.ref, "key": row.key, "html": render_fragment("_queue_rows.html", {**context, "rows": [row]})}
            for row in rows]


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


@router.get("/live/queue")
async def live_queue(request: Request, info: UiUser) -> StreamingResponse:
    """Server-sent events for one queue page: `rows` events with `reset` (the whole page: on
    connect and whenever changes may have been missed) or `upsert`/`remove` for changed cases,
    each with the filter counts. Fed by the process's broadcaster; never polls the database itself."""
    ruleset: RuleSet = request.app.state.rules.current
    f = filter_of(request, ruleset)
    context = {**base_context(request, info, translator(info.language)), "queue_back": queue_url(f)}
    broadcaster = broadcaster_for(request.app.state)
    subscription = broadcaster.subscribe()
    index = queue_index_for(request.app.state)

    def snapshot(session: Session, ids: frozenset[int] | None) -> dict[str, Any]:
        principal = info.principal
        payload: dict[str, Any] = {}
        view = queue_view(session, index, principal, f, ruleset=ruleset, with_rows=ids is None)
        if ids is None:
            payload["reset"] = _row_payload(view.rows, context)
        else:
            cases = changed_cases(session, principal, f, ids)
            payload["upsert"] = _row_payload(database_rows(session, principal, cases, ruleset=ruleset), context)
            present = {c.id for c in cases}
            payload["remove"] = [format_ref(i) for i in sorted(ids - present)]
        payload["counts"] = view.counts.as_json()
        payload["total"] = view.total
        return payload

    async def events() -> AsyncIterator[str]:
        started = time.monotonic()
        try:
            yield "retry: 2000\n\n"
            yield sse("rows", await in_transaction(request, partial(snapshot, ids=None)))
            while time.monotonic() - started < MAX_STREAM_SECONDS and not subscription.closed:
                batch = await subscription.next_batch(KEEPALIVE_SECONDS)
                if not await session_alive(request, info):
                    yield sse("gone", {})
                    return
                if batch is not None and not batch:
                    yield ": keepalive\n\n"
                    continue
                yield sse("rows", await in_transaction(request, partial(snapshot, ids=batch)))
                await asyncio.sleep(MIN_BATCH_INTERVAL)
        finally:
            broadcaster.unsubscribe(subscription)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
