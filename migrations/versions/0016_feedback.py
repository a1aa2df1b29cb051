"""Customer feedback (NPS and CSAT) per case, and integration tokens that may only post it

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("integration", sa.String(length=64), nullable=True))
    op.create_table(
        "case_feedback",
        sa.Column("case_id", ID, nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("csat", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=True),
        sa.Column("source_type", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_feedback_case_id_cases"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_feedback")),
    )
    op.create_index(op.f("ix_case_feedback_received_at"), "case_feedback", ["received_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_case_feedback_received_at"), table_name="case_feedback")
    op.drop_table("case_feedback")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("integration")
