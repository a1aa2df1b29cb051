"""mentions: trigram indexes for case search (`q`) on PostgreSQL

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

`q` matches a substring of any mention's text, the author's handle or name, case-insensitively
(`lower(col) LIKE '%…%'`). A b-tree cannot answer a leading wildcard; a pg_trgm GIN index on each
lowered column can, for search terms of three characters or more. pg_trgm ships with PostgreSQL
and is a trusted extension (the database owner may create it). SQLite, the single-node default,
scans.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = {"ix_mentions_text_trgm": "text", "ix_mentions_author_handle_trgm": "author_handle",
           "ix_mentions_author_name_trgm": "author_name"}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in COLUMNS.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON mentions USING gin (lower({column}) gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in COLUMNS:
        op.execute(f"DROP INDEX IF EXISTS {name}")
