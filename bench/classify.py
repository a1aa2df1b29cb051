"""Classification cost per mention: the rule folder of the working tree beside the one of a git ref
(the baseline, measured in the same run), over the labelled mentions of routing_rules/eval/.

Run: `.venv/bin/python bench/classify.py [REF]` (REF defaults to `main`). Prints, per folder, the
number of rules and list items, and the median and p95 time of one `classify` call; the figures
are in bench/README.md.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.kernel.clock import utc_now  # noqa: E402
from app.mentions.language import with_detected_language  # noqa: E402
from app.mentions.model import Mention  # noqa: E402
from app.rules import RuleSet, classify, load_ruleset  # noqa: E402
from app.rules.labelled import read_labelled  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
ROUNDS = 20


def folder_at(ref: str, target: Path) -> Path:
    """routing_rules/ as it is at git `ref`, unpacked under `target`."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "routing_rules"], check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target / "routing_rules"


def mentions() -> list[Mention]:
    """Every labelled mention of routing_rules/eval/, with ingest's language detection applied."""
    found: list[Mention] = []
    ruleset = load_ruleset(REPO / "routing_rules")
    for path in sorted((REPO / "routing_rules" / "eval").glob("*.jsonl")):
        items, problems = read_labelled(path.read_text(encoding="utf-8"), str(path), ruleset.departments)
        if problems:
            raise SystemExit("\n".join(str(p) for p in problems))
        found += [with_detected_language(i.mention) for i in items]
    return found


def timings(ruleset: RuleSet, sample: list[Mention]) -> list[float]:
    """Seconds per classify call, ROUNDS passes over `sample`."""
    now = utc_now()
    out = []
    for _ in range(ROUNDS):
        for mention in sample:
            start = time.perf_counter()
            classify(ruleset, mention, now)
            out.append(time.perf_counter() - start)
    return out


def describe(name: str, ruleset: RuleSet, seconds: list[float]) -> str:
    items = sum(len(k.items) for k in ruleset.lists.values())
    p95 = statistics.quantiles(seconds, n=20)[-1]
    return (f"{name}: {len(ruleset.rules)} rules, {len(ruleset.lists)} lists, {items} list items; "
            f"median {statistics.median(seconds) * 1e6:.0f} µs, p95 {p95 * 1e6:.0f} µs per mention")


def main() -> None:
    ref = sys.argv[1] if len(sys.argv) > 1 else "main"
    sample = mentions()
    with tempfile.TemporaryDirectory() as tmp:
        baseline = load_ruleset(folder_at(ref, Path(tmp)))
        current = load_ruleset(REPO / "routing_rules")
        # Interleaved rounds, so that a busy spell of the shared machine hits both alike.
        base_times: list[float] = []
        current_times: list[float] = []
        for _ in range(3):
            base_times += timings(baseline, sample)
            current_times += timings(current, sample)
    print(f"{len(sample)} mentions x {ROUNDS * 3} passes")
    print(describe(f"baseline ({ref})", baseline, base_times))
    print(describe("working tree", current, current_times))


if __name__ == "__main__":
    main()
