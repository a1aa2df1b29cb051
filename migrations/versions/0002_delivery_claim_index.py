"""deliveries: a partial index on the open deliveries, for the dispatcher's claim

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30

The dispatcher claims, per department, the oldest open deliveries in id order. Without this index
that walk passes every delivered row ever written; with it, only the open ones (pending or
delivering), which stay few however long the log grows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status IN ('pending', 'delivering')"


def upgrade() -> None:
    op.create_index('ix_deliveries_open', 'deliveries', ['department', 'id'], unique=False,
                    postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))


def downgrade() -> None:
    op.drop_index('ix_deliveries_open', table_name='deliveries')
