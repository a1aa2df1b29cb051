"""Jinja2 rendering for the UI: autoescaped templates, the request's language and CSRF token."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from app.kernel.clock import utc_now
from app.ui.i18n import Translator, browser_language, translator
from app.ui.sessions import SessionInfo

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                  undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def request_language(request: Request, info: SessionInfo | None) -> str:
    """The user's language (the browser's when they chose none: the middleware resolved it), else
    the browser's first supported one, else English."""
    if info is not None:
        return info.language
    return browser_language(request.headers.get("accept-language", ""))


ROW_TEXTS = {"sla": "col.sla", "case": "col.case", "channel": "col.channel", "author": "col.author",
             "text": "col.text", "department": "col.department", "priority": "col.priority", "tags": "col.tags",
             "assignee": "col.assignee", "activity": "col.activity", "nobody": "queue.nobody",
             "unread": "queue.unread", "received": "queue.received", "last_activity": "queue.last_activity",
             "select": "bulk.select_one", "claim": "action.claim"}


@cache
def row_texts(language: str) -> dict[str, Markup]:
    """The fixed texts of a queue row, escaped once per language (a page shows 50 rows)."""
    t = translator(language)
    texts = {name: escape(t(key)) for name, key in ROW_TEXTS.items()}
    texts.update({f"status.{key[7:]}": escape(text) for key, text in t.catalog.items() if key.startswith("status.")})
    return texts


env.globals["row_texts"] = row_texts


def time_element(t: Translator, value: datetime | None, *, css: str = "muted") -> Markup:
    """`<time>` with the relative text ("3 min ago", "in 12 min"), the exact time and zone as its
    hover title, and the ISO instant app.js ticks it on from."""
    if value is None:
        return Markup("—")
    # Built with an f-string over escaped parts: the queue renders a hundred of these per page.
    return Markup(f'<time datetime="{value.isoformat()}" title="{escape(t.exact(value))}" class="rel {escape(css)}" '
                  f'data-rel>{escape(t.relative(value, utc_now()))}</time>')


def base_context(request: Request, info: SessionInfo | None, t: Translator | None = None) -> dict[str, Any]:
    t = t or translator(request_language(request, info))
    csrf = info.csrf_token if info else ""
    return {
        "request": request, "user": info, "t": t, "lang": t.language, "csrf": csrf,
        "csrf_field": lambda: Markup(f'<input type="hidden" name="csrf_token" value="{escape(csrf)}">'),
        "now": utc_now(), "nav": "", "flash": None, "error": None,
        "when": lambda value, css="muted": time_element(t, value, css=css),
        "shortcuts_on": info is None or info.shortcuts,
    }


def render(request: Request, info: SessionInfo | None, name: str, context: dict[str, Any] | None = None,
           *, status_code: int = 200, t: Translator | None = None) -> HTMLResponse:
    """A full page."""
    html = env.get_template(name).render({**base_context(request, info, t), **(context or {})})
    return HTMLResponse(html, status_code=status_code)


def render_fragment(name: str, context: dict[str, Any]) -> str:
    """A partial (a queue row, a case section) for the live stream."""
    return env.get_template(name).render(context)
