"""login_failures: failed logins per username and per client address, for the login throttle

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

Kept in the database so that every replica throttles the same attacker, and ops can see a lockout
(`webcare users throttled`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'login_failures',
        sa.Column('key', sa.String(length=300), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('blocked_until', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_login_failures')),
    )
    op.create_index(op.f('ix_login_failures_last_failure_at'), 'login_failures', ['last_failure_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_login_failures_last_failure_at'), table_name='login_failures')
    op.drop_table('login_failures')
