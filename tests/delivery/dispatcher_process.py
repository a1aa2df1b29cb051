"""One dispatcher process, for the multi-process delivery test:
`python -m tests.delivery.dispatcher_process DATABASE_URL RULES_DIR WORKER_ID`.

Prints `ready` once it runs, delivers until SIGTERM, then prints `{"attempted": N}`. Secrets come
from the environment, as in production."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import tempfile
from pathlib import Path

from app.db import make_engine, make_sessionmaker
from app.delivery.dispatcher import Dispatcher
from app.rules import load_ruleset
from app.rules.holder import RuleSetHolder
from app.secrets import SecretStore


def main(database_url: str, rules_dir: str, worker_id: str) -> None:
    engine = make_engine(database_url)
    folder = Path(rules_dir)
    dispatcher = Dispatcher(make_sessionmaker(engine), RuleSetHolder(folder, load_ruleset(folder)),
                            SecretStore(production=True, var_dir=Path(tempfile.gettempdir()), environ=os.environ),
                            worker_id=worker_id, concurrency=8, batch_size=10, timeout=5, lease_seconds=30,
                            idle_seconds=0.05)

    async def run() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        print("ready", flush=True)
        await dispatcher.run_forever(stop)

    asyncio.run(run())
    engine.dispose()
    print(json.dumps({"attempted": dispatcher.attempted}), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
