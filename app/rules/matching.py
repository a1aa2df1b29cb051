"""Keyword matching: items with a mode (`word`, `prefix`, `substring`), compiled per list into one
regular expression so that a text is scanned once per list, whatever the number of items.

All offsets here are into the text the matcher is given (the folded text, or the original text for
`cased` conditions); `FoldedText.to_original` maps folded ones back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal, NamedTuple

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

    One regular expression (a plain alternation of the literal items, so the engine can skip ahead
    on their first characters) finds candidate positions; boundaries and modes are then checked
    only there. `occurrences` reports every (item, start) pair that matches, so two items matching
    at the same place, or an item overlapping itself, each count; this is what sentiment counts.
    """

    __slots__ = ("_regex", "_trie", "item_set", "items")

    def __init__(self, items: Iterable[Item]):
        self.items: tuple[Item, ...] = tuple(dict.fromkeys(items))
        self.item_set = frozenset(self.items)
        self._regex = re.compile(trie_pattern(i.text for i in self.items)) if self.items else None
        # A character trie; the "" key of a node holds the items that end there.
        self._trie: dict[str, Any] = {}
        for item in self.items:
            node = self._trie
            for c in item.text:
                node = node.setdefault(c, {})
            node[""] = (*node.get("", ()), item)

    def __bool__(self) -> bool:
        return bool(self.items)

    def found(self, text: str) -> bool:
        """Whether any item occurs in `text`."""
        return any(True for _ in self._scan(text))

    def occurrences(self, text: str) -> tuple[Occurrence, ...]:
        """Every occurrence, ordered by start, then by item order."""
        return tuple(self._scan(text))

    def _scan(self, text: str) -> Iterator[Occurrence]:
        if self._regex is None:
            return
        search = self._regex.search
        n = len(text)
        m = search(text)
        while m is not None:
            start = m.start()
            bounded_start = start == 0 or not is_word_char(text[start - 1])
            node: dict[str, Any] | None = self._trie
            end = start
            while node is not None:
                for item in node.get("", ()):
                    if item.mode == "substring" or (bounded_start and (
                            item.mode == "prefix" or end == n or not is_word_char(text[end]))):
                        yield Occurrence(item, start, end)
                if end == n:
                    break
                node = node.get(text[end])
                end += 1
            m = search(text, start + 1)


def trie_pattern(texts: Iterable[str]) -> str:
    """A regular expression matching any of `texts`, factored as a trie (`ab|ac` → `a(?:b|c)`), so
    the engine compares each position against a handful of first characters instead of every item."""
    trie: dict[str, Any] = {}
    for text in texts:
        node = trie
        for c in text:
            node = node.setdefault(c, {})
        node[""] = {}
    return _trie_regex(trie)


def _trie_regex(node: dict[str, Any]) -> str:
    ends = "" in node
    branches = [re.escape(c) + _trie_regex(child) for c, child in sorted(node.items()) if c]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if ends:  # a shorter item ends here; longer ones are tried first
        return f"(?:{body})?" if len(branches) > 1 or len(body) > 1 else body + "?"
    return body


def sentiment(weights: Mapping[str, int], occurrences: Iterable[Occurrence]) -> int:
    """Sum of the owner list's weight for every occurrence of an item of a weighted list."""
    return sum(weights.get(o.item.owner, 0) for o in occurrences)
