"""The service killed with SIGKILL while mentions pour in, then restarted: every mention that was
answered 200 is stored exactly once, and sending again the ones that got no answer duplicates
nothing. Real processes, real HTTP, the suite's database (PostgreSQL in its PostgreSQL run).

Budget: a fixed number of mentions and kills, so the test takes the same time every run."""

from __future__ import annotations

import json
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from app.db import make_engine
from app.delivery.signing import sign_payload
from app.mentions.stored import StoredMention
from tests.dbutil import scratch_database_url
from tests.test_service_e2e import launch_service

pytestmark = pytest.mark.slow
MENTIONS = 240          # per run
SENDERS = 8             # concurrent connections
KILLS = 2               # SIGKILLs, each after a share of the mentions was answered


def signed(secret: str, mention: dict[str, object]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(mention).encode()
    headers = sign_payload([secret], f"msg_{uuid.uuid4().hex}", int(time.time()), body)
    return body, {**headers, "content-type": "application/json"}


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    with scratch_database_url(tmp_path) as url:
        yield url


def test_sigkill_under_load_loses_and_duplicates_nothing(tmp_path: Path, database_url: str) -> None:
    mentions = [{"id": f"crash-{n}", "channel": "x", "text": f"Storing {n}: al uren geen internet",
                 "author": {"id": f"author-{n % 40}", "handle": f"@klant{n % 40}"}} for n in range(MENTIONS)]
    answered: set[str] = set()
    lock = threading.Lock()
    process, env = launch_service(tmp_path, database_url=database_url)
    secret = (Path(env["WEBCARE_VAR_DIR"]) / "secrets" / "LISTENING_WEBHOOK_SECRET").read_text().strip()

    def send(base: str, mention: dict[str, object]) -> None:
        body, headers = signed(secret, mention)
        try:
            response = httpx.post(f"{base}/webhooks/listening-tool", content=body, headers=headers, timeout=10)
        except httpx.TransportError:
            return  # no answer: the sender would retry later
        if response.status_code == 200:
            with lock:
                answered.add(str(mention["id"]))

    try:
        batches = [mentions[i::KILLS + 1] for i in range(KILLS + 1)]
        for round_number, batch in enumerate(batches):
            with ThreadPoolExecutor(SENDERS) as pool:
                futures = [pool.submit(send, env["base"], m) for m in batch]
                if round_number < KILLS:
                    # Kill while requests are in flight: once a third of this round is answered.
                    target = len(answered) + len(batch) // 3
                    deadline = time.monotonic() + 60
                    while len(answered) < target and time.monotonic() < deadline:
                        time.sleep(0.01)
                    process.send_signal(signal.SIGKILL)
                    process.wait(timeout=10)
                for future in futures:
                    future.result()
            if round_number < KILLS:
                process, env = launch_service(tmp_path, database_url=database_url)
        # Everything that got no 200 is sent again, as a platform or listening tool would.
        unanswered = [m for m in mentions if m["id"] not in answered]
        with ThreadPoolExecutor(SENDERS) as pool:
            list(pool.map(lambda m: send(env["base"], m), unanswered))
    finally:
        process.terminate()
        process.wait(timeout=40)

    assert KILLS and len(answered) == MENTIONS, "every mention was answered 200 in the end"
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            stored = dict(connection.execute(
                select(StoredMention.external_id, func.count()).group_by(StoredMention.external_id)).all())
    finally:
        engine.dispose()
    assert set(stored) == {m["id"] for m in mentions}
    assert set(stored.values()) == {1}, "stored exactly once"
