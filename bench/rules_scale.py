"""Classification and loading at 100, 1,000 and 10,000 keyword rules: `.venv/bin/python bench/rules_scale.py`.

Needs the `bench` extra (`pip install -e '.[bench]'`: wordfreq for real Dutch and English words).
For every size it generates a realistic folder (5-50 items per list, a fifth of them prefix
items, some lists shared by several rules, half the rules `continue`) and posts of 10-60 words of
which one to three rules match, then measures in one run:

  engine      `app.rules.classify` per post (the folder loaded as the service loads it)
  raw scan    the same keywords found by one Aho-Corasick automaton (ahocorasick-rs) over the
              lower-cased post, nothing else: the floor
  naive       one compiled regex per rule, tried rule by rule
  load        `load_ruleset` beside PyYAML parsing the same files (`yaml.safe_load`, pure Python,
              and with libyaml's CSafeLoader), and the memory the loaded set holds (tracemalloc)

Targets: engine at 10,000 rules <= 3x the raw scan and <= 2x the engine at 100 rules; load <= 3x
PyYAML. `--app DIR` measures another checkout's engine (e.g. /work/main) on the same folders.
"""

# ruff: noqa: E402  (sys.path is fixed before the other imports; see below)
from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
if "--app" in sys.argv:
    sys.path.insert(0, str(Path(sys.argv[sys.argv.index("--app") + 1]).resolve()))
else:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import gc
import random
import re
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

import ahocorasick_rs
import wordfreq
import yaml

import app
from app.mentions.model import Mention
from app.rules import Decision, RuleSet, classify, load_ruleset

SUPPORT = """\
defaults: {department: webcare, category: general, priority: P3, sla_policy: standard}
departments:
  - {id: webcare, name: Webcare, calendar: always}
  - {id: network, name: Netwerk, calendar: always}
  - {id: billing, name: Facturatie, calendar: always}
"""
SLA = """\
calendars:
  always: {timezone: Europe/Amsterdam, hours: 24/7}
policies:
  standard:
    first_response: {P1: 15m, P2: 30m, P3: 1h, P4: 4h}
    next_response: {P1: 30m, P2: 1h, P3: 2h, P4: 8h}
    department_ack: {P1: 30m, P2: 2h, P3: 4h, P4: 1d}
    resolution: {P1: 4h, P2: 1d, P3: 2d, P4: 5d}
"""
NOW = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)


class Corpus:
    """Keywords (rarer words) and filler (frequent words) of Dutch and English."""

    def __init__(self) -> None:
        words = {lang: [w for w in wordfreq.top_n_list(lang, 60000) if w.isalpha() and len(w) >= 3]
                 for lang in ("nl", "en")}
        self.filler = words["nl"][:1500] + words["en"][:1500]
        self.keywords = [w for lang in ("nl", "en") for w in words[lang][3000:] if len(w) >= 5]


def generate(root: Path, n_rules: int, corpus: Corpus, rng: random.Random) -> list[list[str]]:
    """Write a folder with `n_rules` keyword rules; returns each rule's written items."""
    root.mkdir(parents=True)
    (root / "departments.yaml").write_text(SUPPORT)
    (root / "sla.yaml").write_text(SLA)
    (root / "lists").mkdir()
    (root / "rules").mkdir()
    n_lists = max(1, int(n_rules * 0.8))  # some lists serve several rules
    pool = corpus.keywords[:]
    rng.shuffle(pool)
    lists: list[list[str]] = []
    at = 0
    for i in range(n_lists):
        size = rng.randint(5, 50)
        words = pool[at:at + size] if at + size <= len(pool) else rng.sample(corpus.keywords, size)
        at += size
        items = [w[:max(5, len(w) - 2)] + "*" if rng.random() < 0.2 else w for w in words]
        lists.append(items)
        (root / "lists" / f"l{i:05}.yaml").write_text(yaml.safe_dump({"list": f"l{i:05}", "items": items},
                                                                     allow_unicode=True))
    rule_items: list[list[str]] = []
    per_file = 100
    for start in range(0, n_rules, per_file):
        rules = []
        for r in range(start, min(n_rules, start + per_file)):
            chosen = rng.randrange(n_lists) if r >= n_lists else r
            entries = [f"list:l{chosen:05}"]
            items = list(lists[chosen])
            if rng.random() < 0.2:
                literal = rng.choice(corpus.keywords)
                entries.append(literal)
                items.append(literal)
            cont = rng.random() < 0.5
            then = {"tags": [f"t{r}"]} if cont else {"department": rng.choice(["network", "billing"]),
                                                     "category": f"c{r}"}
            rule = {"id": f"r{r:05}", "order": r * 10, "when": {"text": {"contains_any": entries}}, "then": then}
            if cont:
                rule["continue"] = True
            rules.append(rule)
            rule_items.append(items)
        (root / "rules" / f"{start:05}.yaml").write_text(yaml.safe_dump({"rules": rules}, allow_unicode=True,
                                                                        sort_keys=False))
    return rule_items


def posts(rule_items: list[list[str]], corpus: Corpus, rng: random.Random, count: int,
          hits: Callable[[str], int]) -> list[str]:
    """Posts of 10-60 words in which 1-3 rules' keywords occur; filler words that would match some
    keyword themselves are left out, so the number of matching rules is what was planted."""
    out: list[str] = []
    clean = [w for w in corpus.filler if hits(w) == 0]
    while len(out) < count:
        words = rng.choices(clean, k=rng.randint(10, 60))
        for items in rng.sample(rule_items, rng.randint(1, 3)):
            item = rng.choice(items)
            word = item[:-1] + rng.choice(["", "en", "ing"]) if item.endswith("*") else item
            words.insert(rng.randrange(len(words) + 1), word.capitalize() if rng.random() < 0.3 else word)
        out.append(" ".join(words) + rng.choice(["", "!", "?!", " 😡"]))
    return out


def classify_text(ruleset: RuleSet, text: str) -> Decision:
    """What ingest does per mention: build it and classify it."""
    return classify(ruleset, Mention(external_id="b", channel="x", text=text), NOW)


def per_call(fn: Callable[[str], object], texts: list[str], rounds: int = 3) -> float:
    """Best-of-rounds mean CPU seconds per text (process time: the machine is shared, and time
    spent waiting for a core is not the code's)."""
    best = float("inf")
    for _ in range(rounds):
        gc.collect()
        start = time.process_time()
        for t in texts:
            fn(t)
        best = min(best, (time.process_time() - start) / len(texts))
    return best


def naive_matcher(rule_items: list[list[str]]) -> Callable[[str], int]:
    """One regex per rule, tried in order: what one would write without an automaton."""
    regexes = []
    for items in rule_items:
        parts = [re.escape(i[:-1].lower()) if i.endswith("*") else re.escape(i.lower()) + r"(?!\w)" for i in items]
        regexes.append(re.compile(r"(?<!\w)(?:" + "|".join(parts) + ")"))

    def run(text: str) -> int:
        folded = text.lower()
        return sum(1 for rx in regexes if rx.search(folded))
    return run


def raw_scanner(rule_items: list[list[str]]) -> Callable[[str], int]:
    """Every keyword occurrence (overlaps included) in the lower-cased post, by one automaton:
    ahocorasick-rs, the fastest of bench/matchers.py's candidates at scanning."""
    automaton = ahocorasick_rs.AhoCorasick(list({i.rstrip("*").lower() for items in rule_items for i in items}))

    def run(text: str) -> int:
        return len(automaton.find_matches_as_indexes(text.lower(), overlapping=True))
    return run


def measure_load(folder: Path) -> dict[str, float]:
    files = sorted(p for p in folder.rglob("*.yaml"))
    texts = [p.read_text(encoding="utf-8") for p in files]

    def pure() -> None:
        for t in texts:
            yaml.load(t, Loader=yaml.SafeLoader)

    def libyaml() -> None:
        for t in texts:
            yaml.load(t, Loader=yaml.CSafeLoader)

    out = {"pyyaml": _best(pure), "pyyaml_c": _best(libyaml), "load": _best(lambda: load_ruleset(folder))}
    gc.collect()
    tracemalloc.start()
    kept = load_ruleset(folder)
    gc.collect()
    out["memory"] = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del kept
    return out


def _best(fn: Callable[[], object], rounds: int = 2) -> float:
    best = float("inf")
    for _ in range(rounds):
        gc.collect()
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--app", help="measure the engine of this checkout instead")
    args = parser.parse_args()
    print(f"engine: {Path(app.__file__).parent}")
    corpus = Corpus()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            rng = random.Random(args.seed + size)
            folder = Path(tmp) / f"rules{size}"
            rule_items = generate(folder, size, corpus, rng)
            ruleset = load_ruleset(folder)
            raw = raw_scanner(rule_items)
            texts = posts(rule_items, corpus, rng, args.posts, raw)
            matched = [len(classify_text(ruleset, t).matched_rules) for t in texts[:200]]
            engine = per_call(partial(classify_text, ruleset), texts)
            row = {"size": size, "engine": engine, "raw": per_call(raw, texts),
                   "naive": per_call(naive_matcher(rule_items), texts, rounds=1 if size >= 10000 else 3),
                   "matched": statistics.mean(matched), **measure_load(folder)}
            rows.append(row)
            print(f"{size:>6} rules: engine {row['engine'] * 1e6:8.1f} µs  raw scan {row['raw'] * 1e6:6.1f} µs  "
                  f"naive {row['naive'] * 1e6:9.1f} µs  engine/raw {row['engine'] / row['raw']:6.1f}x  "
                  f"(rules matched per post {row['matched']:.2f})", flush=True)
            print(f"{'':>13}load {row['load']:7.2f} s  PyYAML {row['pyyaml']:6.2f} s (libyaml "
                  f"{row['pyyaml_c']:5.2f} s)  load/PyYAML {row['load'] / row['pyyaml']:5.2f}x  "
                  f"memory {row['memory'] / 2**20:6.1f} MiB", flush=True)
    if len(rows) > 1:
        print(f"engine at {rows[-1]['size']} rules / at {rows[0]['size']} rules: "
              f"{rows[-1]['engine'] / rows[0]['engine']:.2f}x")


if __name__ == "__main__":
    main()
