"""case_reads: when each user last opened each case, for the queue's unread markers

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02

One row per (user, case) the user has opened; the queue looks up the 50 rows of the page it shows
by primary key, so the table needs no other index.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'case_reads',
        sa.Column('user_id', ID, nullable=False),
        sa.Column('case_id', ID, nullable=False),
        sa.Column('seen_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_case_reads_user_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_reads_case_id_cases'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'case_id', name=op.f('pk_case_reads')),
    )


def downgrade() -> None:
    op.drop_table('case_reads')
