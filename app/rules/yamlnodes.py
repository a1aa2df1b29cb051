"""Reading YAML as position-carrying nodes, and reporting problems at those positions.

PyYAML's `compose` keeps a mark (0-based line and column, in code points) on every node; the
helpers here check shapes and scalar types against those nodes so that every problem can name the
exact place. Nothing here stops at the first problem: a helper that cannot produce a value reports
and returns None, and the caller carries on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from app.rules.problems import Problem, Severity

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_CONSTRUCTOR = yaml.constructor.SafeConstructor()

Place = tuple[str, int, int]
"""A node's place: the file's relative path, 0-based line and column."""


class Reporter:
    """Collects problems for one folder. Paths are `base` (the folder as given) joined with the
    file's relative path."""

    def __init__(self, base: Path):
        self.base = base
        self.problems: list[Problem] = []

    def add(self, relpath: str, line0: int, col0: int, severity: Severity, message: str, code: str = "") -> None:
        path = str(self.base / relpath) if relpath else str(self.base)
        self.problems.append(Problem(path, line0 + 1, col0 + 1, severity, message, code))


class YamlFile:
    """One file of the folder: its relative path, its bytes, its root node (None when empty or
    unreadable) and a way to report problems at its nodes."""

    def __init__(self, relpath: str, data: bytes, reporter: Reporter):
        self.relpath = relpath
        self.data = data
        self.reporter = reporter
        self.root: Node | None = None
        self.unreadable = False
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.error_at(0, 0, f"not valid UTF-8 (byte {exc.start})")
            self.unreadable = True
            return
        try:
            self.root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, col = (mark.line, mark.column) if mark else (0, 0)
            what = " ".join(str(x) for x in (exc.context, exc.problem) if x)
            self.error_at(line, col, f"YAML syntax error: {what}")
            self.unreadable = True
            return
        except yaml.YAMLError as exc:
            self.error_at(0, 0, f"YAML error: {exc}")
            self.unreadable = True
            return
        if self.root is not None:
            self._report_duplicate_keys(self.root, set())

    def empty(self, message: str) -> None:
        """Report a file without content, unless it could not be read at all (already reported)."""
        if not self.unreadable:
            self.error_at(0, 0, message)

    def error_at(self, line0: int, col0: int, message: str) -> None:
        self.reporter.add(self.relpath, line0, col0, "error", message)

    def error(self, node: Node, message: str) -> None:
        self.reporter.add(self.relpath, node.start_mark.line, node.start_mark.column, "error", message)

    def warning(self, node: Node, message: str) -> None:
        self.reporter.add(self.relpath, node.start_mark.line, node.start_mark.column, "warning", message)

    def place(self, node: Node) -> Place:
        """The node's place, kept for checks that run after the whole folder is read (lints)."""
        return self.relpath, node.start_mark.line, node.start_mark.column

    def where(self, node: Node) -> str:
        """`relpath:LINE:COL` of a node, for messages that point at a first occurrence."""
        return f"{self.relpath}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"

    def _report_duplicate_keys(self, node: Node, seen: set[int]) -> None:
        if id(node) in seen:  # aliases can make the graph share (or even cycle through) nodes
            return
        seen.add(id(node))
        if isinstance(node, MappingNode):
            keys: set[str] = set()
            for key, value in node.value:
                if isinstance(key, ScalarNode):
                    if key.value in keys:
                        self.error(key, f"duplicate key '{key.value}'")
                    keys.add(key.value)
                self._report_duplicate_keys(value, seen)
        elif isinstance(node, SequenceNode):
            for item in node.value:
                self._report_duplicate_keys(item, seen)


def entries(f: YamlFile, node: Node, what: str, *, required: Sequence[str] = (),
            optional: Sequence[str] = ()) -> dict[str, tuple[Node, Node]] | None:
    """The keys of a mapping node as {key: (key node, value node)}. Reports a node that is not a
    mapping, unknown keys (at the key) and missing required keys (at the mapping). The first of
    duplicate keys wins (duplicates are reported when the file is read)."""
    if not isinstance(node, MappingNode):
        f.error(node, f"{what}: expected a mapping")
        return None
    allowed = (*required, *optional)
    out: dict[str, tuple[Node, Node]] = {}
    for key, value in node.value:
        if not isinstance(key, ScalarNode):
            f.error(key, f"{what}: keys must be plain strings")
            continue
        if allowed and key.value not in allowed:
            f.error(key, f"{what}: unknown key '{key.value}' (allowed: {', '.join(allowed)})")
            continue
        out.setdefault(key.value, (key, value))
    for name in required:
        if name not in out:
            f.error(node, f"{what}: missing key '{name}'")
    return out


def mapping_items(f: YamlFile, node: Node, what: str) -> list[tuple[ScalarNode, Node]] | None:
    """Every (key, value) pair of a mapping whose keys are free-form (field names, day specs)."""
    if not isinstance(node, MappingNode):
        f.error(node, f"{what}: expected a mapping")
        return None
    out: list[tuple[ScalarNode, Node]] = []
    for key, value in node.value:
        if isinstance(key, ScalarNode):
            out.append((key, value))
        else:
            f.error(key, f"{what}: keys must be plain strings")
    return out


def sequence(f: YamlFile, node: Node, what: str) -> list[Node] | None:
    """The items of a sequence node; reports anything else."""
    if not isinstance(node, SequenceNode):
        f.error(node, f"{what}: expected a list")
        return None
    return list(node.value)


def string(f: YamlFile, node: Node, what: str) -> str | None:
    """A scalar as its source text: `no`, `12` or `2026-03-02` are strings where a string is
    expected, so ops staff need not quote them. Null and collections are reported."""
    if isinstance(node, ScalarNode) and node.tag != _NULL and node.value != "":
        return str(node.value)
    if isinstance(node, ScalarNode) and node.tag == _STR:
        f.error(node, f"{what}: must not be empty")
        return None
    f.error(node, f"{what}: expected a string")
    return None


def strings(f: YamlFile, node: Node, what: str) -> list[tuple[str, Node]]:
    """A list of strings with their nodes; bad items are reported and left out."""
    out: list[tuple[str, Node]] = []
    for item in sequence(f, node, what) or []:
        value = string(f, item, what)
        if value is not None:
            out.append((value, item))
    return out


def integer(f: YamlFile, node: Node, what: str) -> int | None:
    """An integer scalar (not a quoted string, not a boolean)."""
    if isinstance(node, ScalarNode) and node.tag == _INT:
        return int(_CONSTRUCTOR.construct_yaml_int(node))
    f.error(node, f"{what}: expected an integer")
    return None


def number(f: YamlFile, node: Node, what: str) -> int | float | None:
    """An integer or a float scalar."""
    if isinstance(node, ScalarNode) and node.tag == _FLOAT:
        return float(_CONSTRUCTOR.construct_yaml_float(node))
    if isinstance(node, ScalarNode) and node.tag == _INT:
        return int(_CONSTRUCTOR.construct_yaml_int(node))
    f.error(node, f"{what}: expected a number")
    return None


def boolean(f: YamlFile, node: Node, what: str) -> bool | None:
    """`true` or `false` (YAML 1.1 spellings included)."""
    if isinstance(node, ScalarNode) and node.tag == _BOOL:
        return bool(_CONSTRUCTOR.construct_yaml_bool(node))
    f.error(node, f"{what}: expected true or false")
    return None


def is_scalar_of(node: Node, *kinds: str) -> bool:
    """Whether a node is a scalar of one of the kinds 'str', 'int', 'float', 'bool', 'null'."""
    tags = {"str": _STR, "int": _INT, "float": _FLOAT, "bool": _BOOL, "null": _NULL}
    return isinstance(node, ScalarNode) and node.tag in {tags[k] for k in kinds}


def to_plain(node: Node) -> Any:
    """A node as plain JSON-like data. Timestamps and other non-JSON scalars stay strings, so that
    pydantic sees what the author wrote."""
    if isinstance(node, MappingNode):
        return {str(k.value): to_plain(v) for k, v in node.value if isinstance(k, ScalarNode)}
    if isinstance(node, SequenceNode):
        return [to_plain(v) for v in node.value]
    if node.tag in (_INT, _FLOAT, _BOOL, _NULL):
        return _CONSTRUCTOR.construct_object(node)
    return str(node.value)


def locate(node: Node, loc: Sequence[int | str], *, key: bool = False) -> Node:
    """The deepest node along a pydantic error location (falls back to the nearest ancestor); with
    `key`, the last step gives the key node of a mapping entry (for keys that are not allowed)."""
    for i, part in enumerate(loc):
        last_key = key and i == len(loc) - 1
        nxt = next(_children(node, part, keys=last_key), None)
        if nxt is None:
            break
        node = nxt
    return node


def _children(node: Node, part: int | str, *, keys: bool = False) -> Iterator[Node]:
    if isinstance(node, MappingNode):
        yield from (k if keys else v for k, v in node.value if isinstance(k, ScalarNode) and k.value == part)
    elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        yield node.value[part]


def parse_instant(text: str) -> datetime:
    """An ISO 8601 timestamp with an offset (`Z` or `+01:00`) as an aware datetime. Raises
    ValueError with a message fit for users; a timestamp without an offset is refused because its
    meaning would depend on the machine."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"'{text}' is not an ISO 8601 timestamp like 2026-03-02T10:15:00+01:00") from None
    if value.tzinfo is None:
        raise ValueError(f"'{text}' has no UTC offset; add one, e.g. {text}Z or {text}+01:00")
    return value


def instant(f: YamlFile, node: Node, what: str) -> datetime | None:
    """A timestamp scalar (`parse_instant`); reports a bad one."""
    text = string(f, node, what)
    if text is None:
        return None
    try:
        return parse_instant(text)
    except ValueError as exc:
        f.error(node, f"{what}: {exc}")
        return None
