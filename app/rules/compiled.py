"""The compiled half of classification: one scan of the folded text by the folder's lexicon
automaton, then only the rules the keyword hits allow.

Everything a keyword hit can mean is worked out at load, per automaton pattern (a distinct folded
item text) and per boundary outcome at the place it was found (neither end on a word boundary,
only the start, both): the items that then occur, their sentiment weight, and the rules that may
then hold. A scan therefore does, per hit, at most two character tests and one tuple lookup.

Rules fall in three kinds:
- *keyword rules* (`when` is a single folded `text: contains_any`): they hold exactly when one of
  their items occurs, so they are decided by the scan alone and their spans are those items' hits;
- *anchored rules* (other conditions that need some folded text item, `needed_items`): evaluated,
  with the full `Context`, only when one of the items they need occurs;
- every other rule is evaluated for every mention.

Evaluating these candidates in order gives exactly the decision of evaluating every rule: a rule
left out would have failed on a keyword it lacks. `tests/rules/test_compiled.py` checks this
against `explain`, which evaluates every rule with the plain `ItemMatcher` scan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from app.rules.conditions import All, AnyOf, Check, Cond
from app.rules.matching import Item, ItemMatcher, Occurrence

# What a pattern means at one place: the rule positions that may then hold, the summed sentiment
# weight of the items that then occur, and those items (in the lexicon's order).
Meaning = tuple[tuple[int, ...], int, tuple[Item, ...]]
NOTHING: Meaning = ((), 0, ())
# Per pattern: its meaning when neither end is bounded, when only the start is, when both are.
Meanings = tuple[Meaning, Meaning, Meaning]
Hit = tuple[Meaning, int, int]


class Scan(NamedTuple):
    """What the lexicon found in one folded text: the hits that mean something, in the
    automaton's order, and the sentiment they add up to."""

    hits: list[Hit]
    sentiment: int

    def occurrences(self) -> tuple[Occurrence, ...]:
        """The same occurrences, in the same order, as `ItemMatcher.occurrences` of the lexicon."""
        found = [Occurrence(item, start, end) for (_, _, items), start, end in self.hits for item in items]
        if len(found) > 1:
            found.sort(key=_place)  # stable, as ItemMatcher's
        return tuple(found)

    def folded_spans(self, position: int) -> list[tuple[int, int]]:
        """Where the items that make the rule at `position` a candidate were found (folded text)."""
        return [(start, end) for (positions, _, _), start, end in self.hits if position in positions]


def _place(o: Occurrence) -> tuple[int, int]:
    return o.start, o.end


class CompiledRules:
    """The lexicon's automaton with, per pattern, what a hit means. Immutable; thread-safe."""

    __slots__ = ("_automaton", "_meanings", "always", "keyword")

    def __init__(self, lexicon: ItemMatcher, weights: Mapping[str, int], whens: Sequence[Cond]):
        always: list[int] = []
        keyword: list[bool] = []
        by_item: dict[Item, list[int]] = {}
        for position, when in enumerate(whens):
            needed = needed_items(when)
            keyword.append(keyword_check(when) is not None)
            if needed is None:
                always.append(position)
            for item in needed or ():
                by_item.setdefault(item, []).append(position)
        self.always = tuple(always)
        self.keyword = tuple(keyword)
        """Per rule position: whether the scan alone decides it (a keyword rule)."""
        lexicon.compile()
        self._automaton = lexicon.automaton
        meanings: list[Meanings] = []
        for items in lexicon.patterns:
            if all(i.mode == "substring" for i in items):
                # One object for every outcome: the scan sees that and checks no boundary.
                anywhere = _meaning(list(items), weights, by_item)
                meanings.append((anywhere, anywhere, anywhere))
                continue
            first, second, third = (_meaning([i for i in items if _level(i) <= level], weights, by_item)
                                    for level in range(3))
            meanings.append((first, second, third))
        self._meanings = tuple(meanings)

    def scan(self, folded: str) -> Scan:
        """Every hit of the lexicon in `folded` that makes some item occur."""
        if self._automaton is None:
            return Scan([], 0)
        meanings = self._meanings
        n = len(folded)
        hits: list[Hit] = []
        sentiment = 0
        for pattern, start, end in self._automaton.find_matches_as_indexes(folded, overlapping=True):
            levels = meanings[pattern]
            # The word-character test is `is_word_char`, written out: this runs once per hit.
            if levels[0] is levels[2] or (start and ((c := folded[start - 1]).isalnum() or c == "_")):
                meaning = levels[0]
            elif end < n and ((c := folded[end]).isalnum() or c == "_"):
                meaning = levels[1]
            else:
                meaning = levels[2]
            if meaning[2]:
                hits.append((meaning, start, end))
                sentiment += meaning[1]
        return Scan(hits, sentiment)

    def candidates(self, scan: Scan) -> list[int]:
        """Positions of the rules that may hold given the scan, in evaluation order."""
        if not scan.hits:
            return list(self.always)
        found = set(self.always)
        for (positions, _, _), _, _ in scan.hits:
            found.update(positions)
        return sorted(found)


def _level(item: Item) -> int:
    """The first `Meanings` entry in which `item` occurs: how many ends of a hit must be on a word
    boundary (a prefix item needs its start, a word item both)."""
    return {"substring": 0, "prefix": 1, "word": 2}[item.mode]


def _meaning(items: list[Item], weights: Mapping[str, int], by_item: Mapping[Item, list[int]]) -> Meaning:
    if not items:
        return NOTHING
    positions = sorted({p for i in items for p in by_item.get(i, ())})
    return tuple(positions), sum(weights.get(i.owner, 0) for i in items), tuple(items)


def keyword_check(cond: Cond) -> Check | None:
    """The folded `text: contains_any` check that is the whole of `cond`, or None: such a
    condition holds exactly when one of its items occurs, and its spans are their occurrences."""
    while isinstance(cond, All) and len(cond.children) == 1:
        cond = cond.children[0]
    if isinstance(cond, Check) and cond.field == "text" and cond.op == "contains_any" and not cond.cased:
        return cond
    return None


def needed_items(cond: Cond) -> frozenset[Item] | None:
    """Items of which at least one must occur in the folded text for `cond` to hold, or None when
    the condition can hold without any (then its rule is always evaluated)."""
    if isinstance(cond, Check):
        if cond.field != "text" or cond.cased:
            return None
        if cond.op == "contains_any":
            return frozenset(i for e in cond.operand for i in e.matcher.items)
        if cond.op == "contains_all":
            # Every entry must be found; the smallest one is the most selective requirement.
            return min((frozenset(e.matcher.items) for e in cond.operand), key=len)
        return None
    if isinstance(cond, All):
        options = [n for n in (needed_items(c) for c in cond.children) if n is not None]
        return min(options, key=len) if options else None
    if isinstance(cond, AnyOf):
        parts = [needed_items(c) for c in cond.children]
        if not parts or any(p is None for p in parts):
            return None
        return frozenset().union(*(p for p in parts if p is not None))
    return None

