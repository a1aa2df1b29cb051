"""connectors: inbound dead letters, enrichment jobs, platform replies, mention edits

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

Platform connectors keep authentic bodies they cannot parse (`inbound_dead_letters`), complete
Instagram mentions after the commit (`mention_enrichments`), send agents' replies through the
platforms (`platform_replies`) and record when a customer edited a message (`mentions.edited_at`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db
from sqlalchemy.dialects import postgresql

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('inbound_dead_letters',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('connector', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('content_type', sa.String(length=200), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('events_failed', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('replays', sa.Integer(), nullable=False),
    sa.Column('received_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('replayed_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_result', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_dead_letters'))
    )
    with op.batch_alter_table('inbound_dead_letters', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_dead_letters_status', ['status', 'id'], unique=False)

    op.create_table('mention_enrichments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('mention_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('connector', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lease_owner', sa.String(length=100), nullable=True),
    sa.Column('lease_until', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mention_id'], ['mentions.id'], name=op.f('fk_mention_enrichments_mention_id_mentions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mention_enrichments')),
    sa.UniqueConstraint('mention_id', name=op.f('uq_mention_enrichments_mention_id'))
    )
    with op.batch_alter_table('mention_enrichments', schema=None) as batch_op:
        batch_op.create_index('ix_mention_enrichments_due', ['status', 'next_attempt_at'], unique=False)

    op.create_table('platform_replies',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('mention_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('connector', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('method', sa.String(length=40), nullable=False),
    sa.Column('target', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('uncertain', sa.Boolean(), nullable=False),
    sa.Column('next_attempt_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lease_owner', sa.String(length=100), nullable=True),
    sa.Column('lease_until', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('platform_reply_id', sa.String(length=200), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('requested_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_platform_replies_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['mention_id'], ['mentions.id'], name=op.f('fk_platform_replies_mention_id_mentions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_platform_replies'))
    )
    with op.batch_alter_table('platform_replies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_platform_replies_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_platform_replies_due', ['status', 'next_attempt_at'], unique=False)

    with op.batch_alter_table('mentions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('edited_at', app.db.UTCDateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('mentions', schema=None) as batch_op:
        batch_op.drop_column('edited_at')

    with op.batch_alter_table('platform_replies', schema=None) as batch_op:
        batch_op.drop_index('ix_platform_replies_due')
        batch_op.drop_index(batch_op.f('ix_platform_replies_case_id'))

    op.drop_table('platform_replies')
    with op.batch_alter_table('mention_enrichments', schema=None) as batch_op:
        batch_op.drop_index('ix_mention_enrichments_due')

    op.drop_table('mention_enrichments')
    with op.batch_alter_table('inbound_dead_letters', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_dead_letters_status')

    op.drop_table('inbound_dead_letters')
