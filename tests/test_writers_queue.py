"""The writers' queue of registry/store/writers.py: an import's (bulk) transactions let
waiting writers go first, and WAL checkpoints run on a thread every CHECKPOINT_EVERY commits."""

from __future__ import annotations

import fcntl
import sqlite3
import threading
import time

from registry.store import writers
from registry.store.connection import connect
from registry.store.writers import checkpoint_outside_the_queue, transaction


def wal_database(path):
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE written (id INTEGER PRIMARY KEY, who TEXT, blob BLOB)")
    conn.close()
    return path


def test_a_writer_is_seen_waiting_from_its_queueing_to_its_commit(tmp_path):
    """A (non-bulk) writer holds a shared flock on `<db>.waiting` from when it joins the queue
    until its transaction ends: what an import's chunk looks for before it takes the lock."""
    path = wal_database(tmp_path / "queue.db")
    inside, leave = threading.Event(), threading.Event()

    def form_post():
        db = connect(path)
        with transaction(db):
            db.execute("INSERT INTO written (who) VALUES ('form post')")
            inside.set()
            leave.wait()
        db.close()

    def someone_waiting() -> bool:
        with open(f"{path}.waiting", "a") as probe:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(probe, fcntl.LOCK_UN)
            return False

    thread = threading.Thread(target=form_post)
    thread.start()
    inside.wait()
    try:
        assert someone_waiting()
    finally:
        leave.set()
        thread.join()
    assert not someone_waiting()


def test_a_bulk_transaction_starts_as_soon_as_no_writer_waits(tmp_path):
    path = wal_database(tmp_path / "queue.db")
    queued = threading.Event()

    def writer_waiting_for_a_tenth_of_a_second():
        with open(f"{path}.waiting", "a") as waiting:
            fcntl.flock(waiting, fcntl.LOCK_SH)
            queued.set()
            time.sleep(0.1)

    thread = threading.Thread(target=writer_waiting_for_a_tenth_of_a_second)
    thread.start()
    queued.wait()
    began = time.monotonic()
    db = connect(path)
    with transaction(db, bulk=True):
        waited = time.monotonic() - began
        db.execute("INSERT INTO written (who) VALUES ('import chunk')")
    db.close()
    thread.join()
    assert 0.08 <= waited < writers.BULK_YIELD_SECONDS


def test_a_bulk_transaction_waits_for_waiting_writers_at_most_a_while(tmp_path):
    """A writer stuck in the queue does not stop an import: it goes on after BULK_YIELD_SECONDS."""
    path = wal_database(tmp_path / "queue.db")
    with open(f"{path}.waiting", "a") as stuck:
        fcntl.flock(stuck, fcntl.LOCK_SH)
        started = time.monotonic()
        db = connect(path)
        with transaction(db, bulk=True):
            db.execute("INSERT INTO written (who) VALUES ('import chunk')")
        db.close()
        waited = time.monotonic() - started
    assert writers.BULK_YIELD_SECONDS <= waited < writers.BULK_YIELD_SECONDS + 1


def test_checkpoints_run_on_a_thread_every_so_many_commits(tmp_path):
    """With SQLite's automatic checkpoint off, the commits stay in the WAL until `transaction`
    starts a checkpoint after CHECKPOINT_EVERY of them: the rows reach the database file."""
    path = wal_database(tmp_path / "checkpoints.db")
    db = connect(path)
    checkpoint_outside_the_queue(db)
    before = path.stat().st_size
    for _ in range(writers.CHECKPOINT_EVERY - 1):
        with transaction(db):
            db.execute("INSERT INTO written (who, blob) VALUES ('form post', zeroblob(4000))")
    time.sleep(0.2)
    assert path.stat().st_size == before  # every commit still only in the WAL
    with transaction(db):
        db.execute("INSERT INTO written (who, blob) VALUES ('form post', zeroblob(4000))")
    deadline = time.monotonic() + 5
    while path.stat().st_size == before and time.monotonic() < deadline:
        time.sleep(0.02)
    grown = path.stat().st_size
    db.close()  # (the last connection's close checkpoints too: measured before it)
    assert grown > before + 100 * 4000  # the checkpoint copied the rows in
