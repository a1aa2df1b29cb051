"""Text folding (SPEC §1 "Matching text") and the map from folded offsets back to the original.

fold = NFKC, case fold, NFKD with combining marks dropped, whitespace runs collapsed to one space.
Items and texts are folded by the same function, so comparisons ignore case and diacritics.
"""

from __future__ import annotations

import re
import unicodedata

_WHITESPACE = re.compile(r"\s+")
# Where folding is not one ASCII character to one: whitespace other than a single space, and
# non-ASCII runs.
_IRREGULAR = re.compile(r"[^\S ]\s*| \s+|[^\x00-\x7f\s]+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _fold_chars(text: str) -> str:
    """NFKC, case fold, NFKD, combining marks dropped; whitespace untouched."""
    if text.isascii():  # the common case: NFKC and NFKD are the identity, casefold is lower
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    # Only non-ASCII runs can hold combining marks; filtering just those keeps this in C mostly.
    return _NON_ASCII.sub(_drop_marks, decomposed)


def _drop_marks(m: re.Match[str]) -> str:
    return "".join(c for c in m.group() if not unicodedata.combining(c))


def fold(text: str) -> str:
    """The folded form of `text`. Idempotent: fold(fold(t)) == fold(t)."""
    folded = _fold_chars(text)
    return folded if _single_spaced(folded) else _WHITESPACE.sub(" ", folded)


def _single_spaced(text: str) -> bool:
    """Whether the only whitespace in `text` is single spaces (then collapsing whitespace runs
    changes nothing). Every whitespace character but the space is unprintable, so two C scans
    answer this, several times faster than the collapsing regex on a text that needs none."""
    return text.isprintable() and "  " not in text


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

    __slots__ = ("_offsets", "_regular", "folded", "original")

    def __init__(self, original: str):
        self.original = original
        self.folded = fold(original)
        self._regular = -1  # computed on the first `to_original`
        self._offsets: tuple[list[int], list[int]] | None = None

    def _regular_prefix(self) -> int:
        # How many leading characters fold one to one (ASCII, single spaces), their offsets the
        # same in both texts: spans that end there need no offset map. Two C scans; for other
        # texts (0) each span's own prefix is looked at instead (`_regular_until`).
        original = self.original
        return len(original) if original.isascii() and _single_spaced(original) else 0

    def _regular_until(self, end: int) -> bool:
        """Whether the first `end` original characters fold one to one and the last of them is not
        extended by what follows (combining marks join the letter before them; a space before
        more whitespace owns the whole run)."""
        head = self.original[:end]
        if not (head.isascii() and _single_spaced(head)):
            return False
        if end == len(self.original):
            return True
        after = self.original[end]
        if head.endswith(" "):  # what follows may fold to (or be) more whitespace (U+00A8 -> " \u0308")
            return after.isascii() and not after.isspace()
        return not unicodedata.combining(after)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Original [start, end) for folded [start, end); an empty folded range maps to an empty
        original range at the corresponding position."""
        if self._regular < 0:
            self._regular = self._regular_prefix()
        if start < end and (end <= self._regular or self._regular_until(end)):
            return start, end
        if self._offsets is None:
            _, starts, ends = _offset_map(self.original)
            self._offsets = starts, ends
        starts, ends = self._offsets
        if not starts:
            return 0, 0
        if end <= start:
            pos = starts[start] if start < len(starts) else len(self.original)
            return pos, pos
        return starts[start], ends[end - 1]


def _offset_map(original: str) -> tuple[str, list[int], list[int]]:
    """The folded text and, for each folded character, the original [start, end) it came from.

    ASCII stretches with single spaces map one to one and are copied in bulk. Whitespace runs
    become one space that owns the whole run. Non-ASCII text is cut into clusters (a character and
    the combining marks after it), each folded on its own; that gives the same characters as
    folding the whole text because the final NFKD decomposes whatever NFKC composed across
    clusters (a property test checks this).
    """
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for m in _IRREGULAR.finditer(original):
        i, j = m.span()
        if pos < i:
            _append_regular(original, pos, i, chars, starts, ends)
        if original[i].isspace():
            _append_space(chars, starts, ends, i, j)
        else:
            _map_clusters(original, i, j, chars, starts, ends)
        pos = j
    if pos < len(original):
        _append_regular(original, pos, len(original), chars, starts, ends)
    return "".join(chars), starts, ends


def _append_regular(original: str, i: int, j: int, chars: list[str], starts: list[int], ends: list[int]) -> None:
    if original[i] == " " and chars and chars[-1].endswith(" "):
        ends[-1] = i + 1
        i += 1
        if i == j:
            return
    chars.append(original[i:j].lower())
    starts.extend(range(i, j))
    ends.extend(range(i + 1, j + 1))


def _append_space(chars: list[str], starts: list[int], ends: list[int], i: int, j: int) -> None:
    if chars and chars[-1].endswith(" "):
        ends[-1] = j
    else:
        chars.append(" ")
        starts.append(i)
        ends.append(j)


def _map_clusters(original: str, i: int, stop: int, chars: list[str], starts: list[int], ends: list[int]) -> None:
    # Combining marks right after an ASCII letter belong to that letter's cluster.
    while i < stop and ends and ends[-1] == i and unicodedata.combining(original[i]):
        ends[-1] = i = i + 1
    while i < stop:
        j = i + 1
        while j < stop and unicodedata.combining(original[j]):
            j += 1
        for c in _fold_chars(original[i:j]):
            if c.isspace():  # NFKC can turn a character into a space (e.g. U+2003 is not \s)
                _append_space(chars, starts, ends, i, j)
            else:
                chars.append(c)
                starts.append(i)
                ends.append(j)
        i = j


def folded_with_map(original: str) -> tuple[str, list[int], list[int]]:
    """The folded text rebuilt cluster by cluster, with the start and end maps (for tests and
    tools; `FoldedText` is the interface for matching)."""
    return _offset_map(original)
