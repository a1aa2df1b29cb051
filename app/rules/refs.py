"""Names that files refer to (departments, policies, calendars, lists, rules, connectors), checked
once everything has been read so that the order of the files does not matter."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from yaml.nodes import Node

from app.rules.yamlnodes import Place, YamlFile

ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class Refs:
    """Collects references and the first definition of each name; reports clashes and unknowns."""

    def __init__(self) -> None:
        self._needed: list[tuple[str, str, YamlFile, Node]] = []
        self._defined: dict[str, dict[str, str]] = {}
        self._places: dict[str, dict[str, Place]] = {}

    def need(self, kind: str, name: str, f: YamlFile, node: Node) -> None:
        self._needed.append((kind, name, f, node))

    def define(self, kind: str, name: str, f: YamlFile, node: Node) -> bool:
        """Record a definition; a second one of the same name is reported here and returns False."""
        seen = self._defined.setdefault(kind, {})
        if name in seen:
            f.error(node, f"duplicate {kind} '{name}' (first defined at {seen[name]})")
            return False
        seen[name] = f.where(node)
        self._places.setdefault(kind, {})[name] = f.place(node)
        return True

    def place(self, kind: str, name: str) -> Place:
        """Where a name is defined (relative path, 0-based line and column)."""
        return self._places.get(kind, {}).get(name, ("", 0, 0))

    def defined(self, kind: str) -> Collection[str]:
        return self._defined.get(kind, {}).keys()

    def check(self, extra: Mapping[str, Collection[str]] | None = None) -> None:
        """Report every reference to a name that no file defines."""
        known_by_kind: dict[str, set[str]] = {}
        for kind, name, f, node in self._needed:
            known = known_by_kind.get(kind)
            if known is None:
                known = known_by_kind[kind] = set(self.defined(kind)) | set((extra or {}).get(kind, ()))
            if name not in known:
                hint = f" (known: {', '.join(sorted(known))})" if known and len(known) <= 12 else ""
                f.error(node, f"unknown {kind} '{name}'{hint}")


def env_name(f: YamlFile, node: Node, value: str | None, what: str) -> str | None:
    """An environment variable name (`UPPER_CASE`), reported otherwise."""
    if value is not None and not ENV_NAME.match(value):
        f.error(node, f"{what}: '{value}' is not an environment variable name (A-Z, 0-9, _)")
        return None
    return value


def ident(f: YamlFile, node: Node, value: str | None, what: str) -> str | None:
    """A name made of letters, digits, `_`, `.` and `-` that starts with a letter or digit."""
    if value is not None and not IDENT.match(value):
        f.error(node, f"{what}: '{value}' must be letters, digits, '_', '.' or '-'")
        return None
    return value
