"""List items that separate the misrouted mentions of a department from the rest. Pure.

For each department people moved cases to (away from the rules' choice, or from the default), the
positives are those cases' texts and the negatives every case that ended elsewhere. A term (a
folded unigram or bigram) is scored by its log-odds ratio between the two, each side smoothed by
`PRIOR`: log((a+α)/(P−a+α)) − log((b+α)/(N−b+α)) with a of P positives and b of N negatives
containing it. Terms found in fewer than `min_support` positives, scoring below `min_score`, or
already matched by the department's lists are left out; a bigram is dropped when one of its words
was chosen, and the other way round.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from app.learning.history import Outcome
from app.learning.terms import ngrams

PRIOR = 0.5
MIN_SUPPORT = 3
MIN_SCORE = 1.5
LIMIT = 10


@dataclass(frozen=True, slots=True)
class Term:
    term: str
    score: float
    support: int  # positives containing it
    elsewhere: int  # negatives containing it


@dataclass(frozen=True, slots=True)
class Suggestion:
    """Items for `department`, learned from `cases` misrouted mentions (`examples`: their refs)."""

    department: str
    cases: int
    terms: tuple[Term, ...]
    examples: tuple[str, ...]


def separating_terms(positives: Sequence[str], negatives: Sequence[str], *, min_support: int = MIN_SUPPORT,
                     min_score: float = MIN_SCORE, limit: int = LIMIT,
                     known: Callable[[str], bool] = lambda term: False) -> list[Term]:
    """The best-separating terms of `positives` against `negatives`, best first (ties: more
    support, then alphabetical); `known` terms (already in the lists) are skipped."""
    pos = _document_counts(positives)
    neg = _document_counts(negatives)
    p, n = len(positives), len(negatives)
    scored = []
    for term, a in pos.items():
        if a < min_support or known(term):
            continue
        b = neg.get(term, 0)
        score = math.log((a + PRIOR) / (p - a + PRIOR)) - math.log((b + PRIOR) / (n - b + PRIOR))
        if score >= min_score:
            scored.append(Term(term, round(score, 3), a, b))
    scored.sort(key=lambda t: (-t.score, -t.support, t.term))
    chosen: list[Term] = []
    for candidate in scored:
        if len(chosen) == limit:
            break
        parts = set(candidate.term.split(" "))
        if any(parts & set(t.term.split(" ")) for t in chosen):
            continue
        chosen.append(candidate)
    return chosen


def suggestions(outcomes: Sequence[Outcome], *, known: Callable[[str, str], bool] = lambda d, t: False,
                min_support: int = MIN_SUPPORT, examples: int = 3) -> list[Suggestion]:
    """Per department that people moved cases to, the terms that separate those mentions from the
    cases that ended elsewhere; departments with the most such cases first. `known(department,
    term)` says whether that department's lists already match the term."""
    moved = [o for o in outcomes if o.moved_by_person and not o.stayed]
    out = []
    for department, count in sorted(Counter(o.final_department for o in moved).items(), key=lambda kv: (-kv[1], kv[0])):
        positives = [o for o in moved if o.final_department == department]
        negatives = [o.text for o in outcomes if o.final_department != department]
        terms = separating_terms([o.text for o in positives], negatives, min_support=min_support,
                                 known=partial(known, department))
        newest = sorted(positives, key=lambda o: (o.created_at, o.ref), reverse=True)
        out.append(Suggestion(department, count, tuple(terms), tuple(o.ref for o in newest[:examples])))
    return out


def _document_counts(texts: Sequence[str]) -> Counter[str]:
    """In how many of `texts` each term occurs."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(set(ngrams(text)))
    return counts
