"""rules: the version each process runs, reload requests between processes, rule hit counters

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

`rule_processes` holds one row per running `serve` or `worker` process (its rule-set version and
last reload outcome, refreshed by a heartbeat), so `GET /api/v1/rules` can say whether all agree.
A `POST /api/v1/rules/reload` adds a `rule_reload_requests` row that the other processes poll.
`rule_hits` sums, over every process, the mentions each rule matched and decided.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = app.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "rule_processes",
        sa.Column("id", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("reload_successful", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_success_at", UTC, nullable=True),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("heartbeat_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_processes")),
    )
    op.create_index(op.f("ix_rule_processes_heartbeat_at"), "rule_processes", ["heartbeat_at"], unique=False)
    op.create_table(
        "rule_reload_requests",
        sa.Column("id", ID, nullable=False),
        sa.Column("requested_by", sa.String(length=120), nullable=False),
        sa.Column("requested_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_reload_requests")),
    )
    op.create_index(op.f("ix_rule_reload_requests_requested_at"), "rule_reload_requests", ["requested_at"],
                    unique=False)
    op.create_table(
        "rule_hits",
        sa.Column("rule_id", sa.String(length=200), nullable=False),
        sa.Column("matched", sa.BigInteger(), nullable=False),
        sa.Column("decided", sa.BigInteger(), nullable=False),
        sa.Column("last_hit_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("rule_id", name=op.f("pk_rule_hits")),
    )


def downgrade() -> None:
    op.drop_table("rule_hits")
    op.drop_index(op.f("ix_rule_reload_requests_requested_at"), table_name="rule_reload_requests")
    op.drop_table("rule_reload_requests")
    op.drop_index(op.f("ix_rule_processes_heartbeat_at"), table_name="rule_processes")
    op.drop_table("rule_processes")
