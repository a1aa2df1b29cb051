"""Jinja2 rendering for the UI: autoescaped templates, the request's language and CSRF token."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from app.kernel.clock import utc_now
from app.ui.i18n import Translator, translator
from app.ui.sessions import SessionInfo

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                  undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def request_language(request: Request, info: SessionInfo | None) -> str:
    """The user's language, else the browser's first supported one, else English."""
    if info is not None:
        return info.language
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in ("en", "nl"):
            return code
    return "en"


def time_element(t: Translator, value: datetime | None, *, css: str = "muted") -> Markup:
    """`<time>` with the relative text ("3 min ago", "in 12 min"), the exact time and zone as its
    hover title, and the ISO instant app.js ticks it on from."""
    if value is None:
        return Markup("—")
    return Markup('<time datetime="{iso}" title="{exact}" class="rel {css}" data-rel>{text}</time>').format(
        iso=value.isoformat(), exact=t.exact(value), css=css, text=t.relative(value, utc_now()))


def base_context(request: Request, info: SessionInfo | None, t: Translator | None = None) -> dict[str, Any]:
    t = t or translator(request_language(request, info))
    csrf = info.csrf_token if info else ""
    return {
        "request": request, "user": info, "t": t, "lang": t.language, "csrf": csrf,
        "csrf_field": lambda: Markup(f'<input type="hidden" name="csrf_token" value="{escape(csrf)}">'),
        "now": utc_now(), "nav": "", "flash": None, "error": None,
        "when": lambda value, css="muted": time_element(t, value, css=css),
    }


def render(request: Request, info: SessionInfo | None, name: str, context: dict[str, Any] | None = None,
           *, status_code: int = 200, t: Translator | None = None) -> HTMLResponse:
    """A full page."""
    html = env.get_template(name).render({**base_context(request, info, t), **(context or {})})
    return HTMLResponse(html, status_code=status_code)


def render_fragment(name: str, context: dict[str, Any]) -> str:
    """A partial (a queue row, a case section) for the live stream."""
    return env.get_template(name).render(context)
