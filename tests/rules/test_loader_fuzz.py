"""Fuzzing the rule-folder loader, always on with a fixed budget: an example file from
routing_rules/, mutated the ways hand edits go wrong (lines lost, doubled or re-indented, YAML
punctuation in the wrong place, control characters, truncation), loaded in a small valid folder.
Nothing escapes but the loader's problems, each `path:line:col: severity: message`."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.rules.loader import check_ruleset
from tests.conftest import BASIC_RULES, EXAMPLE_RULES

EXAMPLES = sorted(p.relative_to(EXAMPLE_RULES).as_posix() for p in EXAMPLE_RULES.rglob("*.yaml")
                  if p.relative_to(EXAMPLE_RULES).parts[0] != "eval")
PROBLEM = re.compile(r"^.+:\d+:\d+: (error|warning): .+$", re.DOTALL)
PUNCTUATION = [":", "-", "- ", "[", "]", "{", "}", ",", "&a", "*a", "!!python/object:os.system", "!", "'", '"', "\t",
               "#", "|", ">", "%", "@", "`", "?", "\x00", "\x85", "\ufeff", "é", "\r", "~", "null", "0x1F", "1e9",
               "<<: *a", "---", "..."]


@st.composite
def mutated_text(draw: st.DrawFn, text: str) -> str:
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            lines = [""]
        at = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["delete", "double", "indent", "dedent", "punctuate", "insert", "truncate"]))
        if kind == "delete":
            del lines[at]
        elif kind == "double":
            lines.insert(at, lines[at])
        elif kind == "indent":
            lines[at] = " " * draw(st.integers(1, 5)) + lines[at]
        elif kind == "dedent":
            lines[at] = lines[at].lstrip()
        elif kind == "punctuate":
            column = draw(st.integers(0, len(lines[at])))
            lines[at] = lines[at][:column] + draw(st.sampled_from(PUNCTUATION)) + lines[at][column:]
        elif kind == "insert":
            lines.insert(at, draw(st.text(max_size=40)))
        else:
            lines = [*lines[:at], lines[at][:draw(st.integers(0, len(lines[at])))]]
    return "\n".join(lines)


@settings(max_examples=int(os.environ.get("WEBCARE_FUZZ_EXAMPLES", "200")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_rule_files_give_problems_at_their_place_never_an_exception(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(EXAMPLES), label="file")
    text = data.draw(mutated_text((EXAMPLE_RULES / name).read_text()), label="mutated")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "rules"
        shutil.copytree(BASIC_RULES, folder)
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(text.encode("utf-8", "surrogatepass"))
        ruleset, problems = check_ruleset(folder)
    assert ruleset is not None or any(p.severity == "error" for p in problems)
    for problem in problems:
        assert PROBLEM.match(str(problem)), str(problem)
        assert problem.path.startswith(str(folder)) and problem.line >= 0 and problem.col >= 0
