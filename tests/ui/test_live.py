"""The broadcaster announces committed case changes, on SQLite (event sequence) and PostgreSQL
(LISTEN/NOTIFY from the trigger of migration 0003)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.db import make_engine
from app.main import create_app
from app.migrate import upgrade_to_head
from app.settings import Settings
from app.ui.live import Broadcaster
from tests.conftest import BASIC_RULES
from tests.dbutil import scratch_database_url
from tests.support import Signer, mention


@contextmanager
def service_on_scratch_database(tmp_path: Path) -> Iterator[tuple[Engine, Callable[[str], int]]]:
    """A migrated scratch database, and a function that posts a mention to an app on it (returning
    the new case's id)."""
    with scratch_database_url(tmp_path) as url:
        engine = make_engine(url)
        upgrade_to_head(engine)
        settings = Settings(env="development", rules_dir=BASIC_RULES, var_dir=tmp_path / "var", log_format="text",
                            workers_enabled=False)
        app = create_app(settings, engine=engine)
        signer = Signer(app.state.secrets.get("TEST_LISTENING_SECRET", webhook=True))

        def post(text: str) -> int:
            body = json.dumps(mention(text)).encode()
            with TestClient(app) as client:
                answer = client.post("/webhooks/listening-tool", content=body, headers=signer.headers(body))
            assert answer.status_code == 200, answer.text
            return int(answer.json()["cases"][0].removeprefix("WC-"))

        try:
            yield engine, post
        finally:
            engine.dispose()


def test_committed_changes_reach_every_subscriber(tmp_path: Path) -> None:
    with service_on_scratch_database(tmp_path) as (engine, post):
        broadcaster = Broadcaster(engine, interval=0.1, idle_stop=1.0)

        async def changed_ids(subscription, want: int) -> set[int]:  # type: ignore[no-untyped-def]
            seen: set[int] = set()
            for _ in range(50):
                batch = await subscription.next_batch(0.2)
                seen |= set(batch or ())
                if want in seen:
                    break
            return seen

        async def scenario() -> None:
            first, second = broadcaster.subscribe(), broadcaster.subscribe()
            for _ in range(5):  # the watcher is running (on PostgreSQL: LISTENing, which it announces as None)
                await asyncio.gather(first.next_batch(0.2), second.next_batch(0.2))
            case_id = await asyncio.to_thread(post, "mijn factuur klopt niet")
            assert case_id in await changed_ids(first, case_id)
            assert case_id in await changed_ids(second, case_id)
            broadcaster.unsubscribe(second)
            other = await asyncio.to_thread(post, "storing in Utrecht")
            assert other in await changed_ids(first, other)
            broadcaster.unsubscribe(first)

        try:
            asyncio.run(scenario())
        finally:
            broadcaster.stop()


def test_a_listener_gets_every_batch_and_keeps_the_watcher_running(tmp_path: Path) -> None:
    """What the queue index relies on: batches reach it without any page open, for good."""
    import threading
    import time

    with service_on_scratch_database(tmp_path) as (engine, post):
        broadcaster = Broadcaster(engine, interval=0.1, idle_stop=0.3)
        seen: set[int] = set()
        arrived = threading.Event()

        def listener(ids: frozenset[int] | None) -> None:
            seen.update(ids or ())
            if seen:
                arrived.set()

        try:
            broadcaster.add_listener(listener)
            time.sleep(1.0)  # longer than idle_stop: a listener is not idleness
            case_id = post("mijn factuur klopt niet")
            assert arrived.wait(5) and case_id in seen
        finally:
            broadcaster.stop()
