"""Lints: rules and lists that load but do nothing or not what was meant. Pure: they read the
compiled rule set plus where things were written, and return warnings with their places.

Codes (also the SARIF rule ids of `webcare rules check --format sarif`):
  shadowed-rule       an earlier deciding rule holds whenever this rule would, so it is never reached
  impossible-condition a condition no mention can satisfy (gt 5 and lt 3, eq a and eq b, in [] ...)
  unused-list         a list no rule names, no used list includes, and without a weight
  unused-department   a department no rule, default or escalation routes to and none notifies
  duplicate-item      two items of one list that fold to the same text (and mode)
  covered-item        an item another item of the same list already matches (`modem*` covers `modemkabel`)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from app.rules.conditions import AnyOf, Check, Cond, Not
from app.rules.implication import CoverIndex, conflict, conjuncts, entry_items, implies, substrings
from app.rules.matching import Item, make_item
from app.rules.model import Rule, RuleSet
from app.rules.refs import Refs
from app.rules.yamlnodes import Place

CODES = {
    "shadowed-rule": "An earlier deciding rule always wins: this rule is never reached",
    "impossible-condition": "A condition that no mention can satisfy",
    "unused-list": "A keyword list that nothing uses",
    "unused-department": "A department that no rule, default or escalation routes to",
    "duplicate-item": "List items that fold to the same text",
    "covered-item": "A list item that another item of the same list already matches",
}


@dataclass(frozen=True, slots=True)
class Lint:
    place: Place
    code: str
    message: str


@dataclass(frozen=True)
class Sources:
    """Where things were written, as the loader recorded it."""

    refs: Refs
    conditions: Mapping[Cond, Place]
    used_lists: frozenset[str]
    written_items: Mapping[str, list[tuple[str, Place]]]


def lint(ruleset: RuleSet, sources: Sources) -> list[Lint]:
    """Every lint warning of a folder that loaded."""
    return [*_rule_lints(ruleset, sources), *_unused_lists(ruleset, sources),
            *_unused_departments(ruleset, sources), *_item_lints(ruleset, sources)]


def _rule_lints(ruleset: RuleSet, sources: Sources) -> Iterator[Lint]:
    anchored: dict[str, list[int]] = {}
    unanchored: list[int] = []
    rules = ruleset.rules
    for index, rule in enumerate(rules):
        place = sources.refs.place("rule", rule.id)
        impossible = list(_impossible(rule, rule.when, sources, place))
        yield from impossible
        if not impossible:
            candidates = set(unanchored)
            for text in {i.text for i in _text_items(rule.when)}:
                for part in substrings(text):
                    candidates.update(anchored.get(part, ()))
            for earlier in sorted(candidates):
                winner = rules[earlier]
                if implies(rule.when, winner.when):
                    yield Lint(place, "shadowed-rule",
                               f"rule '{rule.id}' is never reached: the earlier rule '{winner.id}' "
                               f"({winner.file}:{winner.line}) decides whenever its conditions hold")
                    break
        if not rule.continue_:
            anchor = _anchor(rule.when)
            if anchor is None:
                unanchored.append(index)
            for item in anchor or ():
                anchored.setdefault(item.text, []).append(index)


def _impossible(rule: Rule, cond: Cond, sources: Sources, fallback: Place) -> Iterator[Lint]:
    parts = conjuncts(cond)
    found = conflict([p for p in parts if isinstance(p, Check)])
    if found is not None:
        check, earlier = found
        together = f" together with `{'`, `'.join(c.describe() for c in earlier)}`" if earlier else ""
        yield Lint(sources.conditions.get(check, fallback), "impossible-condition",
                   f"rule '{rule.id}': `{check.describe()}` can never hold{together}")
    for part in parts:
        if isinstance(part, AnyOf):
            for child in part.children:
                yield from _impossible(rule, child, sources, fallback)
        elif isinstance(part, Not):
            yield from _impossible(rule, part.child, sources, fallback)


def _is_text_contains(c: Cond) -> bool:
    return isinstance(c, Check) and c.field == "text" and not c.cased and \
        c.op in ("contains_any", "contains_all")


def _text_items(cond: Cond) -> Iterator[Item]:
    """Items of every folded text `contains_*` check anywhere in a condition."""
    if _is_text_contains(cond):
        assert isinstance(cond, Check)
        yield from entry_items(cond.operand)
    for child in getattr(cond, "children", ()):
        yield from _text_items(child)


def _anchor(cond: Cond) -> list[Item] | None:
    """Items of which a rule implying `cond` must have one covered: those of a folded text
    `contains_*` check that `cond` needs. None when it needs none (every rule is then a candidate)."""
    for part in conjuncts(cond):
        if _is_text_contains(part):
            assert isinstance(part, Check)
            return entry_items(part.operand)
    return None


def _unused_lists(ruleset: RuleSet, sources: Sources) -> Iterator[Lint]:
    used: set[str] = set()
    stack = sorted(sources.used_lists)
    while stack:
        name = stack.pop()
        if name not in used and name in ruleset.lists:
            used.add(name)
            stack.extend(ruleset.lists[name].include)
    for name, kl in ruleset.lists.items():
        if name not in used and not kl.weight:
            yield Lint(sources.refs.place("list", name), "unused-list",
                       f"list '{name}' is not used: no rule names it, no used list includes it and it has no weight")


def _unused_departments(ruleset: RuleSet, sources: Sources) -> Iterator[Lint]:
    reached = {ruleset.defaults.department}
    for rule in ruleset.rules:
        reached.update([rule.then.department or "", *rule.then.notify])
    for policy in ruleset.policies.values():
        reached.update(step.handoff_to or "" for step in policy.escalation)
    for dept in ruleset.departments:
        if dept not in reached:
            yield Lint(sources.refs.place("department", dept), "unused-department",
                       f"department '{dept}' gets no cases: no rule, default or escalation routes to it "
                       "and no rule notifies it")


def _item_lints(ruleset: RuleSet, sources: Sources) -> Iterator[Lint]:
    for name, written in sources.written_items.items():
        kl = ruleset.lists.get(name)
        if kl is None:
            continue
        first: dict[Item, tuple[str, Place]] = {}
        for text, place in written:
            item = make_item(text, kl.mode, name)
            if item is None:
                continue
            if item in first:
                other, at = first[item]
                yield Lint(place, "duplicate-item", f"list '{name}': item '{text}' folds to the same text as "
                                                    f"'{other}' ({at[0]}:{at[1] + 1}:{at[2] + 1})")
            else:
                first[item] = (text, place)
        index = CoverIndex(first)
        for item, (text, place) in first.items():
            wide = index.coverer(item, besides_itself=True)
            if wide is not None:
                other, at = first[wide]
                twice = "; with the list's weight it also counts twice" if kl.weight else ""
                yield Lint(place, "covered-item", f"list '{name}': item '{text}' is already matched by "
                                                  f"'{other}' ({at[0]}:{at[1] + 1}:{at[2] + 1}){twice}")

