"""SLA timers that ended without their goal are `stopped` (with a `stop_reason`), no longer `met`

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02

Before this revision every ended timer whose deadline had not passed was stored `met`, also when
its goal never happened: sales' `department_ack` showed `met` after sales handed the case back
without acknowledging it. The stored rows are reclassified from the timeline: an action writes its
timeline entry at the same instant as it stops the timers (`case_events.at` = `sla_timers.stopped_at`).

For each `met` row, the entries of its case at its `stopped_at` decide:
- its goal is there (`responded` for first_response/next_response; `acknowledged`, or `resolved`
  by the department itself, for department_ack; `resolved` for resolution): it stays `met`;
- else `merged`, `closed`, `handed_off` / `rerouted` / `reclassified` (handed on), or `resolved`
  by webcare (for department_ack) there: `stopped` with that reason (`merged`, `closed`,
  `handed_on`, `resolved`);
- else (no entry at that instant: the timeline does not tell): `stopped` with reason `unknown`.
  A success that cannot be shown is not reported as one: such timers leave compliance like every
  stopped timer. The count of each outcome is logged.

`breached` rows are left alone (a missed deadline stays missed). Downgrade turns `stopped` back
into `met` (the old code's meaning) and drops the column.
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

GOAL = {  # timeline entries that are a timer kind's goal; "resolved@department": resolved by the department
    "first_response": ("responded",),
    "next_response": ("responded",),
    "department_ack": ("acknowledged", "resolved@department"),
    "resolution": ("resolved",),
}
# Tried in this order: the first whose entry is at the timer's stop instant gives the reason.
STOPS = (("merged", ("merged",)), ("closed", ("closed",)),
         ("handed_on", ("handed_off", "rerouted", "reclassified")), ("resolved", ("resolved",)))


def _entry_at_stop(types: Sequence[str]) -> str:
    """SQL: the timer's case has a timeline entry of one of `types` at the instant it stopped."""
    plain = [t for t in types if "@" not in t]
    by_actor = [t.split("@") for t in types if "@" in t]
    conditions = []
    if plain:
        conditions.append("e.type IN (" + ", ".join(f"'{t}'" for t in plain) + ")")
    conditions += [f"(e.type = '{t}' AND e.actor_type = '{actor}')" for t, actor in by_actor]
    return ("EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = sla_timers.case_id "
            f"AND e.at = sla_timers.stopped_at AND ({' OR '.join(conditions)}))")


def upgrade() -> None:
    with op.batch_alter_table("sla_timers") as batch:
        batch.add_column(sa.Column("stop_reason", sa.String(length=16), nullable=True))
    bind = op.get_bind()
    counts: dict[str, int] = {}
    for kind, goal in GOAL.items():
        pending = f"state = 'met' AND active = false AND kind = '{kind}' AND NOT {_entry_at_stop(goal)}"
        for reason, types in STOPS:
            # `pending` has left out the goals, so a `resolved` found here was webcare's, not the department's
            done = bind.execute(sa.text(f"UPDATE sla_timers SET state = 'stopped', stop_reason = '{reason}' "
                                        f"WHERE {pending} AND {_entry_at_stop(types)}")).rowcount
            counts[reason] = counts.get(reason, 0) + done
        counts["unknown"] = counts.get("unknown", 0) + bind.execute(sa.text(
            f"UPDATE sla_timers SET state = 'stopped', stop_reason = 'unknown' WHERE {pending}")).rowcount
    kept = bind.execute(sa.text("SELECT count(*) FROM sla_timers WHERE state = 'met'")).scalar_one()
    log.info("sla timers: %d stay met; stopped without their goal: %s", kept,
             ", ".join(f"{reason} {n}" for reason, n in counts.items()))


def downgrade() -> None:
    op.execute("UPDATE sla_timers SET state = 'met' WHERE state = 'stopped'")
    with op.batch_alter_table("sla_timers") as batch:
        batch.drop_column("stop_reason")
