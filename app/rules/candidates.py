"""Which rules can hold for a mention, from the keyword hits alone: the compiled half of
evaluation. A rule whose condition needs a folded `text` keyword (a `contains_any` /
`contains_all` it cannot do without) is a candidate only when one of those keywords was found by
the lexicon scan; every other rule is always a candidate. Evaluating only the candidates, in
order, gives exactly the decision of evaluating every rule, because a rule left out would have
failed on the keyword it lacks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from app.rules.conditions import All, AnyOf, Check, Cond
from app.rules.matching import Item, Occurrence


class RuleIndex:
    """Rule positions by the keyword texts that can make them hold. Immutable; thread-safe.

    Keyed by an item's folded text (whatever its mode and list): a found text makes candidates of
    the rules needing any item with that text, a few more than needed at worst, never fewer; and a
    string's hash is cached where an item tuple's is not, which matters once per hit."""

    __slots__ = ("always", "by_text")

    def __init__(self, whens: Sequence[Cond]):
        always: list[int] = []
        by_text: dict[str, set[int]] = {}
        for position, when in enumerate(whens):
            needed = needed_items(when)
            if needed is None:
                always.append(position)
            for item in needed or ():
                by_text.setdefault(item.text, set()).add(position)
        self.always = tuple(always)
        self.by_text = {text: tuple(sorted(positions)) for text, positions in by_text.items()}

    def candidates(self, hits: Iterable[Occurrence]) -> list[int]:
        """Positions of the rules that may hold given the lexicon's hits, in evaluation order."""
        found: set[int] | None = None
        by_text = self.by_text
        for occurrence in hits:
            positions = by_text.get(occurrence.item.text)
            if positions:
                if found is None:
                    found = set(self.always)
                found.update(positions)
        return list(self.always) if found is None else sorted(found)


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
