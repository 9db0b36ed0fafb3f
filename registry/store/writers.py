"""Writes to one database, one at a time: the writers' queue, transactions, and WAL
checkpoints kept out of the requests that commit."""

from __future__ import annotations

import fcntl
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import sqlite_utils

from registry.store.connection import BUSY_TIMEOUT_SECONDS, StorageFullError, is_full

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


def forget(path: str) -> None:
    """Drop this process's lock of a database file that is gone (a deleted snapshot)."""
    with _thread_locks_guard:
        _thread_locks.pop(path, None)
