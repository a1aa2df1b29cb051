"""cases: a partial index for the agents' queue (the not-closed cases only)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

The queue orders the not-closed cases (a few percent of all cases, however long the history grows)
and counts them per filter value. Keyed on the queue order (`app.ui.queue.queue_order`) and carrying
every filter column, this index answers the queue's id lookup, its total and its per-filter counts
on its own (index-only scans on PostgreSQL), without reading the wide rows of the other cases.
When the queue order changes, this index changes with it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOT_CLOSED = "status <> 'closed'"
FILTER_COLUMNS = ['status', 'department', 'channel', 'assignee_id', 'sla_state']


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.create_index('ix_cases_queue', 'cases', ['due_at', 'priority', 'created_at', 'id'],
                        postgresql_include=FILTER_COLUMNS, postgresql_where=sa.text(NOT_CLOSED))
    else:  # SQLite has no INCLUDE: the filter columns become trailing keys
        op.create_index('ix_cases_queue', 'cases', ['due_at', 'priority', 'created_at', 'id', *FILTER_COLUMNS],
                        sqlite_where=sa.text(NOT_CLOSED))


def downgrade() -> None:
    op.drop_index('ix_cases_queue', table_name='cases')
