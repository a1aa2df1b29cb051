"""Multi-pattern matchers for the rule engine's keyword scan: `.venv/bin/python bench/matchers.py`.

Builds each candidate over N keywords (real Dutch and English words from wordfreq, lower-cased)
and finds every overlapping occurrence, with code-point offsets, in posts of 10-60 words: what
`app.rules.matching` needs (boundaries and modes are checked on the hits afterwards). Candidates
that are not installed are skipped: `pip install pyahocorasick ahocorasick-rs hyperscan`.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable

import wordfreq

Scan = Callable[[str], list[tuple[int, int]]]


def pyahocorasick_scan(words: list[str]) -> Scan:
    import ahocorasick

    automaton = ahocorasick.Automaton()
    for w in words:
        automaton.add_word(w, len(w))
    automaton.make_automaton()
    return lambda text: [(end + 1 - length, end + 1) for end, length in automaton.iter(text)]


def ahocorasick_rs_scan(words: list[str]) -> Scan:
    import ahocorasick_rs

    matcher = ahocorasick_rs.AhoCorasick(words)
    return lambda text: [(s, e) for _, s, e in matcher.find_matches_as_indexes(text, overlapping=True)]


def hyperscan_scan(words: list[str]) -> Scan:
    import hyperscan

    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    expressions = [w.encode() for w in words]
    flags = [hyperscan.HS_FLAG_SOM_LEFTMOST] * len(words)
    db.compile(expressions=expressions, ids=list(range(len(words))), elements=len(words), flags=flags,
               literal=True)
    scratch = hyperscan.Scratch(db)

    def scan(text: str) -> list[tuple[int, int]]:
        data = text.encode()
        hits: list[tuple[int, int]] = []
        db.scan(data, match_event_handler=lambda _id, s, e, _f, _c: hits.append((s, e)) and None,
                scratch=scratch)
        if not text.isascii():  # byte offsets to code points
            return [(len(data[:s].decode()), len(data[:e].decode())) for s, e in hits]
        return hits

    return scan


def main() -> None:
    sizes = [int(s) for s in (sys.argv[1] if len(sys.argv) > 1 else "3000,30000,270000").split(",")]
    words = list(dict.fromkeys(w for lang in ("nl", "en") for w in wordfreq.top_n_list(lang, 200000)
                               if len(w) >= 5 and w.isalpha()))
    filler = wordfreq.top_n_list("nl", 1500) + wordfreq.top_n_list("en", 1500)
    rng = random.Random(7)
    for size in sizes:
        chosen = rng.sample(words, min(size, len(words)))
        posts = []
        for _ in range(2000):
            post = rng.choices(filler, k=rng.randint(10, 60)) + rng.sample(chosen, rng.randint(1, 3))
            rng.shuffle(post)
            posts.append(" ".join(post))
        print(f"{len(chosen)} keywords")
        for name, make in (("pyahocorasick", pyahocorasick_scan), ("ahocorasick-rs", ahocorasick_rs_scan),
                           ("hyperscan", hyperscan_scan)):
            try:
                start = time.perf_counter()
                scan = make(chosen)
                built = time.perf_counter() - start
            except ImportError:
                print(f"  {name:<15} not installed")
                continue
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                for p in posts:
                    scan(p)
                best = min(best, (time.perf_counter() - start) / len(posts))
            print(f"  {name:<15} build {built:6.2f} s   scan {best * 1e6:6.1f} µs per post", flush=True)


if __name__ == "__main__":
    main()
