"""The rate limits' shared SQLite store, and the cached vocabulary the forms read."""

from __future__ import annotations

import sqlite3
import threading
import time

from registry.store.connection import connect
from registry.store.writers import transaction
from registry.web.ratelimit import SCHEME, SQLiteStorage


def test_counters_count_per_key_and_start_again_when_the_window_expires(tmp_path):
    storage = SQLiteStorage(f"{SCHEME}://{tmp_path / 'ratelimit.db'}")
    assert [storage.incr("a", 0.3) for _ in range(3)] == [1, 2, 3]
    assert storage.incr("b", 60) == 1  # another key, another count
    assert storage.get("a") == 3
    expiry = storage.get_expiry("a")
    assert time.time() < expiry <= time.time() + 0.3
    time.sleep(0.35)
    assert storage.get("a") == 0  # expired
    assert storage.incr("a", 0.3) == 1  # a new window, not 4
    assert storage.get_expiry("a") > expiry
    assert storage.incr("b", 60) == 2


def test_every_hit_from_every_thread_is_counted_once(tmp_path):
    """Workers share the file: hits from several connections at once are neither lost nor doubled."""
    path = tmp_path / "ratelimit.db"
    storages = [SQLiteStorage(f"{SCHEME}://{path}") for _ in range(4)]
    results: list[int] = []

    def hit(storage: SQLiteStorage) -> None:
        for _ in range(50):
            results.append(storage.incr("shared", 60))

    threads = [threading.Thread(target=hit, args=(s,)) for s in storages]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == list(range(1, 201))
    assert sqlite3.connect(path).execute("select hits from counters where key = 'shared'").fetchone() == (200,)


def test_expired_counters_of_other_keys_are_forgotten(tmp_path):
    storage = SQLiteStorage(f"{SCHEME}://{tmp_path / 'ratelimit.db'}")
    for i in range(20):
        storage.incr(f"old-{i}", 0.05)
    time.sleep(0.1)
    storage.incr("new", 60)  # a new window clears the expired ones
    keys = [k for (k,) in sqlite3.connect(tmp_path / "ratelimit.db").execute("select key from counters")]
    assert keys == ["new"]


def test_a_relabelled_sector_reaches_the_form_without_a_restart(client, seeded):
    """The forms' choices come from the cached vocabulary: a label change must show at once."""
    assert ">Law enforcement<" in client.get("/submit/relationship").text
    db = connect(seeded.intake_db)
    with transaction(db):
        db.execute("UPDATE sectors SET label = 'Police and law enforcement' WHERE code = 'law-enforcement'")
    db.close()
    page = client.get("/submit/relationship").text
    assert ">Police and law enforcement<" in page
    assert ">Law enforcement<" not in page
