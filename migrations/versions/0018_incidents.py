"""incidents and incident_cases: storms of matching mentions and the cases they group

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02

A partial unique index keeps at most one open incident per watch, so two processes checking at
the same moment cannot both open one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OPEN = "status = 'open'"


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", ID, nullable=False),
        sa.Column("watch", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_hot_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("checked_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("usual", sa.Float(), nullable=False),
        sa.Column("needed", sa.Integer(), nullable=False),
        sa.Column("peak", sa.Integer(), nullable=False),
        sa.Column("ruleset_version", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_index("ux_incidents_open_watch", "incidents", ["watch"], unique=True,
                    postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
    op.create_index("ix_incidents_status_opened", "incidents", ["status", "opened_at"], unique=False)
    op.create_table(
        "incident_cases",
        sa.Column("incident_id", ID, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("joined_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_incident_cases_incident_id_incidents"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_incident_cases_case_id_cases"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("incident_id", "case_id", name=op.f("pk_incident_cases")),
    )
    op.create_index(op.f("ix_incident_cases_case_id"), "incident_cases", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_incident_cases_case_id"), table_name="incident_cases")
    op.drop_table("incident_cases")
    op.drop_index("ix_incidents_status_opened", table_name="incidents")
    op.drop_index("ux_incidents_open_watch", table_name="incidents")
    op.drop_table("incidents")
