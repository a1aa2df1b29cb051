"""`incidents.yaml` (the storms to watch for) and the `series` tests of `tests/*.yaml`."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from yaml.nodes import Node

from app.rules.refs import Refs, ident
from app.rules.shapes import INCIDENT_WATCH, INCIDENTS_FILE, SERIES, SERIES_BACKGROUND, SERIES_EXPECT, SERIES_MENTION
from app.rules.yamlnodes import YamlFile, entries, instant, integer, number, sequence, string, strings
from app.storms.config import (
    ExpectedIncident,
    IncidentWatch,
    SeriesBackground,
    SeriesMention,
    SeriesTest,
    parse_span,
)

DEFAULT_TIMEZONE = "UTC"


def read_incidents(f: YamlFile, refs: Refs) -> list[IncidentWatch]:
    """The watches of `incidents.yaml`; list references go to `refs`, watch ids are defined there."""
    if f.root is None:
        f.empty("empty file: expected 'incidents'")
        return []
    top = entries(f, f.root, "incidents.yaml", required=INCIDENTS_FILE.required_keys,
                  optional=INCIDENTS_FILE.optional_keys)
    if top is None or "incidents" not in top:
        return []
    zone = ZoneInfo(DEFAULT_TIMEZONE)
    if "timezone" in top:
        name = string(f, top["timezone"][1], "timezone")
        try:
            zone = ZoneInfo(name) if name is not None else zone
        except (ZoneInfoNotFoundError, ValueError):
            f.error(top["timezone"][1], f"timezone: unknown time zone '{name}' (use an IANA name)")
    out = []
    for node in sequence(f, top["incidents"][1], "incidents") or []:
        watch = _watch(f, node, refs, zone)
        if watch is not None:
            out.append(watch)
    return out


def _watch(f: YamlFile, node: Node, refs: Refs, zone: ZoneInfo) -> IncidentWatch | None:
    keys = entries(f, node, "incident", required=INCIDENT_WATCH.required_keys, optional=INCIDENT_WATCH.optional_keys)
    if keys is None or "id" not in keys:
        return None
    watch_id = ident(f, keys["id"][1], string(f, keys["id"][1], "incident id"), "incident id")
    if watch_id is None or not refs.define("incident", watch_id, f, keys["id"][1]):
        return None
    what = f"incident '{watch_id}'"
    lists = strings(f, keys["lists"][1], f"{what}: lists") if "lists" in keys else []
    for name, item in lists:
        refs.need("list", name, f, item)
    categories = strings(f, keys["categories"][1], f"{what}: categories") if "categories" in keys else []
    if not lists and not categories:
        f.error(node, f"{what}: name at least one of lists or categories to watch")
    window = _span(f, keys, "window", what)
    calm = _span(f, keys, "calm", what)
    factor = number(f, keys["factor"][1], f"{what}: factor") if "factor" in keys else None
    if factor is not None and factor <= 0:
        f.error(keys["factor"][1], f"{what}: factor must be more than 0")
        factor = None
    min_count = _positive(f, keys, "min_count", what)
    weeks = _positive(f, keys, "history_weeks", what) if "history_weeks" in keys else 4
    if weeks is not None and weeks > 52:
        f.error(keys["history_weeks"][1], f"{what}: history_weeks is at most 52")
        weeks = None
    title = string(f, keys["title"][1], f"{what}: title") if "title" in keys else watch_id
    if None in (window, calm, factor, min_count, weeks, title) or (not lists and not categories):
        return None
    assert window is not None and calm is not None and factor is not None and min_count is not None  # for mypy
    return IncidentWatch(id=watch_id, title=str(title), lists=tuple(n for n, _ in lists),
                         categories=tuple(c for c, _ in categories), window=window, factor=float(factor),
                         min_count=min_count, calm=calm, history_weeks=int(weeks or 4), timezone=zone,
                         file=f.relpath, line=node.start_mark.line + 1)


def _span(f: YamlFile, keys: dict[str, tuple[Node, Node]], key: str, what: str) -> timedelta | None:
    if key not in keys:
        return None
    text = string(f, keys[key][1], f"{what}: {key}")
    if text is None:
        return None
    try:
        return parse_span(text)
    except ValueError as exc:
        f.error(keys[key][1], f"{what}: {key}: {exc}")
        return None


def _positive(f: YamlFile, keys: dict[str, tuple[Node, Node]], key: str, what: str) -> int | None:
    if key not in keys:
        return None
    value = integer(f, keys[key][1], f"{what}: {key}")
    if value is not None and value < 1:
        f.error(keys[key][1], f"{what}: {key} must be at least 1")
        return None
    return value


def read_series(f: YamlFile, node: Node, refs: Refs) -> SeriesTest | None:
    """One series test of a tests file's `series`; watch references go to `refs`."""
    keys = entries(f, node, "series test", required=SERIES.required_keys, optional=SERIES.optional_keys)
    if keys is None or "name" not in keys:
        return None
    name = string(f, keys["name"][1], "series test name")
    what = f"series test '{name}'"
    mentions = [_series_mention(f, item, what) for item in sequence(f, keys["mentions"][1],
                                                                               f"{what}: mentions") or []] \
        if "mentions" in keys else []
    background = [_background(f, item, what) for item in sequence(f, keys["history"][1], f"{what}: history") or []] \
        if "history" in keys else []
    expect = [_expected(f, item, what, refs) for item in sequence(f, keys["expect"][1], f"{what}: expect")
              or []] if "expect" in keys else []
    until = instant(f, keys["until"][1], f"{what}: until") if "until" in keys else None
    if (name is None or None in mentions or None in background or None in expect or "expect" not in keys
            or ("until" in keys and until is None)):
        return None
    return SeriesTest(name, f.relpath, node.start_mark.line + 1, tuple(m for m in mentions if m),
                      tuple(b for b in background if b), until, tuple(e for e in expect if e))


def _series_mention(f: YamlFile, node: Node, what: str) -> SeriesMention | None:
    keys = entries(f, node, f"{what}: mention", required=SERIES_MENTION.required_keys,
                   optional=SERIES_MENTION.optional_keys)
    if keys is None or "at" not in keys or "text" not in keys:
        return None
    at: datetime | None = instant(f, keys["at"][1], f"{what}: at")
    text = string(f, keys["text"][1], f"{what}: text")
    repeat = _positive(f, keys, "repeat", what) if "repeat" in keys else 1
    every = _span(f, keys, "every", what) if "every" in keys else None
    if "every" not in keys and repeat not in (None, 1):
        f.error(node, f"{what}: repeat needs every (the time between the mentions)")
        return None
    if at is None or text is None or repeat is None or ("every" in keys and every is None):
        return None
    return SeriesMention(at, text, repeat, every) if every is not None else SeriesMention(at, text, repeat)


def _background(f: YamlFile, node: Node, what: str) -> SeriesBackground | None:
    keys = entries(f, node, f"{what}: history", required=SERIES_BACKGROUND.required_keys)
    if keys is None or "text" not in keys or "per_hour" not in keys:
        return None
    text = string(f, keys["text"][1], f"{what}: history text")
    per_hour = integer(f, keys["per_hour"][1], f"{what}: per_hour")
    if per_hour is not None and per_hour < 0:
        f.error(keys["per_hour"][1], f"{what}: per_hour must not be negative")
        return None
    return SeriesBackground(text, per_hour) if text is not None and per_hour is not None else None


def _expected(f: YamlFile, node: Node, what: str, refs: Refs) -> ExpectedIncident | None:
    keys = entries(f, node, f"{what}: expect", required=SERIES_EXPECT.required_keys,
                   optional=SERIES_EXPECT.optional_keys)
    if keys is None or "watch" not in keys:
        return None
    watch = string(f, keys["watch"][1], f"{what}: watch")
    if watch is not None:
        refs.need("incident", watch, f, keys["watch"][1])
    times: dict[str, datetime | None] = {
        key: instant(f, keys[key][1], f"{what}: {key}")
        for key in ("opened_by", "opened_after", "closed_by") if key in keys}
    mentions = integer(f, keys["mentions"][1], f"{what}: mentions") if "mentions" in keys else None
    if watch is None or None in times.values() or ("mentions" in keys and mentions is None):
        return None
    return ExpectedIncident(watch, times.get("opened_by"), times.get("opened_after"), times.get("closed_by"), mentions)
