"""`webcare rules check` output: text, JSON, and SARIF 2.1.0 (which GitHub code scanning and
other CI systems turn into annotations on the lines of a pull request). Pure."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from app.rules.lints import CODES
from app.rules.problems import Problem, count

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# Problems without a lint code: ones that stop loading, and files the loader ignores.
_PLAIN = {"error": ("invalid", "The folder does not load: fix this first"),
          "warning": ("ignored-file", "A YAML file the loader does not read")}


def as_text(problems: list[Problem]) -> str:
    """One `PATH:LINE:COL: severity: message [code]` line per problem, then the counts."""
    errors, warnings = count(problems)
    return "".join(f"{p}\n" for p in problems) + f"{errors} errors, {warnings} warnings"


def as_json(problems: list[Problem], *, strict: bool) -> dict[str, Any]:
    """Problems as objects plus the counts and whether the check passed."""
    errors, warnings = count(problems)
    return {
        "passed": passed(problems, strict=strict),
        "errors": errors,
        "warnings": warnings,
        "problems": [{"path": p.path, "line": p.line, "col": p.col, "severity": p.severity,
                      "code": p.code or None, "message": p.message} for p in problems],
    }


def passed(problems: list[Problem], *, strict: bool) -> bool:
    """No errors, and with `strict` no warnings either."""
    errors, warnings = count(problems)
    return not errors and not (strict and warnings)


def as_sarif(problems: list[Problem], *, strict: bool) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run. Paths are given as written (relative to where the check
    ran, normally the repository root, which is what code-scanning uploads expect); with
    `strict`, warnings are reported at level `error`, as they fail the check."""
    rules = [{"id": code, "shortDescription": {"text": text}} for code, text in
             [*CODES.items(), *_PLAIN.values()]]
    index = {r["id"]: i for i, r in enumerate(rules)}
    results = []
    for p in problems:
        rule_id = p.code or _PLAIN[p.severity][0]
        level = "error" if p.severity == "error" or strict else "warning"
        results.append({
            "ruleId": rule_id,
            "ruleIndex": index[rule_id],
            "level": level,
            "message": {"text": p.message},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": PurePath(p.path).as_posix()},
                "region": {"startLine": max(p.line, 1), "startColumn": max(p.col, 1)},
            }}],
        })
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "webcare rules check", "rules": rules}},
            "results": results,
        }],
    }
