"""Compiled `when` conditions. A condition's `test` returns None when it holds (adding the original
text spans it matched) and otherwise the condition that failed, whose `reason` says why in words."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from app.rules.context import Context
from app.rules.matching import ItemMatcher
from app.timekeeping.calendar import Calendar, is_open

Spans = list[tuple[int, int]] | None
MISSING_OK = frozenset({"ne", "not_in", "not_contains_any"})
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}


class Cond:
    """Base of compiled conditions."""

    def test(self, ctx: Context, spans: Spans) -> Cond | None:
        raise NotImplementedError

    def reason(self, ctx: Context) -> str:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True, eq=False)
class All(Cond):
    """Every child holds (an empty `all` always holds)."""

    children: tuple[Cond, ...]

    def test(self, ctx: Context, spans: Spans) -> Cond | None:
        for child in self.children:
            failed = child.test(ctx, spans)
            if failed is not None:
                return failed
        return None

    def reason(self, ctx: Context) -> str:
        return "all: a condition failed"

    def describe(self) -> str:
        return "all: [" + ", ".join(c.describe() for c in self.children) + "]"


@dataclass(frozen=True, eq=False)
class AnyOf(Cond):
    """At least one child holds; spans come from the first that does."""

    children: tuple[Cond, ...]

    def test(self, ctx: Context, spans: Spans) -> Cond | None:
        for child in self.children:
            mine: Spans = [] if spans is not None else None
            if child.test(ctx, mine) is None:
                if spans is not None and mine:
                    spans.extend(mine)
                return None
        return self

    def reason(self, ctx: Context) -> str:
        parts = []
        for child in self.children:
            failed = child.test(ctx, None)
            parts.append(failed.reason(ctx) if failed is not None else child.describe())
        return "any: none matched (" + "; ".join(parts) + ")"

    def describe(self) -> str:
        return "any: [" + ", ".join(c.describe() for c in self.children) + "]"


@dataclass(frozen=True, eq=False)
class Not(Cond):
    """The child does not hold; contributes no spans."""

    child: Cond

    def test(self, ctx: Context, spans: Spans) -> Cond | None:
        return self if self.child.test(ctx, None) is None else None

    def reason(self, ctx: Context) -> str:
        return f"not: {self.child.describe()} matched"

    def describe(self) -> str:
        return f"not: {self.child.describe()}"


@dataclass(frozen=True, eq=False)
class Entry:
    """One `contains_*` entry: `list:NAME` or a literal item, compiled."""

    label: str
    matcher: ItemMatcher


@dataclass(frozen=True, eq=False)
class Check(Cond):
    """One operator on one field. `operand` is already compiled for the operator: folded strings
    (unless `cased`), a frozenset for in/not_in, entries for contains_*, an RE2 pattern for
    matches, a Calendar for in_calendar."""

    field: str
    op: str
    operand: Any
    label: str
    cased: bool = False
    _runner: Callable[[Check, Context, Any, Spans], bool] = dc_field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_runner", _RUNNERS.get(self.op) or _compare)

    def test(self, ctx: Context, spans: Spans) -> Cond | None:
        value = ctx.value(self.field)
        if value is None:
            ok = self.op in MISSING_OK or (self.op == "exists" and self.operand is False)
            return None if ok else self
        return None if self._runner(self, ctx, value, spans) else self

    def describe(self) -> str:
        return f"{self.field}: {self.op} {self.label}" + (" (cased)" if self.cased else "")

    def reason(self, ctx: Context) -> str:
        value = ctx.value(self.field)
        head = self.describe()
        if value is None:
            return f"{head}: {self.field} is missing"
        if self.op == "exists":
            return f"{head}: {self.field} is present"
        if self.op == "contains_any":
            return f"{head} not found"
        if self.op == "contains_all":
            missing = [e.label for e in self.operand if not ctx.hits(self.field, value, e.matcher, self.cased)]
            return f"{head}: {', '.join(missing)} not found"
        if self.op == "not_contains_any":
            found = [e.label for e in self.operand if ctx.hits(self.field, value, e.matcher, self.cased)]
            return f"{head}: {', '.join(found)} found"
        if self.op in ("in_calendar", "not_in_calendar"):
            state = "open" if is_open(self.operand, value) else "closed"
            return f"{head}: {self.operand.name} is {state} at {value.isoformat()}"
        if self.op in ("matches", "starts_with") and self.field == "text":
            return f"{head} not found"
        return f"{head}: {self.field} is {_show(value)}"

    def key(self, ctx: Context, value: Any) -> Any:
        """A string value compared the way this check compares (folded unless cased)."""
        if isinstance(value, str) and not self.cased:
            return ctx.folded(self.field, value)
        return value


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    return str(value)


def _eq(c: Check, ctx: Context, value: Any, spans: Spans) -> bool:
    return bool(c.key(ctx, value) == c.operand)


def _ne(c: Check, ctx: Context, value: Any, spans: Spans) -> bool:
    return bool(c.key(ctx, value) != c.operand)


def _in(c: Check, ctx: Context, value: Any, spans: Spans) -> bool:
    return c.key(ctx, value) in c.operand


def _not_in(c: Check, ctx: Context, value: Any, spans: Spans) -> bool:
    return c.key(ctx, value) not in c.operand


def _compare(c: Check, ctx: Context, value: Any, spans: Spans) -> bool:
    return _COMPARE[c.op](value, c.operand)


def _exists(c: Check, ctx: Context, value: Any, spans: Spans) -> bool:
    return bool(c.operand)


def _add_spans(c: Check, ctx: Context, value: str, entries: tuple[Entry, ...], spans: Spans) -> None:
    if spans is None or c.field != "text":
        return
    for e in entries:
        for occ in ctx.hits(c.field, value, e.matcher, c.cased):
            spans.append(ctx.original_span(occ.start, occ.end, c.cased))


def _contains_any(c: Check, ctx: Context, value: Any, spans: Spans) -> bool:
    found = tuple(e for e in c.operand if ctx.hits(c.field, value, e.matcher, c.cased))
    _add_spans(c, ctx, value, found, spans)
    return bool(found)


def _contains_all(c: Check, ctx: Context, value: Any, spans: Spans) -> bool:
    if all(ctx.hits(c.field, value, e.matcher, c.cased) for e in c.operand):
        _add_spans(c, ctx, value, c.operand, spans)
        return True
    return False


def _not_contains_any(c: Check, ctx: Context, value: Any, spans: Spans) -> bool:
    return not any(ctx.hits(c.field, value, e.matcher, c.cased) for e in c.operand)


def _starts_with(c: Check, ctx: Context, value: Any, spans: Spans) -> bool:
    subject = c.key(ctx, value)
    for prefix in c.operand:
        if subject.startswith(prefix):
            if spans is not None and c.field == "text":
                spans.append(ctx.original_span(0, len(prefix), c.cased))
            return True
    return False


def _matches(c: Check, ctx: Context, value: Any, spans: Spans) -> bool:
    m = c.operand.search(value)
    if m is None:
        return False
    if spans is not None and c.field == "text":
        spans.append(m.span())
    return True


def _calendar(c: Check, ctx: Context, value: Any, spans: Spans) -> bool:
    calendar: Calendar = c.operand
    return is_open(calendar, value) == (c.op == "in_calendar")


_RUNNERS: dict[str, Callable[[Check, Context, Any, Spans], bool]] = {
    "eq": _eq, "ne": _ne, "in": _in, "not_in": _not_in, "exists": _exists,
    "contains_any": _contains_any, "contains_all": _contains_all, "not_contains_any": _not_contains_any,
    "starts_with": _starts_with, "matches": _matches,
    "in_calendar": _calendar, "not_in_calendar": _calendar,
}
