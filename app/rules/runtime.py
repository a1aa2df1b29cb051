"""Keeping a process's rules current without a restart: the imperative shell around the holder.

Per process (`webcare serve` and `webcare worker` alike) two daemon threads:
- the watcher (`watchfiles`, debounced) asks for a reload when anything under the folder changes;
- the rules thread does the reloads asked for (by the watcher, `SIGHUP`, or another process
  through a `rule_reload_requests` row it polls once per `poll_interval`), writes this process's
  row of `rule_processes` after each reload and every `heartbeat_interval`, and adds the hit
  counts to the database every `flush_interval`.
Reloads asked while one runs are folded into one more reload after it.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from app.audit import SYSTEM, record
from app.db import transaction
from app.kernel.clock import utc_now
from app.rules.hits import HitCounter, flush_hits
from app.rules.holder import RuleSetHolder, reload_facts
from app.rules.loader import folder_version
from app.rules.model import RuleSet
from app.rules.processes import ProcessReport, forget_process, prune, record_process, reload_requests_after
from app.settings import Settings

log = logging.getLogger(__name__)

PRUNE_INTERVAL = 3600.0


def new_process_id() -> str:
    """A process's name in `rule_processes`: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class RulesRuntime:
    """Starts and stops the rules threads of one process; `request_reload` is safe to call from any
    thread and from a signal handler."""

    def __init__(self, holder: RuleSetHolder, hits: HitCounter, sessions: sessionmaker[Session], *,
                 kind: str, process_id: str, watch: bool = True, poll_interval: float = 1.0,
                 heartbeat_interval: float = 10.0, flush_interval: float = 2.0, debounce_ms: int = 500):
        self.holder, self.hits, self.sessions = holder, hits, sessions
        self.kind, self.process_id, self.watch = kind, process_id, watch
        self.poll_interval, self.heartbeat_interval, self.flush_interval = poll_interval, heartbeat_interval, \
            flush_interval
        self.debounce_ms = debounce_ms
        self.started_at = utc_now()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._asked: list[str] = []
        self._report_now = True
        self._threads: list[threading.Thread] = []
        self._last_request = 0
        self._unaudited: list[tuple[datetime, dict[str, object]]] = []  # reloads to audit, kept until committed
        self._last_heartbeat = self._last_flush = self._last_prune = time.monotonic()

    def request_reload(self, trigger: str) -> None:
        """Have the rules thread reload the folder soon."""
        self._asked.append(trigger)  # list.append is atomic; the thread drains it
        self._wake.set()

    def report_soon(self) -> None:
        """Have the rules thread write this process's row now (its status changed elsewhere)."""
        self._report_now = True
        self._wake.set()

    def start(self) -> None:
        """Register this process and start the threads."""
        with transaction(self.sessions) as session:
            self._last_request, _ = reload_requests_after(session, 0, process_id=self.process_id)
            self._report(session)
        self._threads = [threading.Thread(target=self._run, name="webcare-rules", daemon=True)]
        if self.watch:
            self._threads.append(threading.Thread(target=self._watch, name="webcare-rules-watch", daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop the threads, add the last counts to the database and unregister this process."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=10)
        try:
            with transaction(self.sessions) as session:
                self._flush(session)
                forget_process(session, self.process_id)
        except Exception:
            log.warning("could not record the rules' last state on stop", exc_info=True)

    def _report(self, session: Session) -> None:
        holder = self.holder
        record_process(session, ProcessReport(self.process_id, self.kind, holder.current.version, holder.status),
                       started_at=self.started_at, now=utc_now())

    def _flush(self, session: Session) -> None:
        counts = self.hits.take()
        try:
            flush_hits(session, counts, now=utc_now())
        except Exception:
            self.hits.restore(counts)
            raise

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll_interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self._step()
            except Exception:  # the database went away: keep serving the running set, try again
                log.warning("rules thread step failed; retrying", exc_info=True)
                self._stop.wait(self.poll_interval * 3)

    def _step(self) -> None:
        asked: list[str] = []
        while self._asked:  # list.pop is atomic: a trigger appended meanwhile is taken now or next time
            asked.append(self._asked.pop())
        with transaction(self.sessions) as session:
            newest, from_others = reload_requests_after(session, self._last_request, process_id=self.process_id)
        self._last_request = newest
        if from_others:
            asked.append("another process")
        if asked:
            before, trigger = self.holder.current, ", ".join(sorted(set(asked)))
            swapped, _ = self.holder.reload(now=utc_now(), trigger=trigger)
            self._report_now = True
            facts = system_reload_facts(before, self.holder.current, trigger, swapped=swapped,
                                        process_id=self.process_id)
            if facts is not None:
                self._unaudited.append((utc_now(), facts))
        moment = time.monotonic()
        heartbeat = self._report_now or moment - self._last_heartbeat >= self.heartbeat_interval
        flush = moment - self._last_flush >= self.flush_interval
        if not (heartbeat or flush or self._unaudited):
            return
        with transaction(self.sessions) as session:
            for at, facts in self._unaudited:
                record(session, SYSTEM, "rules.reloaded", "rules", facts, at)
            if heartbeat:
                self._report_now = False
                self._report(session)
                self._last_heartbeat = moment
            if flush:
                self._flush(session)
                self._last_flush = moment
            if moment - self._last_prune >= PRUNE_INTERVAL:
                prune(session, now=utc_now())
                self._last_prune = moment
        self._unaudited.clear()  # committed (a failed step keeps them for the next one)

    def _drifted(self) -> bool:
        try:
            return folder_version(Path(self.holder.directory)) != self.holder.current.version
        except OSError:
            return True

    def _watch(self) -> None:
        import watchfiles

        root = watch_root(Path(self.holder.directory))
        while not self._stop.is_set():
            try:
                watching = False
                # The first (empty) yield after a timeout says the watch is in place: a change made
                # before that (between the load and the watch) shows as a version that differs.
                for changes in watchfiles.watch(root, debounce=self.debounce_ms, step=50, rust_timeout=1000,
                                                yield_on_timeout=True, stop_event=self._stop,
                                                raise_interrupt=False):
                    if changes or (not watching and self._drifted()):
                        self.request_reload("file change")
                    watching = True
            except Exception:  # the folder vanished (a volume remount): wait and watch again
                log.warning("cannot watch %s; retrying", root, exc_info=True)
                self._stop.wait(5)


def system_reload_facts(before: RuleSet, after: RuleSet, trigger: str, *, swapped: bool,
                        process_id: str) -> dict[str, object] | None:
    """What the audit log records (actor system) of a reload this process did on its own (a file
    change, SIGHUP), or None when there is nothing to record: a refused reload changes nothing, a
    reload to the version already running changes nothing, and one asked only by another process
    follows a reload already audited with the person who asked it."""
    if not swapped or before.version == after.version or trigger == "another process":
        return None
    return {**reload_facts(before, after, trigger), "process": process_id}


def watch_root(directory: Path) -> Path:
    """What to watch for `directory`: the folder itself, or, when it is a symbolic link, the folder
    holding the link. Publishers such as git-sync (`--link`) write each version to a new folder and
    swap the link, then delete the old folder: watching the link's old target would see that one
    deletion and nothing after it."""
    return directory.parent if directory.is_symlink() else directory


def runtime_from_settings(holder: RuleSetHolder, hits: HitCounter, sessions: sessionmaker[Session],
                          settings: Settings, *, kind: str, process_id: str) -> RulesRuntime:
    """A runtime with the `WEBCARE_RULES_*` settings (hit counts are flushed every other poll)."""
    return RulesRuntime(holder, hits, sessions, kind=kind, process_id=process_id, watch=settings.rules_watch,
                        poll_interval=settings.rules_poll_seconds, flush_interval=2 * settings.rules_poll_seconds,
                        debounce_ms=settings.rules_debounce_ms)


def reload_on_sighup(runtime: RulesRuntime) -> None:
    """Make SIGHUP ask `runtime` for a reload (the handler only wakes the rules thread). Only the
    main thread may set signal handlers; elsewhere this does nothing. uvicorn takes SIGINT and
    SIGTERM only, so SIGHUP stays ours in a serving process (the supervisor of `serve --workers N`
    keeps its own meaning: restart the processes)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGHUP, lambda *_: runtime.request_reload("SIGHUP"))
