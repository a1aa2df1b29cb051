"""Text folding (SPEC §1 "Matching text") and the map from folded offsets back to the original.

fold = NFKC, case fold, NFKD with combining marks dropped, whitespace runs collapsed to one space.
Items and texts are folded by the same function, so comparisons ignore case and diacritics.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cached_property

_WHITESPACE = re.compile(r"\s+")


def _fold_chars(text: str) -> str:
    """NFKC, case fold, NFKD, combining marks dropped; whitespace untouched."""
    if text.isascii():  # the common case: NFKC and NFKD are the identity, casefold is lower
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str) -> str:
    """The folded form of `text`. Idempotent: fold(fold(t)) == fold(t)."""
    return _WHITESPACE.sub(" ", _fold_chars(text))


def is_word_char(c: str) -> bool:
    """A letter, digit or underscore (Python's `\\w` is exactly this set)."""
    return c.isalnum() or c == "_"


class FoldedText:
    """A text with its folded form and, computed only when spans are asked for, the map from
    folded offsets to original code-point offsets.

    Guarantee: for a match [fs, fe) in `folded`, `to_original(fs, fe)` is the smallest [os, oe) of
    whole original characters whose folding covers it; folding never splits an original character
    (with its combining marks) across two folded positions' owners.
    """

    __slots__ = ("__dict__", "original")

    def __init__(self, original: str):
        self.original = original

    @cached_property
    def folded(self) -> str:
        return fold(self.original)

    @cached_property
    def _offsets(self) -> tuple[list[int], list[int]]:
        _, starts, ends = _offset_map(self.original)
        return starts, ends

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Original [start, end) for folded [start, end); an empty folded range maps to an empty
        original range at the corresponding position."""
        starts, ends = self._offsets
        if not starts:
            return 0, 0
        if end <= start:
            pos = starts[start] if start < len(starts) else len(self.original)
            return pos, pos
        return starts[start], ends[end - 1]


def _offset_map(original: str) -> tuple[str, list[int], list[int]]:
    """The folded text and, for each folded character, the original [start, end) it came from.

    The original is cut into clusters (a character and the combining marks after it); each cluster
    is folded on its own, which gives the same characters as folding the whole text because the
    final NFKD decomposes whatever NFKC composed across clusters (a property test checks this).
    A whitespace run collapses into one space that owns the whole run.
    """
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(original)
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(original[j]):
            j += 1
        for c in _fold_chars(original[i:j]):
            if c.isspace():
                if chars and chars[-1] == " ":
                    ends[-1] = j
                    continue
                c = " "
            chars.append(c)
            starts.append(i)
            ends.append(j)
        i = j
    return "".join(chars), starts, ends


def folded_with_map(original: str) -> tuple[str, list[int], list[int]]:
    """The folded text rebuilt cluster by cluster, with the start and end maps (for tests and
    tools; `FoldedText` is the interface for matching)."""
    return _offset_map(original)
