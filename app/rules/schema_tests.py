"""`tests/*.yaml`: routing test cases (a mention in, the expected decision out)."""

from __future__ import annotations

from datetime import datetime

from pydantic import ValidationError
from yaml.nodes import Node

from app.kernel.vocabulary import PRIORITIES
from app.mentions.schema import MentionIn
from app.rules.model import Expect, RuleTest
from app.rules.refs import Refs
from app.rules.schema_incidents import read_series
from app.rules.shapes import EXPECT, TEST, TESTS_FILE
from app.rules.yamlnodes import (
    YamlFile,
    entries,
    instant,
    locate,
    parse_instant,
    sequence,
    string,
    strings,
    to_plain,
)
from app.storms.config import SeriesTest

__all__ = ["CaseReader", "parse_instant"]  # parse_instant: where the commands import it from

EXPECT_KEYS = EXPECT.optional_keys
DEFAULT_MENTION_ID = "test"


class CaseReader:
    """Reads test files; references to departments, policies, rules and connectors go to `refs`."""

    def __init__(self, refs: Refs):
        self.refs = refs
        self.tests: list[RuleTest] = []
        self.series: list[SeriesTest] = []
        self._names: dict[str, str] = {}

    def read(self, f: YamlFile) -> None:
        if f.root is None:
            f.empty("empty file: expected 'tests' or 'series'")
            return
        top = entries(f, f.root, "tests file", required=TESTS_FILE.required_keys,
                      optional=TESTS_FILE.optional_keys)
        if top is None:
            return
        if "tests" not in top and "series" not in top:
            f.error(f.root, "tests file: expected 'tests' (routing tests) or 'series' (series tests)")
            return
        for node in sequence(f, top["series"][1], "series") or [] if "series" in top else []:
            series = read_series(f, node, self.refs)
            if series is not None:
                self._name(f, series.name, node)
                self.series.append(series)
        if "tests" not in top:
            return
        file_now = instant(f, top["now"][1], "now") if "now" in top else None
        for node in sequence(f, top["tests"][1], "tests") or []:
            test = self._test(f, node, file_now)
            if test is not None:
                self.tests.append(test)

    def _test(self, f: YamlFile, node: Node, file_now: datetime | None) -> RuleTest | None:
        keys = entries(f, node, "test", required=TEST.required_keys, optional=TEST.optional_keys)
        if keys is None or "name" not in keys:
            return None
        name = string(f, keys["name"][1], "test name")
        if name is None:
            return None
        self._name(f, name, keys["name"][1])
        what = f"test '{name}'"
        now = instant(f, keys["now"][1], f"{what}: now") if "now" in keys else file_now
        connector = string(f, keys["connector"][1], f"{what}: connector") if "connector" in keys else None
        if connector is not None:
            self.refs.need("connector", connector, f, keys["connector"][1])
        mention = _mention(f, keys["mention"][1], what) if "mention" in keys else None
        expect = self._expect(f, keys["expect"][1], what) if "expect" in keys else None
        if mention is None or expect is None or ("now" in keys and now is None):
            return None
        return RuleTest(name, f.relpath, node.start_mark.line + 1, mention.to_mention(), expect, now, connector)

    def _name(self, f: YamlFile, name: str, node: Node) -> None:
        """Warns about a test name used twice (results are reported by name)."""
        if name in self._names:
            f.warning(node, f"test name '{name}' is used twice (first at {self._names[name]})")
        else:
            self._names[name] = f.where(node)

    def _expect(self, f: YamlFile, node: Node, what: str) -> Expect | None:
        keys = entries(f, node, f"{what}: expect", optional=EXPECT_KEYS)
        if keys is None:
            return None
        if not keys:
            f.error(node, f"{what}: expect needs at least one of {', '.join(EXPECT_KEYS)}")
            return None
        single: dict[str, str | None] = {}
        for key in ("department", "category", "priority", "sla_policy"):
            if key in keys:
                value = single[key] = string(f, keys[key][1], f"{what}: expect.{key}")
                if value is not None and key in ("department", "sla_policy"):
                    self.refs.need(key, value, f, keys[key][1])
                if value is not None and key == "priority" and value not in PRIORITIES:
                    f.error(keys[key][1], f"{what}: expect.priority '{value}' is not one of {', '.join(PRIORITIES)}")
                    single[key] = None
        many: dict[str, tuple[str, ...]] = {}
        for key in ("tags", "notify", "matched_rules", "not_matched_rules"):
            if key in keys:
                found = strings(f, keys[key][1], f"{what}: expect.{key}")
                kind = {"notify": "department", "matched_rules": "rule", "not_matched_rules": "rule"}.get(key)
                for value, value_node in found if kind else []:
                    self.refs.need(kind or "", value, f, value_node)
                many[key] = tuple(v for v, _ in found)
        if any(v is None for v in single.values()):
            return None
        return Expect(
            department=single.get("department"), category=single.get("category"),
            priority=single.get("priority"), sla_policy=single.get("sla_policy"),
            tags=frozenset(many["tags"]) if "tags" in many else None,
            notify=frozenset(many["notify"]) if "notify" in many else None,
            matched_rules=many.get("matched_rules"), not_matched_rules=many.get("not_matched_rules"))


def _mention(f: YamlFile, node: Node, what: str) -> MentionIn | None:
    data = to_plain(node)
    if isinstance(data, dict):
        data.setdefault("id", DEFAULT_MENTION_ID)
    try:
        return MentionIn.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            at = locate(node, loc, key=err["type"] == "extra_forbidden")
            field = ".".join(str(p) for p in loc) or "mention"
            f.error(at, f"{what}: mention {field}: {err['msg']}")
        return None
