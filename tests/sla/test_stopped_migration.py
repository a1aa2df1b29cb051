"""Migration 0014 reclassifies stored `met` timers from the timeline: met only where the goal is
there at the instant the timer stopped; else stopped with the reason the timeline shows, or
`unknown` when it shows nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from app.db import JSONValue, UTCDateTime, make_engine
from app.migrate import alembic_config
from tests.dbutil import scratch_database_url

META = sa.MetaData()
CASES = sa.Table("cases", META, sa.Column("id", sa.Integer, primary_key=True), *(
    sa.Column(name, sa.String) for name in ("status", "department", "category", "priority", "sla_policy", "channel",
                                            "connector", "ruleset_version")),
    sa.Column("author", JSONValue), sa.Column("routing", JSONValue),
    *(sa.Column(name, UTCDateTime) for name in ("created_at", "updated_at", "last_mention_at")))
EVENTS = sa.Table("case_events", META, sa.Column("id", sa.Integer, primary_key=True), sa.Column("case_id", sa.Integer),
                  sa.Column("type", sa.String), sa.Column("actor_type", sa.String), sa.Column("actor", sa.String),
                  sa.Column("at", UTCDateTime), sa.Column("data", JSONValue))
TIMERS = sa.Table("sla_timers", META, sa.Column("id", sa.Integer, primary_key=True), sa.Column("case_id", sa.Integer),
                  *(sa.Column(name, sa.String) for name in ("kind", "department", "calendar", "policy", "priority",
                                                             "state")),
                  sa.Column("active", sa.Boolean), sa.Column("budget_seconds", sa.Float),
                  sa.Column("elapsed_seconds", sa.Float), sa.Column("escalations_done", sa.Integer),
                  *(sa.Column(name, UTCDateTime) for name in ("started_at", "stopped_at", "breached_at")))
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

# (timer id, kind, state stored by the old code, stopped after (minutes), timeline entries at that instant
#  as (type, actor_type)) -> the state and stop_reason after the migration
ROWS = [
    (1, "first_response", "met", 10, [("responded", "user")], ("met", None)),
    (2, "department_ack", "met", 20, [("acknowledged", "department")], ("met", None)),
    (3, "department_ack", "met", 30, [("rerouted", "department")], ("stopped", "handed_on")),
    (4, "department_ack", "met", 40, [("sla_escalated", "system"), ("handed_off", "escalation")],
     ("stopped", "handed_on")),
    (5, "department_ack", "met", 50, [("resolved", "department")], ("met", None)),
    (6, "department_ack", "met", 60, [("resolved", "user")], ("stopped", "resolved")),
    (7, "resolution", "met", 70, [("resolved", "user")], ("met", None)),
    (8, "resolution", "met", 80, [("closed", "user")], ("stopped", "closed")),
    (9, "first_response", "met", 90, [("merged", "user")], ("stopped", "merged")),
    (10, "department_ack", "met", 100, [("reclassified", "rule"), ("handed_off", "rule")], ("stopped", "handed_on")),
    (11, "resolution", "met", 110, [], ("stopped", "unknown")),  # nothing at that instant: cannot tell
    (12, "department_ack", "breached", 120, [("handed_off", "user")], ("breached", None)),  # left alone
]


def test_stored_met_timers_are_reclassified_from_the_timeline(tmp_path: Path) -> None:
    with scratch_database_url(tmp_path) as url:
        engine = make_engine(url)
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0013")
            connection.execute(CASES.insert(), [{
                "id": 1, "status": "closed", "department": "billing", "category": "general", "priority": "P3",
                "sla_policy": "standard", "channel": "x", "connector": "listening-tool", "ruleset_version": "v1",
                "author": {}, "routing": {}, "created_at": T0, "updated_at": T0, "last_mention_at": T0}])
            for timer_id, kind, state, minutes, entries, _ in ROWS:
                stopped = T0 + timedelta(minutes=minutes)
                connection.execute(TIMERS.insert(), [{
                    "id": timer_id, "case_id": 1, "kind": kind, "department": "billing", "calendar": "always",
                    "policy": "standard", "priority": "P3", "state": state, "active": False, "budget_seconds": 3600.0,
                    "elapsed_seconds": 60.0, "escalations_done": 0, "started_at": T0, "stopped_at": stopped,
                    "breached_at": stopped if state == "breached" else None}])
                for type_, actor_type in entries:
                    connection.execute(EVENTS.insert(), [{"case_id": 1, "type": type_, "actor_type": actor_type,
                                                          "actor": "x", "at": stopped, "data": {}}])
            # an entry one second off is not the instant the timer stopped
            connection.execute(EVENTS.insert(), [{"case_id": 1, "type": "resolved", "actor_type": "user", "actor": "x",
                                                  "at": T0 + timedelta(minutes=110, seconds=1), "data": {}}])
        with engine.begin() as connection:  # this revision alone: later ones are not under test here
            config.attributes["connection"] = connection
            command.upgrade(config, "0014")
        with engine.connect() as connection:
            got = {i: (state, reason) for i, state, reason in
                   connection.execute(sa.text("SELECT id, state, stop_reason FROM sla_timers"))}
        assert got == {timer_id: expected for timer_id, *_, expected in ROWS}
        with engine.begin() as connection:  # down again: stopped reads as the old `met`
            config.attributes["connection"] = connection
            command.downgrade(config, "0013")
            states = dict(connection.execute(sa.text("SELECT id, state FROM sla_timers")).all())
        assert states == {timer_id: "breached" if timer_id == 12 else "met" for timer_id, *_ in ROWS}
        engine.dispose()
