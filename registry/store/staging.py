"""An import's rows, staged in a file of their own and then moved into intake.db.

The importer writes every row it makes to a staging database beside intake.db (tables
with a primary key and nothing else, no journal): nothing of intake.db is locked while a
file is read and checked. The rows are then moved with `INSERT ... SELECT`, a few thousand
per short write transaction, relationships in client order with their citations and
figures, so that the indexes of intake.db grow at their ends instead of being rewritten
page by page at every commit. Each chunk takes its ids at the moment it is written (the
next free ones): a reviewer's approval in between never collides with the import. Until
the import's submission is made 'pending' (or 'approved') its rows are hidden, and an
interrupted move is removed like any unfinished import."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from registry.store.database import transaction

COLUMNS = {
    "sources": ("id", "slug", "title", "url", "archive_url", "publisher", "language", "published_date", "content_hash",
                "notes", "status", "submission_id", "created_at", "updated_at"),
    "disclosures": ("id", "slug", "title", "kind", "disclosed_date", "period_start", "period_end", "disclosed_by",
                    "reported_count", "description", "completeness_note", "status", "submission_id", "created_at",
                    "updated_at"),
    "organisations": ("id", "slug", "name", "name_key", "kind", "sector", "country", "subdivision", "city",
                      "description", "status", "submission_id", "created_at", "updated_at"),
    "organisation_aliases": ("id", "organisation_id", "alias", "alias_key", "language", "submission_id"),
    "organisation_identifiers": ("id", "organisation_id", "scheme", "value", "submission_id"),
    "relationships": ("id", "vendor_id", "client_id", "product", "arrangement", "trial_days", "start_date", "end_date",
                      "disclosure_id", "summary", "notes", "status", "approved_at", "submission_id", "created_at",
                      "updated_at"),
    "citations": ("id", "relationship_id", "source_id", "locator", "quote", "submission_id"),
    "observations": ("id", "relationship_id", "metric", "low", "high", "unit", "period_start", "period_end",
                     "source_id", "locator", "status", "submission_id", "created_at"),
}  # fmt: skip
PARENTS = ("sources", "disclosures", "organisations")  # referenced by other rows: they get a final id (fid)
# A staged reference is to a row staged by the import (translated to its final id) or to a
# row of intake.db that existed before it (kept as it is).
REFERENCES = {"organisation_id": "organisations", "vendor_id": "organisations", "client_id": "organisations",
              "disclosure_id": "disclosures", "source_id": "sources"}  # fmt: skip
CHUNK = 2000  # relationships (with their citations and figures) per write transaction
PARENT_CHUNK = 5000
# SQLite's lock is not fair: a writer waiting on the busy timeout polls (every 100 ms once it
# has waited a while) and would keep finding the next chunk under way. So after about
# WORK seconds of chunks the move pauses a little longer than that poll interval.
WORK, PAUSE = 0.7, 0.12


class Pacer:
    """Short write transactions with a pause now and then, so that others get the lock."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db, self.since = db, time.monotonic()

    @contextmanager
    def chunk(self) -> Iterator[None]:
        with transaction(self.db):
            yield
        if time.monotonic() - self.since >= WORK:
            time.sleep(PAUSE)
            self.since = time.monotonic()


def staging_path(intake_db: Path, reference: str) -> Path:
    return intake_db.with_name(f"{intake_db.name}.staging-{reference}")


def leftovers(intake_db: Path) -> list[Path]:
    """Staging files of imports that never finished."""
    return sorted(intake_db.parent.glob(f"{intake_db.name}.staging-*"))


def open_staging(path: Path) -> sqlite3.Connection:
    """A new staging database: no journal, no sync (it is thrown away if anything fails)."""
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -8192")  # appends only: a small cache will do
    for table, columns in COLUMNS.items():
        extra = ", fid INTEGER" if table in PARENTS else ""
        # References typed INTEGER, as their indexes are searched with integers (an untyped
        # column's index cannot be used for them).
        names = ", ".join(f"{c} INTEGER" if c.endswith("_id") else c for c in columns[1:])
        conn.execute(f"CREATE TABLE [{table}] (id INTEGER PRIMARY KEY, {names}{extra})")
    conn.execute("BEGIN")
    return conn


def stage_rows(conn: sqlite3.Connection, table: str, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        columns = COLUMNS[table]
        conn.executemany(f"INSERT INTO [{table}] ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)


def close_staging(conn: sqlite3.Connection) -> None:
    """Commit the staged rows and index them for the move."""
    conn.execute("CREATE INDEX relationships_order ON relationships(client_id, vendor_id, id)")
    conn.execute("CREATE INDEX citations_relationship ON citations(relationship_id)")
    conn.execute("CREATE INDEX observations_relationship ON observations(relationship_id)")
    conn.execute("COMMIT")
    conn.close()


def _values(table: str) -> list[str]:
    """The staged columns of `table` but its id, with references translated."""
    return [f"coalesce((SELECT p.fid FROM st.[{REFERENCES[c]}] p WHERE p.id = s.{c}), s.{c})" if c in REFERENCES
            else f"s.{c}" for c in COLUMNS[table][1:]]  # fmt: skip


def move(db: sqlite_utils.Database, path: Path, first_relationship: int) -> None:
    """Move every staged row into intake.db in short write transactions."""
    db.execute("ATTACH DATABASE ? AS st", [str(path)])
    db.execute("PRAGMA st.journal_mode = OFF")
    db.execute("PRAGMA st.synchronous = OFF")
    db.execute("CREATE TEMP TABLE IF NOT EXISTS moving (sid INTEGER PRIMARY KEY, fid INTEGER NOT NULL)")
    pacer = Pacer(db)
    try:
        for table in PARENTS:
            _move_parents(pacer, table)
        for table in ("organisation_aliases", "organisation_identifiers"):
            _move_leaves(pacer, table, "s.id > ?")
        _move_relationships(pacer)
        # Citations and figures this import adds to relationships stored before it.
        for table in ("citations", "observations"):
            _move_leaves(pacer, table, f"s.id > ? AND s.relationship_id < {int(first_relationship)}")
    finally:
        db.execute("DROP TABLE IF EXISTS temp.moving")
        db.execute("DETACH DATABASE st")


def _next_id(db: sqlite_utils.Database, table: str) -> int:
    return db.execute(f"SELECT coalesce(max(id), 0) + 1 FROM main.[{table}]").fetchone()[0]


def _move_parents(pacer: Pacer, table: str) -> None:
    """Rows others refer to, in staged order; each chunk's ids are the next free ones."""
    db = pacer.db
    low, high = db.execute(f"SELECT min(id), max(id) FROM st.[{table}]").fetchone()
    if low is None:
        return
    names, values = ", ".join(COLUMNS[table]), ", ".join(_values(table))
    for start in range(low, high + 1, PARENT_CHUNK):
        end = start + PARENT_CHUNK - 1
        with pacer.chunk():
            offset = _next_id(db, table) - start
            db.execute(
                f"INSERT INTO main.[{table}] ({names}) SELECT s.id + ?, {values} FROM st.[{table}] s "
                "WHERE s.id BETWEEN ? AND ? ORDER BY s.id",
                [offset, start, end],
            )
            db.execute(f"UPDATE st.[{table}] SET fid = id + ? WHERE id BETWEEN ? AND ?", [offset, start, end])


def _move_leaves(pacer: Pacer, table: str, where: str) -> None:
    """Rows nothing refers to, in staged order: ids left to SQLite, repeats of stored rows ignored."""
    db = pacer.db
    names, values = ", ".join(COLUMNS[table][1:]), ", ".join(_values(table))
    after = 0
    while True:
        with pacer.chunk():
            last = db.execute(
                f"SELECT max(id) FROM (SELECT s.id FROM st.[{table}] s WHERE {where} ORDER BY s.id LIMIT ?)",
                [after, PARENT_CHUNK],
            ).fetchone()[0]
            if last is None:
                return
            # WHERE before ON CONFLICT: SQLite's rule for an upsert fed by a SELECT.
            db.execute(
                f"INSERT INTO main.[{table}] ({names}) SELECT {values} FROM st.[{table}] s WHERE {where} "
                "AND s.id <= ? ORDER BY s.id ON CONFLICT DO NOTHING",
                [after, last],
            )
        after = last


def _move_relationships(pacer: Pacer) -> None:
    """Relationships in (client, vendor) order, each chunk with its citations and figures."""
    db = pacer.db
    key: tuple[int, int, int] = (-1, -1, -1)
    leaves = {
        t: (", ".join(COLUMNS[t][1:]), ", ".join(["m.fid", *_values(t)[1:]])) for t in ("citations", "observations")
    }
    while True:
        with pacer.chunk():
            db.execute("DELETE FROM temp.moving")
            db.execute(
                "INSERT INTO temp.moving (sid, fid) SELECT id, ? + row_number() OVER "
                "(ORDER BY client_id, vendor_id, id) - 1 FROM (SELECT id, client_id, vendor_id FROM st.relationships "
                "WHERE (client_id, vendor_id, id) > (?, ?, ?) ORDER BY client_id, vendor_id, id LIMIT ?)",
                [_next_id(db, "relationships"), *key, CHUNK],
            )
            last = db.execute(
                "SELECT s.client_id, s.vendor_id, s.id FROM st.relationships s "
                "WHERE s.id = (SELECT sid FROM temp.moving ORDER BY fid DESC LIMIT 1)"
            ).fetchone()
            if last is None:
                return
            db.execute(
                f"INSERT INTO main.relationships ({', '.join(COLUMNS['relationships'])}) SELECT m.fid, "
                f"{', '.join(_values('relationships'))} FROM temp.moving m JOIN st.relationships s ON s.id = m.sid "
                "ORDER BY m.fid"
            )
            for table, (names, values) in leaves.items():
                # CROSS JOIN keeps this order: the chunk's relationships, then their rows by index
                # (the planner would otherwise scan every staged row for each chunk).
                db.execute(
                    f"INSERT INTO main.[{table}] ({names}) SELECT {values} FROM temp.moving m "
                    f"CROSS JOIN st.[{table}] s ON s.relationship_id = m.sid WHERE true ORDER BY m.fid, s.id "
                    "ON CONFLICT DO NOTHING"
                )
        key = tuple(last)
