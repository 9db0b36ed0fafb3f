"""Consistent copies of a database while others read and write it: backups and
private snapshots."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from registry.store import writers
from registry.store.connection import BUSY_TIMEOUT_SECONDS, DatabaseError, StorageFullError, connect, is_full
from registry.store.schema import integrity_problems


def backup_database(source: Path, target: Path) -> int:
    """Copy a database with SQLite's online backup API (one consistent state, writers go
    on); return the number of rows copied, over all tables."""
    if not source.exists():
        raise DatabaseError(f"{source}: database file not found")
    if target.exists():
        raise DatabaseError(f"{target}: exists already")
    origin = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_SECONDS)
    copy = sqlite3.connect(target)
    try:
        origin.backup(copy)
        tables = [r[0] for r in copy.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return sum(copy.execute(f"SELECT count(*) FROM [{t}]").fetchone()[0] for t in tables)
    except sqlite3.OperationalError as e:
        if is_full(e):
            raise StorageFullError(f"{target}: {e}") from e
        raise
    finally:
        copy.close()
        origin.close()


def integrity_problems_of(path: Path) -> list[str]:
    """integrity_check and foreign_key_check of a database file, opened read-only."""
    db = connect(path, readonly=True)
    try:
        return integrity_problems(db)
    finally:
        db.close()


@contextmanager
def snapshot(path: Path) -> Iterator[Path]:
    """A private copy of a database, made with SQLite's online backup (readers and
    writers of the original go on), deleted afterwards.

    The copy holds everything the original does (of intake.db: emails, password hashes),
    so it is created 0600 and named with this process's id: a process killed while it
    used the copy (a preview stopped by gunicorn's timeout) leaves it behind, and
    `registry/services/cleanup.py` deletes it once that process has ended."""
    if not path.exists():
        raise DatabaseError(f"{path}: database file not found (run `registry init` first)")
    handle, name = tempfile.mkstemp(prefix=f".snapshot-{os.getpid()}-", suffix=".db", dir=path.parent)
    os.close(handle)
    copy = Path(name)
    source, target = sqlite3.connect(path), sqlite3.connect(copy)
    try:
        source.backup(target)
        target.close()
        source.close()
        yield copy
    finally:
        target.close()
        source.close()
        for suffix in ("", "-wal", "-shm", ".write-lock", ".waiting"):
            copy.with_name(copy.name + suffix).unlink(missing_ok=True)
        writers.forget(str(copy))
