"""`matches` patterns: RE2 (linear time, so a rule cannot stall ingest), case-insensitive unless
`cased`. Look-arounds and back-references are reported with their offset in the pattern."""

from __future__ import annotations

from typing import Any

import re2
from yaml.nodes import Node

from app.rules.yamlnodes import YamlFile

_LOOKAROUNDS = ("(?<=", "(?<!", "(?=", "(?!")


def unsupported(pattern: str) -> str | None:
    """Why RE2 would refuse a Perl feature in `pattern` (with the offset), or None."""
    i = 0
    in_class = False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if not in_class and nxt.isdigit() and nxt != "0":
                return f"back-reference '\\{nxt}' at offset {i} is not supported (RE2)"
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if pattern.startswith("[]", i) or pattern.startswith("[^]", i):
                i += 2 if pattern.startswith("[]", i) else 3
                continue
        elif c == "(":
            for look in _LOOKAROUNDS:
                if pattern.startswith(look, i):
                    return f"look-around '{look}' at offset {i} is not supported (RE2)"
        i += 1
    return None


def compile_regex(f: YamlFile, node: Node, pattern: str, where: str, *, cased: bool) -> Any:
    """The compiled pattern, or None after reporting why it cannot be used."""
    reason = unsupported(pattern)
    if reason is not None:
        f.error(node, f"{where}: {reason}")
        return None
    options = re2.Options()
    options.case_sensitive = cased
    options.log_errors = False
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        detail = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) \
            else str(exc)
        f.error(node, f"{where}: invalid RE2 pattern: {detail}")
        return None
