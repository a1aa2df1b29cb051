"""The process's broadcaster of committed case changes (DESIGN "live updates").

One background thread per process watches the `case_events` table, to which every ingest and every
action appends rows in the same transaction as the change: on PostgreSQL it LISTENs to the
`webcare_case_changes` channel (a trigger of migration 0003 notifies the case id at commit); on SQLite
it reads the highest event id once a second. Each batch of changed case ids goes to every subscriber
(one per open page stream), coalesced: a slow page gets one bigger batch, never a backlog.

Guarantees: only committed changes are announced; a subscriber that was told `None` must assume
anything changed (the watcher lost its connection and cannot know what it missed). The thread starts
with the first subscriber and stops after `idle_stop` seconds without any.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable

from sqlalchemy import Engine, func, select

from app.cases.models import CaseEvent

log = logging.getLogger(__name__)

CHANNEL = "webcare_case_changes"

_BROADCASTERS: weakref.WeakSet[Broadcaster] = weakref.WeakSet()  # for close_all_streams()


class Subscription:
    """What one page stream waits on: the case ids changed since it last looked."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self._pending: set[int] = set()
        self._everything = False
        self._ready = asyncio.Event()
        self.closed = False

    def _close(self) -> None:  # runs on the event loop
        self.closed = True
        self._ready.set()

    def close(self) -> None:
        """Thread-safe: ask the stream to end (the process is shutting down); its browser reconnects,
        to another replica or to this service once it is back."""
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._close)

    def _push(self, ids: frozenset[int] | None) -> None:  # runs on the event loop
        if ids is None:
            self._everything = True
        else:
            self._pending |= ids
        self._ready.set()

    def publish(self, ids: frozenset[int] | None) -> None:
        """Thread-safe: hand a batch to this subscriber."""
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is listening
            self._loop.call_soon_threadsafe(self._push, ids)

    async def next_batch(self, timeout: float) -> frozenset[int] | None:
        """The ids changed since the last call (empty after `timeout` seconds without changes, or
        at once when the subscription is closed); None when anything may have changed."""
        if self.closed:
            return frozenset()
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            return frozenset()
        self._ready.clear()
        if self.closed:
            return frozenset()
        if self._everything:
            self._everything, self._pending = False, set()
            return None
        batch, self._pending = frozenset(self._pending), set()
        return batch


class Broadcaster:
    """Fans committed case changes out to the page streams of this process."""

    def __init__(self, engine: Engine, *, interval: float = 1.0, idle_stop: float = 30.0):
        self.engine = engine
        self.interval = interval
        self.idle_stop = idle_stop
        self._subscribers: set[Subscription] = set()
        self._listeners: list[Callable[[frozenset[int] | None], None]] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._closing = False
        _BROADCASTERS.add(self)

    def subscribe(self) -> Subscription:
        """A new subscription on the running event loop; starts the watcher when needed."""
        subscription = Subscription(asyncio.get_running_loop())
        with self._lock:
            if self._closing:
                subscription.closed = True
                return subscription
            self._subscribers.add(subscription)
            self._start_watcher()
        return subscription

    def close_streams(self) -> None:
        """Shutdown has begun: end every open page stream now, and any opened from here on, so that
        live pages do not hold the server's graceful shutdown for their whole lifetime."""
        with self._lock:
            self._closing = True
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber.close()

    def add_listener(self, listener: Callable[[frozenset[int] | None], None]) -> None:
        """Call `listener` (on the watcher's thread; it must be quick and thread-safe) with every
        batch, for the life of the process: the watcher then never stops for idleness."""
        with self._lock:
            self._listeners.append(listener)
            self._start_watcher()

    def _start_watcher(self) -> None:  # under the lock
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="webcare-live", daemon=True)
            self._thread.start()

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscribers.discard(subscription)

    def stop(self) -> None:
        """Stop the watcher (tests, shutdown); the next subscriber starts it again."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=5)

    def publish(self, ids: Iterable[int] | None) -> None:
        """Send a batch to every subscriber (None: anything may have changed)."""
        batch = None if ids is None else frozenset(ids)
        if batch is not None and not batch:
            return
        with self._lock:
            subscribers, listeners = list(self._subscribers), list(self._listeners)
        for subscriber in subscribers:
            subscriber.publish(batch)
        for listener in listeners:
            listener(batch)

    def _idle_too_long(self, idle_since: float | None) -> tuple[bool, float | None]:
        with self._lock:
            if self._subscribers or self._listeners:
                return False, None
            now = time.monotonic()
            if idle_since is None:
                return False, now
            if now - idle_since > self.idle_stop:
                self._thread = None  # decided under the lock: the next subscriber starts a new watcher
                return True, idle_since
            return False, idle_since

    def _run(self) -> None:
        watch = self._watch_postgresql if self.engine.dialect.name == "postgresql" else self._watch_sequence
        while not self._stop.is_set():
            try:
                if watch():
                    return
            except Exception:  # the database went away: tell the pages, wait, watch again
                log.warning("live updates lost the database; retrying", exc_info=True)
                self.publish(None)
                self._stop.wait(self.interval * 3)

    def _watch_sequence(self) -> bool:
        """SQLite (and any database without LISTEN): read the event sequence once per interval.
        Writers are serialised there, so ids become visible in order and none is skipped."""
        with self.engine.connect() as connection:
            last = connection.scalar(select(func.coalesce(func.max(CaseEvent.id), 0))) or 0
            connection.rollback()
        idle_since: float | None = None
        while not self._stop.wait(self.interval):
            with self.engine.connect() as connection:
                rows = connection.execute(select(CaseEvent.id, CaseEvent.case_id).where(CaseEvent.id > last)
                                          .order_by(CaseEvent.id).limit(10_000)).all()
                connection.rollback()
            if rows:
                last = rows[-1][0]
                self.publish(row[1] for row in rows)
            stop, idle_since = self._idle_too_long(idle_since)
            if stop:
                return True
        return True

    def _watch_postgresql(self) -> bool:
        """PostgreSQL: LISTEN; notifications arrive only after the writing transaction commits."""
        import psycopg

        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(f"LISTEN {CHANNEL}")
            self.publish(None)  # (re)connected: whatever happened while away is unknown
            idle_since: float | None = None
            while not self._stop.is_set():
                notes = list(connection.notifies(timeout=self.interval, stop_after=1))
                if notes:  # gather the rest of a burst briefly, so a page gets one batch for it
                    notes += connection.notifies(timeout=0.05)
                ids = {int(n.payload) for n in notes if n.payload.isdigit()}
                self.publish(ids)
                stop, idle_since = self._idle_too_long(idle_since)
                if stop:
                    return True
        return True


def close_all_streams() -> None:
    """End the open page streams of every broadcaster in this process (shutdown has begun)."""
    for broadcaster in list(_BROADCASTERS):
        broadcaster.close_streams()


def broadcaster_for(app_state: object) -> Broadcaster:
    """The app's broadcaster, made on first use."""
    broadcaster = getattr(app_state, "live", None)
    if broadcaster is None:
        broadcaster = Broadcaster(app_state.engine)  # type: ignore[attr-defined]
        app_state.live = broadcaster  # type: ignore[attr-defined]
    return broadcaster
