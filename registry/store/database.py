"""Open, create and inspect the two SQLite databases from schema.sql."""

from __future__ import annotations

import fcntl
import os
import re
import sqlite3
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import sqlite_utils

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schema.sql"
PART_MARKER = re.compile(r"^-- part: (\w+)\s*$", re.MULTILINE)
BUSY_TIMEOUT_SECONDS = 5.0


class DatabaseError(Exception):
    """A database file is missing, unreadable or not one of ours."""


class StorageFullError(Exception):
    """The disk (or the database's size limit) is full: the transaction was rolled back."""


def is_full(error: sqlite3.Error) -> bool:
    """SQLITE_FULL: "database or disk is full" (also a write beyond max_page_count)."""
    return getattr(error, "sqlite_errorname", "") == "SQLITE_FULL" or "database or disk is full" in str(error)


@cache
def schema_parts() -> dict[str, str]:
    """Return schema.sql split into its named parts (shared, intake, registry)."""
    text = SCHEMA_PATH.read_text(encoding="utf-8")
    pieces = PART_MARKER.split(text)
    # pieces: [preamble, name1, body1, name2, body2, ...]
    return {pieces[i]: pieces[i + 1] for i in range(1, len(pieces), 2)}


def schema_for(kind: str) -> str:
    """Return the DDL that creates an intake or a registry database."""
    parts = schema_parts()
    return parts["shared"] + parts[kind]


def connect(path: Path, *, must_exist: bool = True, readonly: bool = False, max_mb: int = 0) -> sqlite_utils.Database:
    """Open a database file, with foreign keys on, failing clearly if it is not usable;
    `max_mb` caps the file's size (a write beyond it fails as if the disk were full)."""
    if must_exist and not path.exists():
        raise DatabaseError(f"{path}: database file not found (run `registry init` first)")
    uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_SECONDS)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        if not readonly and conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
            # In WAL mode, NORMAL never corrupts and keeps every commit through a crash or a
            # kill of the process (tested); only a power cut may lose the last commits.
            # It saves an fsync per commit, which otherwise caps how many submissions a
            # second the single writer can take.
            conn.execute("PRAGMA synchronous = NORMAL")
        if max_mb:
            page_size = conn.execute("PRAGMA page_size").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {max(1, max_mb * 1024 * 1024 // page_size)}")
    except sqlite3.DatabaseError as e:
        raise DatabaseError(f"{path}: not a usable SQLite database ({e})") from e
    return sqlite_utils.Database(conn)


_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


BULK_YIELD_SECONDS = 0.25  # at most, before each of a bulk writer's transactions


@contextmanager
def _writers_queue(path: str, bulk: bool = False) -> Iterator[None]:
    """Make writers of one database wait their turn in a queue, woken as soon as the one
    before them commits: a lock per database for the threads of this process, then an
    flock on `<database>.write-lock` for the processes (gunicorn's workers, the CLI).
    SQLite's own busy handler instead polls, sleeping up to 100 ms between tries, and lets
    a newcomer overtake a writer that has waited long: that made the slowest submissions
    under load wait hundreds of milliseconds.

    A `bulk` writer (an import's many short transactions) lets the others go first: they
    hold a shared flock on `<database>.waiting` while they wait and write, and it waits for
    none to hold one (at most BULK_YIELD_SECONDS). A released flock does not go to the
    process that waited longest: the import, still running, took it back after every chunk,
    and form posts queued for seconds during a million-row import."""
    if not path:  # an in-memory or temporary database has no other writer
        yield
        return
    waiting = None
    if bulk:
        _let_others_go_first(path)
    else:
        waiting = open(f"{path}.waiting", "a")  # noqa: SIM115 (held until the transaction ends)
        fcntl.flock(waiting, fcntl.LOCK_SH)
    try:
        with _thread_locks_guard:
            lock = _thread_locks.setdefault(path, threading.Lock())
        if not lock.acquire(timeout=BUSY_TIMEOUT_SECONDS):
            raise sqlite3.OperationalError("database is locked (another writer in this process held it too long)")
        try:
            with open(f"{path}.write-lock", "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, or the process dies
                yield
        finally:
            lock.release()
    finally:
        if waiting is not None:
            waiting.close()


def _let_others_go_first(path: str) -> None:
    deadline = time.monotonic() + BULK_YIELD_SECONDS
    with open(f"{path}.waiting", "a") as probe:
        while True:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return
                time.sleep(0.001)
                continue
            fcntl.flock(probe, fcntl.LOCK_UN)
            return


CHECKPOINT_EVERY = 100  # write transactions of one process to one database between checkpoints
_commits: dict[str, int] = {}
_checkpointing: set[str] = set()
_checkpointing_guard = threading.Lock()


def checkpoint_outside_the_queue(db: sqlite_utils.Database) -> None:
    """Leave this connection's WAL checkpoints to `transaction`, which starts one after every
    CHECKPOINT_EVERY commits on a thread of its own. SQLite's automatic checkpoint runs
    inside the commit, so with the writers' queue held, and in the request that committed:
    after a large import had filled the WAL, that request waited seconds for the copy."""
    db.conn.execute("PRAGMA wal_autocheckpoint = 0")


def _checkpoint_if_due(path: str) -> None:
    """Every CHECKPOINT_EVERY commits, a passive checkpoint on a thread (one at a time per
    database): PASSIVE neither waits for nor blocks other readers and writers, and no
    request waits for it."""
    count = _commits[path] = _commits.get(path, 0) + 1
    if count % CHECKPOINT_EVERY:
        return
    with _checkpointing_guard:
        if path in _checkpointing:
            return
        _checkpointing.add(path)
    threading.Thread(target=_checkpoint, args=(path,), name="wal-checkpoint", daemon=True).start()


def _checkpoint(path: str) -> None:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=0)  # never creates a file
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        pass  # a checkpoint already running, a full disk, a file gone: the WAL keeps the commits
    finally:
        with _checkpointing_guard:
            _checkpointing.discard(path)


@contextmanager
def transaction(db: sqlite_utils.Database, *, bulk: bool = False) -> Iterator[sqlite_utils.Database]:
    """Run a block as one write transaction, taking the write lock up front (after the
    writers queued before it; see `_writers_queue`, also for `bulk`)."""
    path = db.conn.execute("PRAGMA database_list").fetchone()[2]
    with _writers_queue(path, bulk):
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.conn.commit()
        except sqlite3.OperationalError as e:
            db.conn.rollback()
            if is_full(e):
                raise StorageFullError(f"{path}: {e}") from e
            raise
        except BaseException:
            db.conn.rollback()
            raise
    if path:
        _checkpoint_if_due(path)


def schema_version(kind: str) -> int:
    """A number that changes whenever schema.sql's DDL for `kind` changes."""
    return zlib.crc32(schema_for(kind).encode("utf-8")) & 0x7FFFFFFF


def create(path: Path, kind: str) -> bool:
    """Create the tables of `kind` ("intake" or "registry") in `path`; return True if new.

    A registry.db made from another schema.sql is rebuilt (it is derived data); an
    intake.db made from another schema.sql is refused with a message, never altered."""
    path.parent.mkdir(parents=True, exist_ok=True)
    is_new = not path.exists()
    db = connect(path, must_exist=False)
    try:
        found = db.execute("PRAGMA user_version").fetchone()[0]
        if not is_new and found not in (0, schema_version(kind)):
            if kind == "intake":
                raise DatabaseError(
                    f"{path}: made by a different schema.sql than this version's; keep it aside and run "
                    "`registry init` with a new REGISTRY_INSTANCE (or move the old instance folder away)"
                )
            db.close()
            path.unlink()
            return create(path, kind)
        if kind == "intake":
            db.execute("PRAGMA journal_mode = WAL")
        db.executescript(schema_for(kind))
        if kind == "registry":
            from registry.store.public import enable_search  # public builds on this module

            enable_search(db)
        db.execute(f"PRAGMA user_version = {schema_version(kind)}")
    finally:
        db.close()
    if kind == "intake" and not is_new:
        from registry.store.imports import clean_up  # imports builds on this module

        clean_up(path)  # an import killed mid-way: its rows go
    return is_new


@cache
def declared_columns(kind: str) -> dict[str, tuple[str, ...]]:
    """Return {table-or-view: columns} as schema.sql declares them for `kind`."""
    db = sqlite_utils.Database(memory=True)
    db.executescript(schema_for(kind))
    return actual_columns(db)


def actual_columns(db: sqlite_utils.Database) -> dict[str, tuple[str, ...]]:
    """Return {table-or-view: columns} as they are in `db`, hidden FTS tables included."""
    names = [r["name"] for r in db.query("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")]
    return {name: tuple(_all_columns(db, name)) for name in names}


def _all_columns(db: sqlite_utils.Database, table: str) -> list[str]:
    # table_xinfo also lists generated columns, which table_info hides.
    return [r["name"] for r in db.query("SELECT name FROM pragma_table_xinfo(?)", [table])]


def integrity_problems(db: sqlite_utils.Database) -> list[str]:
    """Return what PRAGMA integrity_check and foreign_key_check report, if anything."""
    problems = [r[0] for r in db.execute("PRAGMA integrity_check").fetchall() if r[0] != "ok"]
    for table, rowid, parent, _ in db.execute("PRAGMA foreign_key_check").fetchall():
        problems.append(f"{table} row {rowid} points to a missing row in {parent}")
    return problems


def text_cells(db: sqlite_utils.Database, table: str) -> Iterator[tuple[str, str]]:
    """Yield (column, value) for every text value of a table."""
    columns = _all_columns(db, table)
    select = ", ".join(f"[{c}]" for c in columns)
    for row in db.execute(f"SELECT {select} FROM [{table}]"):
        for column, value in zip(columns, row, strict=True):
            if isinstance(value, str):
                yield column, value


def table_rows(db: sqlite_utils.Database, table: str) -> list[tuple]:
    """Return every row of a table, in a stable order, for comparisons."""
    columns = ", ".join(f"[{c}]" for c in _all_columns(db, table))
    return [tuple(r) for r in db.execute(f"SELECT {columns} FROM [{table}] ORDER BY 1, 2")]


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
    writers of the original go on), deleted afterwards."""
    if not path.exists():
        raise DatabaseError(f"{path}: database file not found (run `registry init` first)")
    handle, name = tempfile.mkstemp(prefix=".snapshot-", suffix=".db", dir=path.parent)
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
        with _thread_locks_guard:
            _thread_locks.pop(str(copy), None)
