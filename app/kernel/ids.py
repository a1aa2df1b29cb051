"""The primary-key column type of every table: 64-bit on PostgreSQL, SQLite's rowid integer there."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer

ID = BigInteger().with_variant(Integer, "sqlite")
