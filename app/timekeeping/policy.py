"""SLA policy values parsed from `sla.yaml` (SPEC §1): durations per timer and priority, the
warning point and escalation steps. Pure values; deadline arithmetic lives elsewhere."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

TIMERS = ("first_response", "next_response", "department_ack", "resolution")
Unit = Literal["s", "m", "h", "d"]
_DURATION = re.compile(r"^([1-9]\d*)([smhd])$")
_PERCENT = re.compile(r"^(\d+(?:\.\d+)?)%$")


@dataclass(frozen=True, slots=True)
class Duration:
    """`amount` open seconds, minutes or hours, or whole open days (`d`)."""

    amount: int
    unit: Unit

    @property
    def open_seconds(self) -> int | None:
        """Open seconds for s/m/h; None for days, which count whole open days instead."""
        factor = {"s": 1, "m": 60, "h": 3600}.get(self.unit)
        return None if factor is None else self.amount * factor

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


def parse_duration(text: str) -> Duration:
    """`15m`, `4h`, `30s`, `2d`; a positive whole number and one unit. Raises ValueError."""
    m = _DURATION.match(text.strip())
    if not m:
        raise ValueError(f"'{text}' is not a duration like 30s, 15m, 4h or 2d")
    unit: Unit = m.group(2)  # type: ignore[assignment]
    return Duration(int(m.group(1)), unit)


def parse_percent(text: str) -> float:
    """`75%` as 0.75. Raises ValueError."""
    m = _PERCENT.match(text.strip())
    if not m:
        raise ValueError(f"'{text}' is not a percentage like 75%")
    return float(m.group(1)) / 100


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """Fires once when `after` (a fraction: 1.0 = the deadline) of `timer`'s open time has passed."""

    timer: str
    after: float
    raise_priority: int | None = None
    handoff_to: str | None = None
    tag: str | None = None
    notify: bool = False


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """Durations per timer and priority; `calendar` (optional) is the one `resolution` runs on."""

    name: str
    durations: Mapping[str, Mapping[str, Duration]]
    warn_at: float
    calendar: str | None = None
    escalation: tuple[EscalationStep, ...] = ()

    def duration(self, timer: str, priority: str) -> Duration:
        """The duration of a timer at a priority (both validated at load)."""
        return self.durations[timer][priority]
