"""`rules/*.yaml`: rules, their `when` conditions (compiled) and `then` actions."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from yaml.nodes import MappingNode, Node, ScalarNode

from app.kernel.vocabulary import PRIORITIES
from app.rules.conditions import All, AnyOf, Check, Cond, Entry, Not
from app.rules.context import FIELDS, FieldType
from app.rules.folding import fold
from app.rules.matching import Item, ItemMatcher, make_item
from app.rules.model import Actions, Rule
from app.rules.refs import Refs, ident
from app.rules.regex import compile_regex
from app.rules.schema_lists import ListBook
from app.rules.shapes import CONTINUE_ACTIONS, RAISE, RULE, RULES_FILE, THEN, field_shape
from app.rules.yamlnodes import Place, YamlFile, boolean, entries, mapping_items, number, sequence, string, strings
from app.timekeeping.calendar import Calendar


class RuleReader:
    """Reads rule files one by one; `rules()` gives them in evaluation order."""

    def __init__(self, refs: Refs, book: ListBook, calendars: dict[str, Calendar]):
        self.refs = refs
        self.book = book
        self.calendars = calendars
        self._rules: list[Rule] = []
        self._orders: dict[int, tuple[str, str]] = {}
        self.text_items: list[Item] = []
        """Items of every folded `text` condition: the lexicon scanned once per mention."""
        self.places: dict[Cond, Place] = {}
        """Where each condition was written (for lints)."""
        self.used_lists: set[str] = set()
        """Lists that conditions name."""

    def read(self, f: YamlFile) -> None:
        if f.root is None:
            f.empty("empty file: expected 'rules'")
            return
        top = entries(f, f.root, "rules file", required=RULES_FILE.required_keys)
        if top is None or "rules" not in top:
            return
        for node in sequence(f, top["rules"][1], "rules") or []:
            rule = self._rule(f, node)
            if rule is not None:
                self._rules.append(rule)

    def rules(self) -> tuple[Rule, ...]:
        return tuple(sorted(self._rules, key=lambda r: r.order))

    def _rule(self, f: YamlFile, node: Node) -> Rule | None:
        keys = entries(f, node, "rule", required=RULE.required_keys,
                       optional=RULE.optional_keys)
        if keys is None or "id" not in keys:
            return None
        rule_id = ident(f, keys["id"][1], string(f, keys["id"][1], "rule id"), "rule id")
        if rule_id is None or not self.refs.define("rule", rule_id, f, keys["id"][1]):
            return None
        what = f"rule '{rule_id}'"
        order = number(f, keys["order"][1], f"{what}: order") if "order" in keys else None
        if order is not None and not isinstance(order, int):
            f.error(keys["order"][1], f"{what}: order must be a whole number")
            order = None
        if order is not None:
            if order in self._orders:
                other, where = self._orders[order]
                f.error(keys["order"][1], f"{what}: order {order} is also used by rule '{other}' ({where})")
            else:
                self._orders[order] = (rule_id, f.where(keys["order"][1]))
        cont = boolean(f, keys["continue"][1], f"{what}: continue") if "continue" in keys else False
        desc = string(f, keys["description"][1], f"{what}: description") if "description" in keys else ""
        when = self._when(f, keys["when"][1], f"{what}: when") if "when" in keys else All(())
        then = self._then(f, keys["then"][1], what, bool(cont)) if "then" in keys else Actions()
        if order is None or cont is None or then is None:
            return None
        return Rule(rule_id, order, when, then, bool(cont), desc or "", f.relpath, node.start_mark.line + 1)

    def _when(self, f: YamlFile, node: Node, what: str) -> Cond:
        children: list[Cond] = []
        for key, value in mapping_items(f, node, what) or []:
            name = str(key.value)
            if name in ("any", "all"):
                items = sequence(f, value, f"{what}: {name}") or []
                if not items and isinstance(value, Node) and not isinstance(value, ScalarNode):
                    f.error(value, f"{what}: {name} needs at least one condition")
                parts = tuple(self._when(f, item, f"{what}: {name}") for item in items)
                group: Cond = AnyOf(parts) if name == "any" else All(parts)
                self.places[group] = f.place(value)
                children.append(group)
            elif name == "not":
                negation = Not(self._when(f, value, f"{what}: not"))
                self.places[negation] = f.place(value)
                children.append(negation)
            elif name in FIELDS:
                children.extend(self._field(f, name, value, what))
            else:
                f.error(key, f"{what}: unknown field '{name}' (fields: {', '.join(FIELDS)}; any, all, not)")
        if len(children) == 1:
            return children[0]
        joined = All(tuple(children))
        self.places[joined] = f.place(node)
        return joined

    def _field(self, f: YamlFile, field: str, node: Node, what: str) -> list[Cond]:
        kind = FIELDS[field]
        if isinstance(node, ScalarNode):  # `channel: x` is short for `channel: {eq: x}`
            check = self._check(f, field, kind, "eq", node, cased=False, what=what)
            return [check] if check else []
        if not isinstance(node, MappingNode):
            f.error(node, f"{what}: {field}: expected an operator mapping like {{eq: ...}}")
            return []
        allowed = field_shape(kind).optional_keys
        keys = entries(f, node, f"{what}: {field}", optional=allowed) or {}
        cased = bool(boolean(f, keys["cased"][1], f"{what}: {field}: cased")) if "cased" in keys else False
        out = [self._check(f, field, kind, op, value, cased=cased, what=what)
               for op, (_, value) in keys.items() if op != "cased"]
        if not out and keys:
            f.error(node, f"{what}: {field}: needs an operator besides cased")
        return [c for c in out if c is not None]

    def _check(self, f: YamlFile, field: str, kind: FieldType, op: str, node: Node, *, cased: bool,
               what: str) -> Check | None:
        where = f"{what}: {field}: {op}"
        label = _label(node)
        operand: Any
        if op == "exists":
            operand = boolean(f, node, where)
        elif op in ("eq", "ne"):
            operand = self._scalar(f, kind, node, where, cased)
        elif op in ("in", "not_in"):
            values = [self._scalar(f, kind, item, where, cased) for item in sequence(f, node, where) or []]
            operand = None if any(v is None for v in values) else frozenset(values)
        elif op in ("gt", "gte", "lt", "lte"):
            operand = number(f, node, where)
        elif op in ("contains_any", "contains_all", "not_contains_any"):
            operand = self._entries(f, node, where, cased)
            if operand is not None and field == "text" and not cased:
                self.text_items.extend(i for e in operand for i in e.matcher.items)
        elif op == "starts_with":
            found = [string(f, node, where)] if isinstance(node, ScalarNode) \
                else [s for s, _ in strings(f, node, where)]
            operand = tuple(p if cased else fold(p) for p in found if p)
        elif op == "matches":
            text = string(f, node, where)
            operand = compile_regex(f, node, text, where, cased=cased) if text is not None else None
        else:
            name = string(f, node, where)
            if name is not None:
                self.refs.need("calendar", name, f, node)
            operand = self.calendars.get(name or "", Calendar(name or "?", ZoneInfo("UTC")))
        if operand is None:
            return None
        check = Check(field, op, operand, label, cased)
        self.places[check] = f.place(node)
        return check

    def _scalar(self, f: YamlFile, kind: FieldType, node: Node, where: str, cased: bool) -> Any:
        if kind == "number":
            return number(f, node, where)
        if kind == "bool":
            return boolean(f, node, where)
        text = string(f, node, where)
        return text if text is None or cased else fold(text)

    def _entries(self, f: YamlFile, node: Node, where: str, cased: bool) -> tuple[Entry, ...] | None:
        written = [(string(f, node, where), node)] if isinstance(node, ScalarNode) else strings(f, node, where)
        if not written and not isinstance(node, ScalarNode):
            f.error(node, f"{where}: needs at least one entry")
            return None
        out: list[Entry] = []
        for text, item_node in written:
            if text is None:
                return None
            if text.startswith("list:"):
                name = text[5:].strip()
                self.refs.need("list", name, f, item_node)
                self.used_lists.add(name)
                out.append(Entry(f"list:{name}", self.book.matcher(name, cased=cased)))
                continue
            item = make_item(text, "word", "", cased=cased)
            if item is None:
                f.error(item_node, f"{where}: item '{text}' has nothing left to match after folding")
                return None
            out.append(Entry(text, ItemMatcher([item])))
        return tuple(out)

    def _then(self, f: YamlFile, node: Node, what: str, cont: bool) -> Actions | None:
        keys = entries(f, node, f"{what}: then",
                       optional=THEN.optional_keys)
        if keys is None:
            return None
        ok = True
        if cont:
            for key, (key_node, _) in keys.items():
                if key not in CONTINUE_ACTIONS:
                    f.error(key_node, f"{what}: a continue rule may only set tags, notify and "
                                      f"priority: {{raise_to: Pn}}, not '{key}'")
                    ok = False
        values: dict[str, Any] = {}
        for key in ("department", "category", "sla_policy"):
            if key in keys:
                values[key] = string(f, keys[key][1], f"{what}: then.{key}")
        for key, kind in (("department", "department"), ("sla_policy", "sla_policy")):
            if values.get(key):
                self.refs.need(kind, values[key], f, keys[key][1])
        priority = raise_to = None
        if "priority" in keys:
            priority, raise_to = _priority(f, keys["priority"][1], what, cont)
            ok = ok and (priority or raise_to) is not None
        tags = tuple(t for t, _ in strings(f, keys["tags"][1], f"{what}: then.tags")) if "tags" in keys else ()
        notify = strings(f, keys["notify"][1], f"{what}: then.notify") if "notify" in keys else []
        for dept, dept_node in notify:
            self.refs.need("department", dept, f, dept_node)
        if not ok or any(v is None for v in values.values()):
            return None
        return Actions(values.get("department"), values.get("category"), priority, raise_to,
                       values.get("sla_policy"), tags, tuple(d for d, _ in notify))


def _priority(f: YamlFile, node: Node, what: str, cont: bool) -> tuple[str | None, str | None]:
    """(priority, raise_to) from `priority: Pn` or `priority: {raise_to: Pn}`."""
    if isinstance(node, MappingNode):
        keys = entries(f, node, f"{what}: then.priority", required=RAISE.required_keys)
        if not keys or "raise_to" not in keys:
            return None, None
        value_node = keys["raise_to"][1]
        value = string(f, value_node, f"{what}: raise_to")
        if value is not None and value not in PRIORITIES:
            f.error(value_node, f"{what}: raise_to '{value}' is not one of {', '.join(PRIORITIES)}")
            return None, None
        return None, value
    value = string(f, node, f"{what}: then.priority")
    if value is None:
        return None, None
    if value not in PRIORITIES:
        f.error(node, f"{what}: priority '{value}' is not one of {', '.join(PRIORITIES)}")
        return None, None
    if cont:
        f.error(node, f"{what}: a continue rule can only raise the priority: priority: {{raise_to: {value}}}")
        return None, None
    return value, None


def _label(node: Node) -> str:
    """How an operand was written, for explanations."""
    if isinstance(node, ScalarNode):
        return str(node.value)
    if isinstance(node, MappingNode):
        return "{...}"
    return "[" + ", ".join(_label(n) for n in node.value) + "]"

