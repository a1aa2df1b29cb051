"""Folded word n-grams: what list suggestions and the suggested department read in a text. Pure."""

from __future__ import annotations

from itertools import pairwise

from app.rules.folding import fold, is_word_char

MIN_WORD = 2  # shorter unigrams carry nothing ("ik", "je" are two letters and still too common)


def words(text: str) -> list[str]:
    """The folded words of `text` (runs of word characters, as the rule engine's boundaries)."""
    out: list[str] = []
    current: list[str] = []
    for c in fold(text):
        if is_word_char(c):
            current.append(c)
        elif current:
            out.append("".join(current))
            current = []
    if current:
        out.append("".join(current))
    return out


def ngrams(text: str) -> list[str]:
    """The unigrams (longer than two characters, not only digits) and bigrams (each word not
    only digits) of `text`, in order, repeats kept."""
    tokens = words(text)
    unigrams = [w for w in tokens if len(w) > MIN_WORD and not w.isdigit()]
    bigrams = [f"{a} {b}" for a, b in pairwise(tokens) if not a.isdigit() and not b.isdigit()]
    return unigrams + bigrams
