"""Runs the Alembic migrations: the only way the schema is made, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

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


def upgrade_to_head(engine: Engine) -> None:
    """Bring the database behind `engine` to the newest schema (idempotent)."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
