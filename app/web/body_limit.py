"""Request body limits, enforced on the stream before any handler parses or buffers a body.

A body is refused with `413` problem JSON as soon as it is known to pass its limit: at once when
the declared `Content-Length` says so (the body is never read), else when the bytes received pass
it (chunked bodies, or a client that lies), after which no more of it is read.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.web.problems import PayloadTooLarge, problem_response

DEFAULT_MAX_BODY_BYTES = 256 * 1024


class BodyTooLarge(PayloadTooLarge):
    """Raised from `receive` once a body has passed its limit."""


def declared_length(scope: Scope) -> int | None:
    """The request's `Content-Length` as a number, None when absent or not a number."""
    value = Headers(scope=scope).get("content-length")
    return int(value) if value is not None and value.isdigit() else None


class BodyLimitMiddleware:
    """Pure ASGI middleware limiting each request body to `limit_for(scope)` bytes.

    Guarantees: a request whose body passes its limit is answered `413 payload-too-large` and at
    most the limit (plus one received chunk) is ever read, whatever the application does with the
    error. FastAPI turns any error raised while it reads a body into its own 400, so the middleware
    does not rely on its exception coming back: once the limit is passed, whatever the application
    answers is dropped and the 413 is sent instead (unless a response had already started, in which
    case the error is raised to end it)."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[Scope], int]):
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = declared_length(scope)
        if declared is not None and declared > limit:
            await _too_large(limit)(scope, receive, send)
            return
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLarge(_detail(limit))
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge(_detail(limit))
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the application's answer to a cut-off body; the 413 goes instead
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not exceeded or started:
                raise
        if exceeded and not started:
            await _too_large(limit)(scope, receive, send)


def _detail(limit: int) -> str:
    return f"the limit for this request is {limit} bytes"


def _too_large(limit: int) -> JSONResponse:
    return problem_response(PayloadTooLarge(_detail(limit)))
