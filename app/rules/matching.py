"""Keyword matching: items with a mode (`word`, `prefix`, `substring`), compiled per list into one
regular expression so that a text is scanned once per list, whatever the number of items.

All offsets here are into the text the matcher is given (the folded text, or the original text for
`cased` conditions); `FoldedText.to_original` maps folded ones back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from app.rules.folding import fold, is_word_char

Mode = Literal["word", "prefix", "substring"]
MODES: tuple[Mode, ...] = ("word", "prefix", "substring")


@dataclass(frozen=True, slots=True)
class Item:
    """One keyword as matched: `text` is folded (or exact for cased matching); a written trailing
    `*` has become mode `prefix`. `owner` is the list that defines it ("" for a literal in a rule)."""

    text: str
    mode: Mode
    owner: str


@dataclass(frozen=True, slots=True)
class Occurrence:
    """Where an item matched: [start, end) in the matched text."""

    item: Item
    start: int
    end: int


def make_item(written: str, mode: Mode, owner: str, *, cased: bool = False) -> Item | None:
    """The item for a written keyword, or None when nothing is left to match (empty, or `*`)."""
    text = written.strip()
    if text.endswith("*"):
        text = text[:-1].rstrip()
        if mode == "word":
            mode = "prefix"
    if not cased:
        text = fold(text).strip()
    return Item(text, mode, owner) if text else None


def _pattern(item: Item) -> str:
    body = re.escape(item.text)
    if item.mode == "substring":
        return body
    if item.mode == "prefix":
        return r"(?<!\w)" + body
    return r"(?<!\w)" + body + r"(?!\w)"


class ItemMatcher:
    """Finds items in a text. Immutable after construction; safe to share between threads.

    `occurrences` reports every (item, start) pair that matches, so two items matching at the same
    place, or an item overlapping itself, each count; this is what sentiment counts.
    """

    __slots__ = ("_by_first", "_regex", "items")

    def __init__(self, items: Iterable[Item]):
        self.items: tuple[Item, ...] = tuple(dict.fromkeys(items))
        texts = sorted({_pattern(i) for i in self.items}, key=lambda p: (-len(p), p))
        # A zero-width lookahead finds every start position where some item matches, overlapping
        # ones included; the per-position check below then tells which items they are.
        self._regex = re.compile("(?=" + "|".join(texts) + ")") if texts else None
        by_first: dict[str, list[Item]] = {}
        for item in self.items:
            by_first.setdefault(item.text[0], []).append(item)
        self._by_first = {k: tuple(v) for k, v in by_first.items()}

    def __bool__(self) -> bool:
        return bool(self.items)

    def found(self, text: str) -> bool:
        """Whether any item occurs in `text`."""
        return self._regex is not None and self._regex.search(text) is not None

    def occurrences(self, text: str) -> tuple[Occurrence, ...]:
        """Every occurrence, ordered by start, then by item order."""
        if self._regex is None:
            return ()
        out: list[Occurrence] = []
        n = len(text)
        for m in self._regex.finditer(text):
            start = m.start()
            for item in self._by_first.get(text[start], ()):
                end = start + len(item.text)
                if not text.startswith(item.text, start):
                    continue
                if item.mode != "substring" and start > 0 and is_word_char(text[start - 1]):
                    continue
                if item.mode == "word" and end < n and is_word_char(text[end]):
                    continue
                out.append(Occurrence(item, start, end))
        return tuple(out)


def sentiment(weighted: Sequence[tuple[int, ItemMatcher]], folded: str) -> int:
    """Sum of weight × occurrences of each weighted list's own items in the folded text."""
    total = 0
    for weight, matcher in weighted:
        if matcher.found(folded):
            total += weight * len(matcher.occurrences(folded))
    return total
