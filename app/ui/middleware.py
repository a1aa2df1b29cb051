"""Reads the UI session cookie once per request and adds the UI's security headers.

Sets `request.state.ui_session` (a `SessionInfo` or None) on `/ui` and `/api` requests. For `/api`
it also sets `request.state.session_principal`, which `app.web.deps.current_principal` accepts when
there is no bearer token — but only for safe methods or when the request carries the session's CSRF
token in `X-CSRF-Token`, and never before a required password change. So a cross-site page can
never make the browser's cookie act on the API.
"""

from __future__ import annotations

from dataclasses import replace
from http.cookies import SimpleCookie
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db import transaction
from app.kernel.clock import utc_now
from app.ui.i18n import browser_language
from app.ui.sessions import SESSION_COOKIE, SessionInfo, load_session

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = b"x-csrf-token"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'")
UI_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


def session_cookie(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The session cookie's value among raw ASGI headers."""
    for name, value in headers:
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header is as good as none
                continue
            if SESSION_COOKIE in jar:
                return jar[SESSION_COOKIE].value
    return None


class UiSessionMiddleware:
    """Pure ASGI middleware (it must not buffer the queue's event streams)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(("/ui", "/api/")):
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        token = session_cookie(headers)
        info = await anyio.to_thread.run_sync(_lookup, scope["app"], token) if token else None
        if info is not None and info.language_choice is None:  # no choice made: the browser's language
            accept = next((v.decode("latin-1") for k, v in headers if k == b"accept-language"), "")
            info = replace(info, language=browser_language(accept))
        state: dict[str, Any] = scope.setdefault("state", {})
        state["ui_session"] = info
        if info is not None and path.startswith("/api/") and _may_use_api(scope, headers, info):
            state["session_principal"] = info.principal
        if not path.startswith("/ui"):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *UI_HEADERS]
                if not path.startswith("/ui/static"):
                    message["headers"].append((b"cache-control", b"no-store"))
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _may_use_api(scope: Scope, headers: list[tuple[bytes, bytes]], info: SessionInfo) -> bool:
    if info.must_change_password:
        return False
    if scope.get("method", "GET") in SAFE_METHODS:
        return True
    presented = next((v.decode("latin-1") for k, v in headers if k == CSRF_HEADER), None)
    return info.csrf_ok(presented)


def _lookup(app: Any, token: str) -> SessionInfo | None:
    with transaction(app.state.sessions) as session:
        return load_session(session, token, now=utc_now())
