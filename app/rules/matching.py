"""Keyword matching: items with a mode (`word`, `prefix`, `substring`), found by one multi-pattern
automaton per matcher, so that a text is scanned once whatever the number of items. The folder's
lexicon (every folded text item) is one such matcher, scanned once per mention.

All offsets here are into the text the matcher is given (the folded text, or the original text for
`cased` conditions); `FoldedText.to_original` maps folded ones back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, NamedTuple

import ahocorasick_rs

from app.rules.folding import fold, is_word_char

Mode = Literal["word", "prefix", "substring"]
MODES: tuple[Mode, ...] = ("word", "prefix", "substring")


class Item(NamedTuple):
    """One keyword as matched: `text` is folded (or exact for cased matching); a written trailing
    `*` has become mode `prefix`. `owner` is the list that defines it ("" for a literal in a rule)."""

    text: str
    mode: Mode
    owner: str


class Occurrence(NamedTuple):
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


class ItemMatcher:
    """Finds items in a text. Immutable after construction; safe to share between threads.

    Every item text goes into one Aho-Corasick automaton (ahocorasick-rs), built on the first scan
    or by `compile()`; a scan reports every place an item text occurs (overlaps included) and the
    word/prefix/substring boundaries are then checked only at those places. `occurrences` reports
    every (item, start) pair that matches, so two items matching at the same place, or an item
    overlapping itself, each count; this is what sentiment counts.
    """

    __slots__ = ("_automaton", "_by_pattern", "item_set", "items")

    def __init__(self, items: Iterable[Item]):
        self.items: tuple[Item, ...] = tuple(dict.fromkeys(items))
        self.item_set = frozenset(self.items)
        self._automaton: Any = None
        self._by_pattern: tuple[tuple[Item, ...], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.items)

    def compile(self) -> ItemMatcher:
        """Build the automaton now (the loader does this for the folder's lexicon, so that the
        first mention does not pay for it); returns self."""
        if self._automaton is None and self.items:
            by_text: dict[str, list[Item]] = {}
            for item in self.items:
                by_text.setdefault(item.text, []).append(item)
            # Publish the patterns' items before the automaton: a thread that sees the automaton
            # sees them too. Two threads may both build; either result is the same.
            self._by_pattern = tuple(tuple(items) for items in by_text.values())
            self._automaton = ahocorasick_rs.AhoCorasick(list(by_text))
        return self

    @property
    def automaton(self) -> Any:
        """The compiled automaton (None when there are no items): pattern ids index `patterns`."""
        return self.compile()._automaton

    @property
    def patterns(self) -> tuple[tuple[Item, ...], ...]:
        """Per automaton pattern (a distinct item text), its items in item order."""
        return self.compile()._by_pattern

    def found(self, text: str) -> bool:
        """Whether any item occurs in `text`."""
        return bool(self.occurrences(text))

    def occurrences(self, text: str) -> tuple[Occurrence, ...]:
        """Every occurrence, ordered by start, then by end, then by item order."""
        if not self.items:
            return ()
        automaton = self._automaton if self._automaton is not None else self.compile()._automaton
        by_pattern = self._by_pattern
        n = len(text)
        found: list[Occurrence] = []
        for pattern, start, end in automaton.find_matches_as_indexes(text, overlapping=True):
            bounded_start = start == 0 or not is_word_char(text[start - 1])
            bounded_end = end == n or not is_word_char(text[end])
            for item in by_pattern[pattern]:
                if item.mode == "substring" or (bounded_start and (item.mode == "prefix" or bounded_end)):
                    found.append(Occurrence(item, start, end))
        if len(found) > 1:
            found.sort(key=_place)  # stable: the items of one text keep their order
        return tuple(found)


def _place(o: Occurrence) -> tuple[int, int]:
    return o.start, o.end


def sentiment(weights: Mapping[str, int], occurrences: Iterable[Occurrence]) -> int:
    """Sum of the owner list's weight for every occurrence of an item of a weighted list."""
    return sum(weights.get(o.item.owner, 0) for o in occurrences)
