"""mentions and cases: the account the customer wrote to

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

A company runs many accounts per platform (brand, business, jobs, regional); which one a customer
wrote to often decides the owner, so rules match on it and the queue filters by it. The case keeps
the account of its opening mention and that account's display name from connectors.yaml.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('mentions') as batch:
        batch.add_column(sa.Column('account', sa.String(length=200), nullable=True))
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('account', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('account_name', sa.String(length=200), nullable=True))
    op.create_index(op.f('ix_cases_account'), 'cases', ['account'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_cases_account'), table_name='cases')
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('account_name')
        batch.drop_column('account')
    with op.batch_alter_table('mentions') as batch:
        batch.drop_column('account')
