"""users: the language becomes optional (unset: follow the browser), keyboard shortcuts switchable

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02

`language` NULL means "the browser's Accept-Language" (new users start so); the values existing
users have are kept, since a stored `en` may have been chosen. `keyboard_shortcuts` (default on)
lets a user turn the single-key shortcuts off (WCAG 2.1.4).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('language', existing_type=sa.String(length=8), nullable=True)
        batch_op.add_column(sa.Column('keyboard_shortcuts', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade() -> None:
    op.execute("UPDATE users SET language = 'en' WHERE language IS NULL")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('keyboard_shortcuts')
        batch_op.alter_column('language', existing_type=sa.String(length=8), nullable=False)
