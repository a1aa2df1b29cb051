"""SLA timers, and the case's nearest deadline and worst timer state for the queue.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sla_timers",
        sa.Column("id", ID, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("calendar", sa.String(length=64), nullable=False),
        sa.Column("policy", sa.String(length=64), nullable=False),
        sa.Column("priority", sa.String(length=2), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("budget_seconds", sa.Float(), nullable=False),
        sa.Column("elapsed_seconds", sa.Float(), nullable=False),
        sa.Column("run_from", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("due_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("warn_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("warned_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("breached_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("stopped_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalations_done", sa.Integer(), nullable=False),
        sa.Column("next_fire_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_sla_timers_case_id_cases"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_timers")),
    )
    op.create_index("ix_sla_timers_next_fire", "sla_timers", ["next_fire_at"], unique=False,
                    postgresql_where=sa.text("next_fire_at IS NOT NULL"),
                    sqlite_where=sa.text("next_fire_at IS NOT NULL"))
    op.create_index("ix_sla_timers_case", "sla_timers", ["case_id", "kind", "active"], unique=False)
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_at", app.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("sla_state", sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f("ix_cases_due_at"), ["due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_due_at"))
        batch_op.drop_column("sla_state")
        batch_op.drop_column("due_at")
    op.drop_index("ix_sla_timers_case", table_name="sla_timers")
    op.drop_index("ix_sla_timers_next_fire", table_name="sla_timers")
    op.drop_table("sla_timers")
