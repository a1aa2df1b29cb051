"""privacy markers: cases.anonymised_at and mentions.raw_purged_at

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02

The retention purge (`app.privacy.retention`) marks what it has done, so each run looks only at
what is newly past its retention: a closed case whose text and author data were blanked, and a
mention whose raw platform payload was dropped. Both nullable: adding them is online-safe.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('cases', sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('mentions', sa.Column('raw_purged_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('mentions') as batch:
        batch.drop_column('raw_purged_at')
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('anonymised_at')
