"""Which publication registry.db holds, and finishing one that a crash cut in two.

An approval writes intake.db (the connection's main database, in WAL mode) and publishes
to registry.db (attached) in one transaction, but SQLite does not commit two files
atomically when the main one is in WAL mode: it commits intake.db, then registry.db. A
kill between the two left a submission approved in intake.db and never published, and
nothing noticed.

So every publication draws a new stamp, a random number (it tells readers nothing, not
even how many decisions were made). intake.db records it, with the stamp before it and
what the publication changed, in `publication_state`; registry.db records it in its
header (`PRAGMA application_id`: an integer written in the same transaction as the rows,
with no table in the public schema). When the two differ, `catch_up` publishes again:
the last publication's scope when registry.db holds the stamp before it (what a kill
between the two commits leaves), every public table otherwise (a restored backup, a
power cut). Reading the two stamps costs two one-row reads per approval."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence

import sqlite_utils

from registry.store import public as public_tables
from registry.store import scoped_sync

Scope = Sequence[tuple[str, int]]


def held(db: sqlite_utils.Database, public: str) -> int:
    """The stamp of the publication registry.db (schema `public`) holds."""
    return int(db.execute(f"PRAGMA [{public}].application_id").fetchone()[0])


def state(db: sqlite_utils.Database, intake: str) -> tuple[int, int, list[tuple[str, int]] | None]:
    """intake.db's last publication: (stamp, the stamp before it, its scope or None for all)."""
    row = db.execute(f"SELECT stamp, previous_stamp, scope FROM [{intake}].publication_state WHERE id = 1").fetchone()
    if row is None:
        return 0, 0, None  # nothing published through a decision yet: registry.db's header holds 0 too
    scope = [(table, row_id) for table, row_id in json.loads(row[2])] if row[2] is not None else None
    return row[0], row[1], scope


def publish(db: sqlite_utils.Database, scope: Scope | None, *, public: str, intake: str) -> dict[str, dict[str, int]]:
    """Publish a decision inside the caller's transaction: first what an interrupted one
    left unpublished, then this one's scope (every public table if it has none), and
    stamp both files. Returns what this decision changed, per table."""
    catch_up(db, public=public, intake=intake)
    changes = _sync(db, scope, public=public, intake=intake)
    stamp = _draw(state(db, intake)[0])
    recorded = json.dumps([list(entry) for entry in scope]) if scope is not None and _scoped(scope) else None
    db.execute(
        f"INSERT INTO [{intake}].publication_state (id, stamp, previous_stamp, scope) "
        "VALUES (1, :stamp, 0, :scope) ON CONFLICT (id) DO UPDATE SET "
        "previous_stamp = stamp, stamp = excluded.stamp, scope = excluded.scope",
        {"stamp": stamp, "scope": recorded},
    )
    _hold(db, public, stamp)
    return changes


def catch_up(db: sqlite_utils.Database, *, public: str, intake: str) -> str | None:
    """If registry.db does not hold intake.db's last publication, publish again what it
    may lack and stamp it; return what was done (None when they agreed)."""
    stamp, previous, scope = state(db, intake)
    found = held(db, public)
    if found == stamp:
        return None
    if found == previous and _scoped(scope):
        _sync(db, scope, public=public, intake=intake)
        done = "published again what the interrupted last decision changed"
    else:
        public_tables.sync(db, public=public, intake=intake)
        done = "compared every public table with intake.db and published the differences"
    _hold(db, public, stamp)
    return f"registry.db lagged behind intake.db's decisions: {done}"


def mark_current(db: sqlite_utils.Database, *, public: str, intake: str) -> None:
    """Stamp registry.db as holding intake.db's last publication: after a full sync or a
    copy of every public table, in the same transaction (so from the same snapshot)."""
    _hold(db, public, state(db, intake)[0])


def _scoped(scope: Scope | None) -> bool:
    return any(table == "submissions" for table, _ in scope or ())


def _sync(db: sqlite_utils.Database, scope: Scope | None, *, public: str, intake: str) -> dict[str, dict[str, int]]:
    """Only what one submission's approval changed when `scope` names it, else everything."""
    submission = [row_id for table, row_id in scope or () if table == "submissions"]
    if submission:
        return scoped_sync.sync_scope(db, submission[0], scope or (), public=public, intake=intake)
    return public_tables.sync(db, public=public, intake=intake)


def _draw(other: int) -> int:
    """A new stamp: a positive 31-bit number (application_id is a signed 32-bit one), never
    the last one nor 0 (the stamp of a registry.db no decision has published to)."""
    while (stamp := secrets.randbelow(2**31 - 1) + 1) == other:
        pass
    return stamp


def _hold(db: sqlite_utils.Database, public: str, stamp: int) -> None:
    db.execute(f"PRAGMA [{public}].application_id = {int(stamp)}")
