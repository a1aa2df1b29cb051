"""`webcare backup`: a consistent copy of the database while the service runs.

SQLite: the SQLite online backup API copies the database page by page under its read lock, so the
copy is one committed state even while the service writes (copying the `.db` file by hand misses
whatever is still in the write-ahead log). PostgreSQL: `pg_dump --format=custom`, which reads one
snapshot; restore with `pg_restore --clean --if-exists -d URL FILE`.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from app.db import sqlalchemy_url


class BackupError(Exception):
    """The backup could not be made; the message says why and what to do."""


def backup_database(url: str, target: Path) -> str:
    """Write a consistent copy of the database at `url` to `target` (refusing to overwrite);
    returns how it was made."""
    if target.exists():
        raise BackupError(f"{target} exists; name a new file")
    target.parent.mkdir(parents=True, exist_ok=True)
    parsed = make_url(sqlalchemy_url(url))
    if parsed.get_backend_name() == "sqlite":
        source_path = parsed.database
        if not source_path or source_path == ":memory:" or not Path(source_path).exists():
            raise BackupError(f"no SQLite database file at {source_path!r}")
        _sqlite_backup(Path(source_path), target)
        return "sqlite online backup"
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError("pg_dump is not on PATH: install the PostgreSQL client of the server's version")
    plain = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    result = subprocess.run([pg_dump, "--format=custom", "--no-owner", f"--file={target}", f"--dbname={plain}"],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        target.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    target.chmod(0o600)  # the whole customer database: readable by its owner only
    return "pg_dump --format=custom"


def _sqlite_backup(source: Path, target: Path) -> None:
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    dst.close()
    src.close()
    target.chmod(0o600)
