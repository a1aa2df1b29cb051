"""`webcare serve`'s HTTP server: uvicorn in one process or in N worker processes, with a graceful
shutdown that does not wait on live pages.

On SIGTERM or SIGINT uvicorn stops accepting connections and waits for the requests in flight;
a live page stream is such a request and may last ten minutes. So each serving process first ends
its open streams (each browser reconnects on its own, to another replica or to this service once it
is back), then lets in-flight requests finish for at most `WEBCARE_SHUTDOWN_GRACE_SECONDS`; after
that the application's shutdown stops the workers (each finishes the unit it holds: its lease is
then recorded, or expires and the row is claimed again elsewhere) and, on SQLite, merges the
write-ahead log into the database file.

With `--workers N` (PostgreSQL only) uvicorn's supervisor forks N processes sharing the socket; each
builds its own application (`served_app`), with its own background workers, live broadcaster and
queue index, exactly as N replicas would. The parent migrates once before they start.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI

from app.settings import Settings, get_settings

SHUTDOWN_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def call_first_on_shutdown_signal(callback: Callable[[], None]) -> None:
    """Make SIGTERM/SIGINT run `callback` before the handler in place (uvicorn's, which starts the
    graceful shutdown). Only the main thread may set signal handlers; elsewhere (a test client)
    this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in SHUTDOWN_SIGNALS:
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue

        def handler(number: int, frame: FrameType | None, previous: Any = previous) -> None:
            callback()
            previous(number, frame)

        signal.signal(sig, handler)


def build_served_app(settings: Settings, *, warm: bool = True) -> FastAPI:
    """The application one serving process runs, its queue index warming up on a thread of its own
    (so the first agent's page does not wait for it) unless `warm` is false. Raises what
    `create_app` raises."""
    from app.db import make_engine
    from app.main import create_app, rules_runtime
    from app.rules.runtime import reload_on_sighup
    from app.ui.queue_index import warm_queue_index

    app = create_app(settings, engine=make_engine(settings.effective_database_url))
    # This process owns its engine: on SQLite its shutdown merges the write-ahead log into the file.
    app.state.checkpoint_on_shutdown = True
    reload_on_sighup(rules_runtime(app, settings, kind="serve"))
    if warm:
        threading.Thread(target=warm_queue_index, args=(app.state,), name="webcare-queue-warmup",
                         daemon=True).start()
    return app


def served_app() -> FastAPI:
    """uvicorn's application factory for each worker process of `webcare serve --workers N`."""
    from app.observability import configure_logging

    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    return build_served_app(settings)


def serve(app: FastAPI | None, *, host: str, port: int, workers: int, grace_seconds: float) -> None:
    """Serve `app` in this process (`workers == 1`), or `served_app()` in `workers` processes, until
    SIGTERM/SIGINT; then shut down as the module docstring says. uvicorn does not rewrite the
    client address from proxy headers: `app.web.client` does, for trusted proxies only."""
    timeout = int(grace_seconds) or None
    if workers == 1:
        assert app is not None
        uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_config=None, proxy_headers=False,
                                      timeout_graceful_shutdown=timeout)).run()
        return
    config = uvicorn.Config("app.server:served_app", factory=True, host=host, port=port, workers=workers,
                            log_config=None, proxy_headers=False, timeout_graceful_shutdown=timeout)
    from uvicorn.supervisors import Multiprocess

    Multiprocess(config, sockets=[config.bind_socket()]).run()
