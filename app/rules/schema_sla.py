"""`sla.yaml`: calendars and SLA policies."""

from __future__ import annotations

from datetime import datetime
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from yaml.nodes import Node, ScalarNode

from app.kernel.vocabulary import PRIORITIES
from app.rules.refs import Refs
from app.rules.shapes import CALENDAR, DURATIONS, HOLIDAYS, POLICY, SLA_FILE, STEP
from app.rules.yamlnodes import (
    YamlFile,
    boolean,
    entries,
    integer,
    is_scalar_of,
    mapping_items,
    number,
    sequence,
    string,
    strings,
)
from app.timekeeping.calendar import DAYS, Calendar, Interval, parse_closed, parse_days, parse_interval
from app.timekeeping.policy import TIMERS, Duration, EscalationStep, SlaPolicy, parse_duration, parse_percent

_UTC = ZoneInfo("UTC")


def read_sla(f: YamlFile, refs: Refs) -> tuple[dict[str, Calendar], dict[str, SlaPolicy]]:
    """Calendars and policies. Department and calendar references go to `refs`."""
    calendars: dict[str, Calendar] = {}
    policies: dict[str, SlaPolicy] = {}
    if f.root is None:
        f.empty("empty file: expected 'calendars' and 'policies'")
        return calendars, policies
    top = entries(f, f.root, "sla.yaml", required=SLA_FILE.required_keys)
    if top is None:
        return calendars, policies
    for key, node in (mapping_items(f, top["calendars"][1], "calendars") if "calendars" in top else None) or []:
        if refs.define("calendar", str(key.value), f, key):
            calendar = _calendar(f, str(key.value), node)
            if calendar is not None:
                calendars[calendar.name] = calendar
    for key, node in (mapping_items(f, top["policies"][1], "policies") if "policies" in top else None) or []:
        if refs.define("sla_policy", str(key.value), f, key):
            policy = _policy(f, str(key.value), node, refs)
            if policy is not None:
                policies[policy.name] = policy
    return calendars, policies


def _calendar(f: YamlFile, name: str, node: Node) -> Calendar | None:
    what = f"calendar '{name}'"
    keys = entries(f, node, what, required=CALENDAR.required_keys, optional=CALENDAR.optional_keys)
    if keys is None or "timezone" not in keys or "hours" not in keys:
        return None
    tz_name = string(f, keys["timezone"][1], f"{what}: timezone")
    tz: ZoneInfo | None = None
    if tz_name is not None:
        try:
            tz = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            f.error(keys["timezone"][1], f"{what}: unknown time zone '{tz_name}' (use an IANA name)")
    hours_node = keys["hours"][1]
    always = is_scalar_of(hours_node, "str") and hours_node.value == "24/7"
    week = ((),) * 7 if always else _week(f, hours_node, what)
    country, subdiv = _holidays(f, keys["holidays"][1], what) if "holidays" in keys else (None, None)
    closed: list[tuple[datetime, datetime]] = []
    for text, item in strings(f, keys["closed"][1], f"{what}: closed") if "closed" in keys else []:
        try:
            closed.append(parse_closed(text, tz or _UTC))
        except ValueError as exc:
            f.error(item, f"{what}: {exc}")
    if tz is None or week is None or ("holidays" in keys and country is None):
        return None
    return Calendar(name, tz, always, week, country, subdiv, tuple(closed))


def _week(f: YamlFile, node: Node, what: str) -> tuple[tuple[Interval, ...], ...] | None:
    if isinstance(node, ScalarNode):
        f.error(node, f"{what}: hours must be 24/7 or a mapping of days to intervals")
        return None
    days: list[list[tuple[Interval, Node]]] = [[] for _ in DAYS]
    ok = True
    for key, value in mapping_items(f, node, f"{what}: hours") or []:
        try:
            numbers = parse_days(str(key.value))
        except ValueError as exc:
            f.error(key, f"{what}: {exc}")
            ok = False
            continue
        for text, item in strings(f, value, f"{what}: hours '{key.value}'"):
            try:
                interval = parse_interval(text)
            except ValueError as exc:
                f.error(item, f"{what}: {exc}")
                ok = False
                continue
            for day in numbers:
                days[day].append((interval, item))
    clashes: dict[tuple[int, int], tuple[Node, Node, list[str]]] = {}
    for day, intervals in enumerate(days):
        for first, second in _overlaps(intervals):
            clashes.setdefault((id(first), id(second)), (first, second, []))[2].append(DAYS[day])
    for first, second, names in clashes.values():
        f.error(second, f"{what}: {second.value} overlaps {first.value} ({f.where(first)}) on {', '.join(names)}")
    if clashes or not ok:
        return None
    if not any(days):
        # Deadline arithmetic on such a calendar could never end: say so here, not in the sweeper.
        f.error(node, f"{what}: hours has no open interval on any day (use 24/7 for always open)")
        return None
    return tuple(tuple(sorted(i for i, _ in d)) for d in days)


def _overlaps(intervals: list[tuple[Interval, Node]]) -> list[tuple[Node, Node]]:
    """Pairs (first, second in file order) of intervals of one day that overlap."""
    out: list[tuple[Node, Node]] = []
    widest: tuple[Interval, Node] | None = None
    for interval, node in sorted(intervals, key=lambda x: x[0]):
        if widest is not None and interval[0] < widest[0][1] and node is not widest[1]:
            first, second = sorted((widest[1], node), key=lambda n: (n.start_mark.line, n.start_mark.column))
            out.append((first, second))
        if widest is None or interval[1] > widest[0][1]:
            widest = (interval, node)
    return out


def _holidays(f: YamlFile, node: Node, what: str) -> tuple[str | None, str | None]:
    keys = entries(f, node, f"{what}: holidays", required=HOLIDAYS.required_keys,
                   optional=HOLIDAYS.optional_keys)
    if keys is None or "country" not in keys:
        return None, None
    country = string(f, keys["country"][1], f"{what}: holidays country")
    supported = holidays.list_supported_countries()
    if country is not None and country not in supported:
        f.error(keys["country"][1], f"{what}: '{country}' is not a country code the holidays package knows")
        return None, None
    subdiv = string(f, keys["subdiv"][1], f"{what}: holidays subdiv") if "subdiv" in keys else None
    if country is not None and subdiv is not None and subdiv not in supported[country]:
        f.error(keys["subdiv"][1], f"{what}: '{subdiv}' is not a subdivision of {country}")
        return None, None
    return country, subdiv


def _policy(f: YamlFile, name: str, node: Node, refs: Refs) -> SlaPolicy | None:
    what = f"policy '{name}'"
    keys = entries(f, node, what, required=POLICY.required_keys, optional=POLICY.optional_keys)
    if keys is None:
        return None
    durations: dict[str, MappingProxyType[str, Duration]] = {}
    for timer in TIMERS:
        if timer in keys:
            per = _durations(f, keys[timer][1], f"{what}: {timer}")
            if per is not None:
                durations[timer] = MappingProxyType(per)
    calendar = string(f, keys["calendar"][1], f"{what}: calendar") if "calendar" in keys else None
    if calendar is not None:
        refs.need("calendar", calendar, f, keys["calendar"][1])
    warn_at = _fraction(f, keys["warn_at"][1], f"{what}: warn_at", upper=1.0) if "warn_at" in keys else 0.75
    steps = [_step(f, n, what, refs) for n in sequence(f, keys["escalation"][1], f"{what}: escalation") or []] \
        if "escalation" in keys else []
    if len(durations) < len(TIMERS) or warn_at is None or any(s is None for s in steps):
        return None
    return SlaPolicy(name, MappingProxyType(durations), warn_at, calendar,
                     tuple(s for s in steps if s is not None))


def _durations(f: YamlFile, node: Node, what: str) -> dict[str, Duration] | None:
    keys = entries(f, node, what, required=DURATIONS.required_keys)
    if keys is None:
        return None
    out: dict[str, Duration] = {}
    for priority, (_, value) in keys.items():
        text = string(f, value, f"{what}: {priority}")
        if text is None:
            continue
        try:
            out[priority] = parse_duration(text)
        except ValueError as exc:
            f.error(value, f"{what}: {priority}: {exc}")
    return out if len(out) == len(PRIORITIES) else None


def _fraction(f: YamlFile, node: Node, what: str, *, upper: float | None) -> float | None:
    if is_scalar_of(node, "int", "float"):
        value = number(f, node, what)
    else:
        text = string(f, node, what)
        try:
            value = parse_percent(text) if text is not None else None
        except ValueError as exc:
            f.error(node, f"{what}: {exc}")
            return None
    if value is None:
        return None
    if value <= 0 or (upper is not None and value > upper):
        f.error(node, f"{what}: must be above 0%" + (f" and at most {upper:.0%}" if upper else ""))
        return None
    return float(value)


def _step(f: YamlFile, node: Node, what: str, refs: Refs) -> EscalationStep | None:
    keys = entries(f, node, f"{what}: escalation step", required=STEP.required_keys,
                   optional=STEP.optional_keys)
    if keys is None or "timer" not in keys or "after" not in keys:
        return None
    timer = string(f, keys["timer"][1], f"{what}: escalation timer")
    if timer is not None and timer not in TIMERS:
        f.error(keys["timer"][1], f"{what}: unknown timer '{timer}' (known: {', '.join(TIMERS)})")
        timer = None
    after = _fraction(f, keys["after"][1], f"{what}: escalation after", upper=None)
    raise_by = integer(f, keys["raise_priority"][1], f"{what}: raise_priority") if "raise_priority" in keys else None
    if raise_by is not None and not 1 <= raise_by <= 3:
        f.error(keys["raise_priority"][1], f"{what}: raise_priority must be 1, 2 or 3 (levels up)")
        return None
    handoff = string(f, keys["handoff_to"][1], f"{what}: handoff_to") if "handoff_to" in keys else None
    if handoff is not None:
        refs.need("department", handoff, f, keys["handoff_to"][1])
    tag = string(f, keys["tag"][1], f"{what}: tag") if "tag" in keys else None
    notify = boolean(f, keys["notify"][1], f"{what}: notify") if "notify" in keys else False
    if not ({"raise_priority", "handoff_to", "tag", "notify"} & keys.keys()):
        f.error(node, f"{what}: an escalation step needs raise_priority, handoff_to, tag or notify")
        return None
    if timer is None or after is None or notify is None:
        return None
    return EscalationStep(timer, after, raise_by, handoff, tag, notify)

