"""Suggestions as a patch to the rule folder: a unified diff that ops review, test and commit. Pure
(file texts are passed in).

Where the items go: the first list (`list:NAME` in a `text` condition) of the first rule, in
evaluation order, that decides the department; the items are appended to that list's `items`.
A department no rule decides with a list gets a new list `suggested_<department>` and a new rule
`suggested-<department>` in `rules/suggested-<department>.yaml`, ordered after every other rule
(so it only catches what would fall to the default).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from app.learning.suggest import Suggestion
from app.rules.folding import fold
from app.rules.model import Rule, RuleSet


@dataclass(frozen=True, slots=True)
class FileChange:
    """`path` (relative to the rule folder) before (None: a new file) and after."""

    path: str
    before: str | None
    after: str


def department_lists(ruleset: RuleSet, department: str) -> list[str]:
    """The lists the rules deciding `department` use in `text` conditions, in evaluation order."""
    found: list[str] = []
    for rule in _deciding(ruleset, department):
        for name in _text_lists(rule.when):
            if name in ruleset.lists and name not in found:
                found.append(name)
    return found


def lists_match(ruleset: RuleSet, department: str) -> Callable[[str], bool]:
    """Whether a folded term is already matched by a list the department's rules use."""
    matchers = [ruleset.lists[name].closure for name in department_lists(ruleset, department)]
    return lambda term: any(m.found(fold(term)) for m in matchers)


def changes_for(ruleset: RuleSet, suggestions: Sequence[Suggestion], read: Callable[[str], str]) -> list[FileChange]:
    """The file changes that add each suggestion's terms (`read(path)` gives a folder file's text)."""
    edited: dict[str, FileChange] = {}
    next_order = max((r.order for r in ruleset.rules), default=0)
    for suggestion in suggestions:
        items = [t.term for t in suggestion.terms]
        if not items:
            continue
        names = department_lists(ruleset, suggestion.department)
        if names:
            path = ruleset.lists[names[0]].file
            current = edited[path].after if path in edited else read(path)
            before = edited[path].before if path in edited else current
            edited[path] = FileChange(path, before, append_items(current, items))
            continue
        next_order += 10
        name, rule_id = f"suggested_{suggestion.department}", f"suggested-{suggestion.department}"
        edited[f"lists/{name}.yaml"] = FileChange(f"lists/{name}.yaml", None, _new_list(name, items))
        edited[f"rules/{rule_id}.yaml"] = FileChange(
            f"rules/{rule_id}.yaml", None, _new_rule(rule_id, next_order, name, suggestion))
    return list(edited.values())


def unified_diff(changes: Sequence[FileChange], prefix: str) -> str:
    """The changes as one git-style unified diff, paths under `prefix` (the folder as given)."""
    out: list[str] = []
    for change in changes:
        path = f"{prefix.rstrip('/')}/{change.path}"
        before = (change.before or "").splitlines(keepends=True)
        out += difflib.unified_diff(before, change.after.splitlines(keepends=True),
                                    "/dev/null" if change.before is None else f"a/{path}", f"b/{path}")
    return "".join(out)


def append_items(text: str, items: Sequence[str]) -> str:
    """`text` (a list file) with `items` appended to its `items` sequence, in the style it has
    (flow `[a, b]` or block `- a`); everything else byte for byte."""
    root = yaml.compose(text)
    sequence = _items_node(root)
    quoted = [json.dumps(item, ensure_ascii=False) for item in items]
    if sequence.flow_style:
        end = sequence.end_mark.index - 1  # the closing bracket
        head = text[:end].rstrip()
        separator = "" if head.endswith("[") else ", "
        return head + separator + ", ".join(quoted) + text[end:]
    last = sequence.value[-1]
    indent = " " * (last.start_mark.column - 2)
    insert_at = text.index("\n", last.end_mark.index) + 1 if "\n" in text[last.end_mark.index:] else len(text)
    added = "".join(f"{indent}- {q}\n" for q in quoted)
    prefix = text[:insert_at] if text[:insert_at].endswith("\n") else text[:insert_at] + "\n"
    return prefix + added + text[insert_at:]


def _items_node(root: Node | None) -> SequenceNode:
    if isinstance(root, MappingNode):
        for key, value in root.value:
            if isinstance(key, ScalarNode) and key.value == "items" and isinstance(value, SequenceNode) \
                    and (value.flow_style or value.value):
                return value
    raise ValueError("the list file has no items sequence to append to")


def _deciding(ruleset: RuleSet, department: str) -> Iterator[Rule]:
    return (r for r in ruleset.rules if not r.continue_ and r.then.department == department)


def _text_lists(cond: object) -> Iterator[str]:
    """`list:NAME` entries of `text` conditions that look for items (any depth, not under `not`)."""
    for child in getattr(cond, "children", ()):
        yield from _text_lists(child)
    if getattr(cond, "field", None) == "text" and getattr(cond, "op", None) in ("contains_any", "contains_all"):
        for entry in getattr(cond, "operand", ()) or ():
            label = str(getattr(entry, "label", ""))
            if label.startswith("list:"):
                yield label[len("list:"):]


def _new_list(name: str, items: Sequence[str]) -> str:
    return (f"# Suggested by `webcare rules suggest` from cases people moved; review before committing.\n"
            f"list: {name}\nitems: [{', '.join(json.dumps(i, ensure_ascii=False) for i in items)}]\n")


def _new_rule(rule_id: str, order: int, list_name: str, suggestion: Suggestion) -> str:
    return (f"# Suggested by `webcare rules suggest`: {suggestion.cases} cases no rule sent to "
            f"{suggestion.department} ended there\n# (e.g. {', '.join(suggestion.examples)}). "
            f"Review, test with `webcare rules eval` / `rules replay`, then commit.\n"
            f"rules:\n  - id: {rule_id}\n    order: {order}\n"
            f"    description: Mentions people kept moving to {suggestion.department}\n"
            f"    when:\n      text: {{contains_any: [list:{list_name}]}}\n"
            f"    then: {{department: {suggestion.department}}}\n")
