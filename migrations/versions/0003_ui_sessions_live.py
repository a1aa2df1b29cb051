"""ui_sessions for the agents' UI, and a NOTIFY on every case event (live updates on PostgreSQL)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

The broadcaster of `app/ui/live.py` LISTENs on `webcare_case_changes`; the trigger sends the case id
of each new `case_events` row. PostgreSQL delivers notifications only when the writing transaction
commits, and folds identical payloads of one transaction into one. SQLite has no NOTIFY: there the
broadcaster reads the event sequence instead, so this migration adds only the table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION webcare_notify_case_change() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('webcare_case_changes', NEW.case_id::text);
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""
NOTIFY_TRIGGER = """
CREATE TRIGGER case_events_notify AFTER INSERT ON case_events
FOR EACH ROW EXECUTE FUNCTION webcare_notify_case_change()
"""


def upgrade() -> None:
    op.create_table('ui_sessions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ui_sessions_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ui_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_ui_sessions_token_hash'))
    )
    with op.batch_alter_table('ui_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ui_sessions_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ui_sessions_expires_at'), ['expires_at'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(NOTIFY_FUNCTION)
        op.execute(NOTIFY_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS case_events_notify ON case_events')
        op.execute('DROP FUNCTION IF EXISTS webcare_notify_case_change()')
    with op.batch_alter_table('ui_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ui_sessions_expires_at'))
        batch_op.drop_index(batch_op.f('ix_ui_sessions_user_id'))
    op.drop_table('ui_sessions')
