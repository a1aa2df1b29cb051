"""`webcare serve`'s HTTP server: uvicorn with a graceful shutdown that does not wait on live pages.

On SIGTERM or SIGINT uvicorn stops accepting connections and waits for the requests in flight;
a live page stream is such a request and may last ten minutes. So the server first ends every open
stream (each browser reconnects on its own, to another replica or to this service once it is
back), then lets in-flight requests finish for at most `WEBCARE_SHUTDOWN_GRACE_SECONDS`; after
that the application's shutdown stops the workers (each finishes the unit it holds: its lease is
then recorded, or expires and the row is claimed again elsewhere) and, on SQLite, merges the
write-ahead log into the database file.
"""

from __future__ import annotations

from types import FrameType

import uvicorn
from fastapi import FastAPI


class GracefulServer(uvicorn.Server):
    """A uvicorn server that closes the app's live streams as soon as shutdown is asked for."""

    def __init__(self, config: uvicorn.Config, app: FastAPI):
        super().__init__(config)
        self.webcare_app = app

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        live = getattr(self.webcare_app.state, "live", None)
        if live is not None:
            live.close_streams()
        super().handle_exit(sig, frame)


def serve_app(app: FastAPI, *, host: str, port: int, grace_seconds: float) -> None:
    """Serve `app` until SIGTERM/SIGINT, then shut down as the module docstring says."""
    config = uvicorn.Config(app, host=host, port=port, log_config=None, proxy_headers=True,
                            timeout_graceful_shutdown=int(grace_seconds) or None)
    GracefulServer(config, app).run()
