"""routing_models: the suggested-department model, trained on a schedule and shared by every process

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

Rows are only added; the newest row of a name serves and old ones are pruned, so two processes
refreshing at once never overwrite each other.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'routing_models',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('trained_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('window_start', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('window_end', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('examples', sa.Integer(), nullable=False),
        sa.Column('model', app.db.JSONValue, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_models')),
    )
    op.create_index('ix_routing_models_name_id', 'routing_models', ['name', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_routing_models_name_id', table_name='routing_models')
    op.drop_table('routing_models')
