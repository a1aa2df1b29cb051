"""Runs the Alembic migrations: the only way the schema is made, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

import migrations

MIGRATIONS_DIR = Path(migrations.__file__).parent

# Indexes whose shape differs per database (INCLUDE on PostgreSQL, trailing keys on SQLite; trigram
# indexes on PostgreSQL only), made only by their migration: autogenerate must leave them alone.
MIGRATION_ONLY_INDEXES = frozenset({"ix_cases_queue", "ix_mentions_text_trgm", "ix_mentions_author_handle_trgm",
                                    "ix_mentions_author_name_trgm"})


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic's autogenerate filter: everything but `MIGRATION_ONLY_INDEXES`."""
    return not (type_ == "index" and name in MIGRATION_ONLY_INDEXES)


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at the packaged `migrations/` folder."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# The key of the PostgreSQL advisory lock that serialises migrations: any fixed 64-bit number
# that nothing else in the database uses ("webcare" in ASCII).
MIGRATION_LOCK_KEY = 0x77656263617265


def upgrade_to_head(engine: Engine) -> None:
    """Bring the database behind `engine` to the newest schema (idempotent).

    Safe to call from any number of processes at once (every replica migrates at start): on
    PostgreSQL the upgrade runs under a transaction-scoped advisory lock, so one process migrates
    while the others wait and then find the schema at head. SQLite's `BEGIN IMMEDIATE` already
    gives the upgrade's transaction the file's write lock.
    """
    config = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
