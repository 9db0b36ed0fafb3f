"""Writes to one database, one at a time: the writers' queue, transactions, and WAL
checkpoints kept out of the requests that commit."""

from __future__ import annotations

import fcntl
import os
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


class _GroupSync:
    """Make a database's commits durable without holding its lock through an fsync: one
    fsync of the WAL after the commit, outside the writers' queue, shared by every thread
    of this process whose commit it covers (group commit).

    intake.db runs in WAL mode with synchronous = NORMAL: a commit is appended to the WAL
    and not synced, so it survives a crash of the process but not a power cut. SQLite's
    FULL syncs the WAL inside the commit, with the write lock held, and every writer waits
    for every fsync before it: under benchmarks/load.py the p99 of a submission went from
    0.15 s to 9 s. Here the writer releases the lock, then waits for an fsync of the WAL
    started after its commit; a thread arriving while one runs waits for the next, which
    covers all the commits made meanwhile (theirs and other processes'). An fdatasync on
    Linux flushes the file's every dirty page and its size, whichever descriptor names it
    (SQLite's own syncs are fdatasync too); a WAL that a
    checkpoint restarted meanwhile held frames already copied into the database file and
    synced there by that checkpoint. The WAL's directory entry is synced once per file."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._started: dict[str, int] = {}  # path -> number of fsyncs started
        self._done: dict[str, int] = {}  # path -> number of fsyncs finished
        self._running: set[str] = set()
        self._directories_synced: set[tuple[int, int]] = set()

    def wait(self, path: str) -> None:
        """Return once an fsync begun after this call's commit has finished."""
        with self._cond:
            # An fsync already running may have started before our commit: wait for the next.
            needed = self._started.get(path, 0) + 1
            while self._done.get(path, 0) < needed:
                if path not in self._running:
                    self._running.add(path)
                    self._started[path] = self._started.get(path, 0) + 1
                    number = self._started[path]
                    self._cond.release()
                    try:
                        self._fsync(path)
                    finally:
                        self._cond.acquire()
                        self._running.discard(path)
                        self._done[path] = max(self._done.get(path, 0), number)
                        self._cond.notify_all()
                else:
                    self._cond.wait()

    def _fsync(self, path: str) -> None:
        try:
            fd = os.open(f"{path}-wal", os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return  # not in WAL mode: the rollback journal's FULL synced the commit already
        try:
            os.fdatasync(fd)  # as SQLite's own syncs: the data and the size, not the times
            identity = os.fstat(fd)
        finally:
            os.close(fd)
        key = (identity.st_dev, identity.st_ino)
        if key not in self._directories_synced:
            directory = os.open(os.path.dirname(path) or ".", os.O_RDONLY | os.O_CLOEXEC)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
            self._directories_synced.add(key)


_group_sync = _GroupSync()


@contextmanager
def transaction(
    db: sqlite_utils.Database, *, bulk: bool = False, durable: bool | None = None
) -> Iterator[sqlite_utils.Database]:
    """Run a block as one write transaction, taking the write lock up front (after the
    writers queued before it; see `_writers_queue`, also for `bulk`). When it returns, the
    commit is on disk (`durable`, see `_GroupSync`): what a caller acknowledges survives a
    power cut. A `bulk` writer's many short transactions are not synced one by one (unless
    `durable=True`): the import syncs its last commit (store/imports.sync_commits)."""
    if durable is None:
        durable = not bulk
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
        if durable:
            _group_sync.wait(path)
        _checkpoint_if_due(path)


def forget(path: str) -> None:
    """Drop this process's lock of a database file that is gone (a deleted snapshot)."""
    with _thread_locks_guard:
        _thread_locks.pop(path, None)
