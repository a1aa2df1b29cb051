"""deliveries: a partial index on the open deliveries by case, for the dispatcher's claim

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29

Each case reaches each endpoint in order, so only the oldest open delivery of a case (its head) may
be claimed. The claim finds the heads by grouping the open deliveries of a department by case; with
this index that is an index-only scan of the open rows alone. Before it, the claim tested every open
row for an earlier open one of its case, which read the case's whole delivery history each time
(about 50 ms per claim with 3,000 open deliveries).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status IN ('pending', 'delivering')"


def upgrade() -> None:
    op.create_index('ix_deliveries_open_case', 'deliveries', ['department', 'case_id', 'id'], unique=False,
                    postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))


def downgrade() -> None:
    op.drop_index('ix_deliveries_open_case', table_name='deliveries')
