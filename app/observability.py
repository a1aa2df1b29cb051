"""Structured logs carrying the request id and the case ref, and the middleware that sets them."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.kernel.timefmt import iso_z

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
case_ref_var: ContextVar[str | None] = ContextVar("case_ref", default=None)

_STANDARD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, case_ref and any `extra`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": iso_z(datetime.fromtimestamp(record.created, UTC)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, var in (("request_id", request_id_var), ("case_ref", case_ref_var)):
            if (value := var.get()) is not None:
                entry[key] = value
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS})
        if record.exc_info:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return mask_secrets(json.dumps(entry, default=str))


# -- secrets never reach a log ---------------------------------------------------------------------

MASK = "[secret]"
# Shorter values would mask ordinary words; production refuses secrets that short anyway.
MIN_MASKED_LENGTH = 6
# Their INFO lines are each request's full URL, and a Telegram URL holds the bot token.
OUTBOUND_CLIENT_LOGGERS = ("httpx", "httpcore")
_masked: set[str] = set()
_install_lock = threading.Lock()
_installed = False


def register_secret(value: str | None) -> None:
    """Mask `value` (and its URL-encoded form) in every log record made from now on, in this
    process: in the message, its arguments and exception text (and, through JsonFormatter, in
    `extra` fields, which logging adds only after a record is made)."""
    if not value or len(value) < MIN_MASKED_LENGTH:
        return
    _install_masking()
    _masked.update({value, quote(value, safe="")})


def mask_secrets(text: str) -> str:
    """`text` with every registered secret replaced by `[secret]`."""
    for value in sorted(_masked, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    return text


def protect_logs(*secrets: str | None) -> None:
    """Register `secrets` (the database password, ...) and keep outbound clients' request lines,
    which are whole URLs, out of the logs whatever the log level."""
    for value in secrets:
        register_secret(value)
    _install_masking()
    for name in OUTBOUND_CLIENT_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def _install_masking() -> None:
    global _installed
    with _install_lock:
        if _installed:
            return
        make_record = logging.getLogRecordFactory()

        def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = make_record(*args, **kwargs)
            if _masked:
                _mask_record(record)
            return record

        # A record factory rather than a handler filter: every handler (a test's capture, a library's
        # own) gets the masked record, not only the ones configure_logging installs.
        logging.setLogRecordFactory(masked_record)
        _installed = True


def _mask_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: leave it for logging's own error report
        return
    masked = mask_secrets(message)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = mask_secrets(logging.Formatter().formatException(record.exc_info))


class TextFormatter(logging.Formatter):
    """One readable line: time, level, logger, message, then the request id and case ref when set."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = [f"{key}={value}" for key, var in (("request_id", request_id_var), ("case_ref", case_ref_var))
                   if (value := var.get()) is not None]
        return f"{line} [{' '.join(context)}]" if context else line


# Loggers that speak at INFO about every run of a job or every request line of their own: APScheduler
# writes two lines a second per process, which buried everything else (the one-time admin password).
QUIET_BELOW_WARNING = ("uvicorn.access", "apscheduler", "httpx", "httpcore")


def configure_logging(fmt: str, level: str = "INFO") -> None:
    """Send logs to stderr as JSON (`fmt="json"`) or plain text; chatty libraries only from WARNING;
    secrets masked and no outbound request URLs (`protect_logs`)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in QUIET_BELOW_WARNING:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    protect_logs()


def bind_case(ref: str) -> None:
    """Mark the rest of this request's logs with a case ref."""
    case_ref_var.set(ref)


class RequestIdMiddleware:
    """Takes `X-Request-ID` from the caller (or makes one), echoes it, and logs each request."""

    def __init__(self, app: ASGIApp):
        self.app = app
        self.log = logging.getLogger("webcare.http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if 0 < len(incoming) <= 100 else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        case_token = case_ref_var.set(None)
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            duration_ms = round((time.perf_counter() - began) * 1000, 1)
            self.log.info("%s %s %d %.1f ms", scope["method"], scope["path"], status, duration_ms,
                          extra={"method": scope["method"], "path": scope["path"], "status": status,
                                 "duration_ms": duration_ms})
            request_id_var.reset(token)
            case_ref_var.reset(case_token)
