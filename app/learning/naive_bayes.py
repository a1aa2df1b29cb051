"""The suggested department: multinomial naive Bayes over folded word n-grams. Pure.

Trained on the cases that fell to the default (no rule decided) and where they ended: the
department a person handed them to, or the triage department when they were resolved or closed
without a move. It answers, for a new such case, where people are likely to send it, with the
posterior probability as its confidence. It never routes: callers show it next to the case.

Silence is part of the contract: no suggestion below `MIN_EXAMPLES` training cases in all or
`MIN_CLASS_EXAMPLES` for the suggested department, below `MIN_CONFIDENCE`, or when the most likely
department is the one the case is with already.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.learning.history import Outcome
from app.learning.terms import ngrams

MIN_EXAMPLES = 30
MIN_CLASS_EXAMPLES = 5
MIN_CONFIDENCE = 0.6
MAX_TERMS = 20_000  # the most frequent terms kept: bounds the stored model
SMOOTHING = 1.0
CLOSED = frozenset({"resolved", "closed"})


@dataclass(frozen=True)
class DepartmentModel:
    """Per department: the training cases (`documents`), each term's count and the total count."""

    documents: dict[str, int]
    term_counts: dict[str, dict[str, int]]
    totals: dict[str, int]
    vocabulary: int

    @property
    def examples(self) -> int:
        return sum(self.documents.values())

    def to_json(self) -> dict[str, Any]:
        return {"documents": self.documents, "term_counts": self.term_counts, "totals": self.totals,
                "vocabulary": self.vocabulary}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DepartmentModel:
        return cls({k: int(v) for k, v in data["documents"].items()},
                   {d: {t: int(n) for t, n in terms.items()} for d, terms in data["term_counts"].items()},
                   {k: int(v) for k, v in data["totals"].items()}, int(data["vocabulary"]))


@dataclass(frozen=True, slots=True)
class Suggested:
    department: str
    confidence: float  # the posterior probability, 0..1, rounded to 3 places
    examples: int  # training cases that went to `department`


def training_examples(outcomes: Sequence[Outcome]) -> list[tuple[str, str]]:
    """(text, department) for each case that fell to the default and has an answer: handed on by
    a person (where to), or resolved or closed where it was."""
    out = []
    for o in outcomes:
        if not o.fell_to_default or not o.text.strip():
            continue
        if o.moved_by_person:
            out.append((o.text, o.final_department))
        elif o.status in CLOSED:
            out.append((o.text, o.rules_department))
    return out


def train(examples: Sequence[tuple[str, str]], *, max_terms: int = MAX_TERMS) -> DepartmentModel:
    """The model of `examples` ((text, department) pairs), keeping the `max_terms` most frequent terms."""
    documents: Counter[str] = Counter()
    per_class: dict[str, Counter[str]] = {}
    overall: Counter[str] = Counter()
    for text, department in examples:
        terms = ngrams(text)
        documents[department] += 1
        per_class.setdefault(department, Counter()).update(terms)
        overall.update(terms)
    kept = {t for t, _ in sorted(overall.items(), key=lambda kv: (-kv[1], kv[0]))[:max_terms]}
    counts = {d: {t: n for t, n in c.items() if t in kept} for d, c in per_class.items()}
    return DepartmentModel(dict(documents), counts, {d: sum(c.values()) for d, c in counts.items()}, len(kept))


def posteriors(model: DepartmentModel, text: str) -> list[tuple[str, float]]:
    """Each department's probability for `text`, most likely first (empty for an empty model)."""
    if not model.documents:
        return []
    terms = [t for t in ngrams(text) if any(t in c for c in model.term_counts.values())]
    total_docs = model.examples
    scores = {}
    for department, docs in model.documents.items():
        counts = model.term_counts.get(department, {})
        denominator = math.log(model.totals.get(department, 0) + SMOOTHING * model.vocabulary)
        scores[department] = math.log(docs / total_docs) + sum(
            math.log(counts.get(t, 0) + SMOOTHING) - denominator for t in terms)
    top = max(scores.values())
    weights = {d: math.exp(s - top) for d, s in scores.items()}
    norm = sum(weights.values())
    return sorted(((d, w / norm) for d, w in weights.items()), key=lambda kv: (-kv[1], kv[0]))


def suggest_department(model: DepartmentModel | None, text: str, *, current: str,
                       min_examples: int = MIN_EXAMPLES, min_class_examples: int = MIN_CLASS_EXAMPLES,
                       min_confidence: float = MIN_CONFIDENCE) -> Suggested | None:
    """Where people would likely send a case with `text` that is with `current` now, or None (see
    the module docstring for when it stays silent)."""
    if model is None or model.examples < min_examples or not text.strip():
        return None
    ranked = posteriors(model, text)
    if not ranked:
        return None
    department, probability = ranked[0]
    examples = model.documents.get(department, 0)
    if department == current or probability < min_confidence or examples < min_class_examples:
        return None
    return Suggested(department, round(probability, 3), examples)
