"""What one condition guarantees about another, decided from the compiled conditions alone (no
mention needed). Every answer is sound: `implies` returns True only when the first condition
holding always makes the second hold, and `conflict` names a conflict only when the conditions
can never hold together. "Don't know" is False / None, so lints built on these never fire on
rules they do not understand."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from app.rules.conditions import MISSING_OK, All, AnyOf, Check, Cond, Entry, Not
from app.rules.folding import is_word_char
from app.rules.matching import Item

_CONTAINS = ("contains_any", "contains_all", "not_contains_any")
_BOUNDS = ("gt", "gte", "lt", "lte")


def covers(wide: Item, narrow: Item) -> bool:
    """Whether every occurrence of `narrow` in any text contains an occurrence of `wide`, with the
    boundaries `wide`'s mode asks for (a prefix item covers the words it starts, `internet` covers
    `geen internet`, a substring item covers every item holding its text)."""
    text, inner = narrow.text, wide.text
    at = text.find(inner)
    while at != -1:
        end = at + len(inner)
        start_ok = wide.mode == "substring" or (at > 0 and not is_word_char(text[at - 1])) \
            or (at == 0 and narrow.mode != "substring")
        end_ok = wide.mode != "word" or (end < len(text) and not is_word_char(text[end])) \
            or (end == len(text) and narrow.mode == "word")
        if start_ok and end_ok:
            return True
        at = text.find(inner, at + 1)
    return False


class CoverIndex:
    """Items indexed by text, to ask quickly whether some of them cover a given item (only items
    whose text occurs in the narrow item's text can cover it)."""

    def __init__(self, items: Iterable[Item]):
        self.by_text: dict[str, list[Item]] = {}
        for item in items:
            self.by_text.setdefault(item.text, []).append(item)

    def coverer(self, narrow: Item, *, besides_itself: bool = False) -> Item | None:
        """An indexed item that covers `narrow` (with `besides_itself`, one other than `narrow`)."""
        for part in substrings(narrow.text):
            for wide in self.by_text.get(part, ()):
                if covers(wide, narrow) and not (besides_itself and wide == narrow):
                    return wide
        return None

    def covered(self, narrow: Item) -> bool:
        """Whether some indexed item covers `narrow`."""
        return self.coverer(narrow) is not None

    def covers_all(self, items: Iterable[Item]) -> bool:
        """Whether every one of `items` is covered (vacuously true for none)."""
        return all(self.covered(i) for i in items)


def substrings(text: str) -> Iterator[str]:
    """Every non-empty substring of `text` (with repeats)."""
    for start in range(len(text)):
        for end in range(start + 1, len(text) + 1):
            yield text[start:end]


def entry_items(entries: Sequence[Entry]) -> list[Item]:
    """Every item of the entries, in order."""
    return [i for e in entries for i in e.matcher.items]


def implies(narrow: Cond, wide: Cond) -> bool:
    """Whether `wide` holds whenever `narrow` does (for every mention and instant)."""
    if isinstance(wide, All):
        return all(implies(narrow, w) for w in wide.children)
    if isinstance(narrow, AnyOf):
        return all(implies(n, wide) for n in narrow.children)
    if isinstance(narrow, All):
        return any(implies(n, wide) for n in narrow.children)
    if isinstance(wide, AnyOf):
        return any(implies(narrow, w) for w in wide.children)
    if isinstance(narrow, Not) and isinstance(wide, Not):
        return implies(wide.child, narrow.child)
    if isinstance(narrow, Check) and isinstance(wide, Check):
        return check_implies(narrow, wide)
    return False


def _present(c: Check) -> bool:
    """Whether the check can hold only when the field has a value."""
    return c.op not in MISSING_OK and not (c.op == "exists" and c.operand is False)


def _values(c: Check) -> frozenset[Any] | None:
    """The only values a check lets through, when it names them (eq, in)."""
    if c.op == "eq":
        return frozenset([c.operand])
    if c.op == "in":
        return frozenset(c.operand)
    return None


def holds_for(c: Check, value: Any) -> bool | None:
    """Whether a comparison check holds for a present value (None for other operators)."""
    if c.op == "eq":
        return bool(value == c.operand)
    if c.op == "ne":
        return bool(value != c.operand)
    if c.op == "in":
        return value in c.operand
    if c.op == "not_in":
        return value not in c.operand
    if c.op in _BOUNDS and isinstance(value, int | float) and not isinstance(value, bool):
        return bool({"gt": value > c.operand, "gte": value >= c.operand,
                     "lt": value < c.operand, "lte": value <= c.operand}[c.op])
    if c.op == "exists":
        return bool(c.operand)
    return None


def check_implies(narrow: Check, wide: Check) -> bool:
    """`implies` for two single checks."""
    if narrow.field != wide.field or narrow.cased != wide.cased:
        return False
    if wide.op == "exists":
        return _present(narrow) if wide.operand else (narrow.op == "exists" and narrow.operand is False)
    allowed = _values(narrow)
    if allowed is not None:
        return all(holds_for(wide, v) is True for v in allowed)
    if narrow.op in _BOUNDS and wide.op in _BOUNDS:
        return interval(narrow).within(interval(wide))
    if narrow.op in ("ne", "not_in") and wide.op in ("ne", "not_in"):
        excluded = {narrow.operand} if narrow.op == "ne" else set(narrow.operand)
        needed = {wide.operand} if wide.op == "ne" else set(wide.operand)
        return needed <= excluded
    if narrow.op in _CONTAINS and wide.op in _CONTAINS:
        return _contains_implies(narrow, wide)
    if narrow.op == wide.op == "starts_with":
        return all(any(p.startswith(q) for q in wide.operand) for p in narrow.operand)
    if narrow.op == wide.op == "matches":
        return bool(narrow.operand.pattern == wide.operand.pattern)
    if narrow.op == wide.op and narrow.op in ("in_calendar", "not_in_calendar"):
        return bool(narrow.operand.name == wide.operand.name)
    return False


def _contains_implies(narrow: Check, wide: Check) -> bool:
    n_entries: tuple[Entry, ...] = narrow.operand
    w_entries: tuple[Entry, ...] = wide.operand
    if wide.op == "not_contains_any":
        if narrow.op != "not_contains_any":
            return False
        # No narrow item found means no wide item found when every wide occurrence holds a narrow one.
        return CoverIndex(entry_items(n_entries)).covers_all(entry_items(w_entries))
    if narrow.op == "not_contains_any":
        return False
    wide_any = CoverIndex(entry_items(w_entries))
    if wide.op == "contains_any":
        if narrow.op == "contains_any":
            return wide_any.covers_all(entry_items(n_entries))
        return any(wide_any.covers_all(e.matcher.items) for e in n_entries)
    # wide is contains_all: each of its entries must be found whenever narrow holds
    if narrow.op == "contains_any":
        return len(w_entries) == 1 and wide_any.covers_all(entry_items(n_entries))
    return all(any(CoverIndex(w.matcher.items).covers_all(n.matcher.items) for n in n_entries)
               for w in w_entries)


class Interval:
    """The numbers a set of bounds lets through."""

    def __init__(self, low: float = -math.inf, low_open: bool = True, high: float = math.inf,
                 high_open: bool = True):
        self.low, self.low_open, self.high, self.high_open = low, low_open, high, high_open

    def meet(self, other: Interval) -> Interval:
        # On equal bounds the open one is the tighter.
        low, low_open = max((self.low, self.low_open), (other.low, other.low_open))
        high, high_closed = min((self.high, not self.high_open), (other.high, not other.high_open))
        return Interval(low, low_open, high, not high_closed)

    def empty(self) -> bool:
        return self.low > self.high or (self.low == self.high and (self.low_open or self.high_open))

    def contains(self, value: float) -> bool:
        return (value > self.low if self.low_open else value >= self.low) and \
            (value < self.high if self.high_open else value <= self.high)

    def within(self, other: Interval) -> bool:
        return not self.empty() and _low_ok(self, other) and _high_ok(self, other)


def _low_ok(inner: Interval, outer: Interval) -> bool:
    return inner.low > outer.low or (inner.low == outer.low and (inner.low_open or not outer.low_open))


def _high_ok(inner: Interval, outer: Interval) -> bool:
    return inner.high < outer.high or (inner.high == outer.high and (inner.high_open or not outer.high_open))


def interval(c: Check) -> Interval:
    """The interval of one bound check (gt, gte, lt, lte)."""
    v = float(c.operand)
    return {"gt": Interval(low=v), "gte": Interval(low=v, low_open=False),
            "lt": Interval(high=v), "lte": Interval(high=v, high_open=False)}[c.op]


def conflict(checks: Sequence[Check]) -> tuple[Check, list[Check]] | None:
    """For checks that must all hold (one `all`), the first check that no value can satisfy
    together with the ones before it on the same field, and those earlier checks; or None.
    A check that can never hold on its own (`in: []`) conflicts with nothing before it."""
    seen: dict[tuple[str, bool], list[Check]] = {}
    for check in checks:
        group = seen.setdefault((check.field, check.cased), [])
        group.append(check)
        if _impossible(group):
            return check, group[:-1]
    return None


def _impossible(group: list[Check]) -> bool:
    if any(_never(c) for c in group):
        return True
    absent_only = any(c.op == "exists" and c.operand is False for c in group)
    if absent_only and any(_present(c) for c in group):
        return True
    if any(c.op in _BOUNDS for c in group):
        bounds = Interval()
        for c in group:
            if c.op in _BOUNDS:
                bounds = bounds.meet(interval(c))
        if bounds.empty():
            return True
    allowed: frozenset[Any] | None = None
    for c in group:
        values = _values(c)
        if values is not None:
            allowed = values if allowed is None else allowed & values
    if allowed is not None and not any(all(holds_for(c, v) is not False for c in group) for v in allowed):
        return True
    found = [c for c in group if c.op in ("contains_any", "contains_all")]
    banned = [i for c in group if c.op == "not_contains_any" for i in entry_items(c.operand)]
    if found and banned:
        index = CoverIndex(banned)
        for c in found:
            entries: tuple[Entry, ...] = c.operand
            if c.op == "contains_any" and index.covers_all(entry_items(entries)):
                return True
            if c.op == "contains_all" and any(index.covers_all(e.matcher.items) for e in entries):
                return True
    return False


def _never(c: Check) -> bool:
    """A check that no value satisfies on its own."""
    if c.op == "in":
        return not c.operand
    if c.op == "contains_any":
        return not entry_items(c.operand)
    if c.op == "contains_all":
        return any(not e.matcher.items for e in c.operand)
    return False


def conjuncts(cond: Cond) -> list[Cond]:
    """The parts of a condition that must all hold (nested `all`s flattened)."""
    if isinstance(cond, All):
        return [part for child in cond.children for part in conjuncts(child)]
    return [cond]
