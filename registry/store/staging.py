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

from registry.store.connection import DatabaseError
from registry.store.schema import stored_columns
from registry.store.writers import transaction

# The tables an import writes, in the order their rows are moved; each is staged with every
# column of its intake.db table that a row is written with (schema.sql), but these: an
# import never sets them.
NOT_STAGED = {"disclosures": ("primary_source_id",), "organisations": ("parent_id", "merged_into_id")}
COLUMNS = {
    table: tuple(c for c in stored_columns("intake")[table] if c not in NOT_STAGED.get(table, ()))
    for table in (
        "sources",
        "disclosures",
        "organisations",
        "organisation_aliases",
        "organisation_identifiers",
        "relationships",
        "citations",
        "observations",
        "breaches",
        "breaches_breach_types",
        "breaches_data_kinds",
        "breaches_breach_media",
        "breaches_disclosures",
        "breach_citations",
    )
}
# A breach's types, kinds of data, media and disclosures: rows with no id of their own (their
# key is the breach and the code), staged and moved as they are.
LINKS = ("breaches_breach_types", "breaches_data_kinds", "breaches_breach_media", "breaches_disclosures")
# The import's constants (its disclosure, review state and time) are staged once, in the one row of
# `constants`, not in each of the rows that take them: a million-row file stages 2.7 million rows.
CONSTANTS = ("disclosure_id", "status", "approved_at", "submission_id", "created_at")
CONSTANT_COLUMNS = {
    "relationships": {c: c for c in ("disclosure_id", "status", "approved_at", "submission_id", "created_at")}
    | {"updated_at": "created_at"},
    "citations": {"submission_id": "submission_id"},
    "observations": {"status": "status", "submission_id": "submission_id", "created_at": "created_at"},
    "breaches": {c: c for c in ("status", "approved_at", "submission_id", "created_at")} | {"updated_at": "created_at"},
    "breach_citations": {"submission_id": "submission_id"},
}
STAGED = {t: tuple(c for c in columns if c not in CONSTANT_COLUMNS.get(t, {})) for t, columns in COLUMNS.items()}
# Referenced by other rows: they get a final id (fid). Breaches are moved after the relationships
# they may name (see move).
PARENTS = ("sources", "disclosures", "organisations", "breaches")
# A staged reference is to a row staged by the import (translated to its final id) or to a
# row of intake.db that existed before it (kept as it is).
REFERENCES = {"organisation_id": "organisations", "vendor_id": "organisations", "client_id": "organisations",
              "disclosure_id": "disclosures", "source_id": "sources", "breach_id": "breaches"}  # fmt: skip
CHUNK = 4000  # relationships (with their citations and figures) per write transaction
PARENT_CHUNK = 5000
# SQLite's lock is not fair: a writer waiting on the busy timeout polls (every 100 ms once it
# has waited a while) and would keep finding the next chunk under way. So after about
# WORK seconds of chunks the move pauses a little longer than that poll interval.
WORK, PAUSE = 0.7, 0.12


class Pacer:
    """Short write transactions with a pause now and then, so that others get the lock.

    With `checkpoints`, the WAL is checkpointed in those pauses (when this connection holds no
    lock, so others write meanwhile) instead of after every commit, inside the write lock."""

    def __init__(self, db: sqlite_utils.Database, checkpoints: bool = False) -> None:
        self.db, self.since, self.checkpoints = db, time.monotonic(), checkpoints

    @contextmanager
    def chunk(self) -> Iterator[None]:
        with transaction(self.db, bulk=True):  # other writers go first
            yield
        if time.monotonic() - self.since >= WORK:
            began = time.monotonic()
            if self.checkpoints:
                self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            time.sleep(max(0.0, PAUSE - (time.monotonic() - began)))
            self.since = time.monotonic()


def staging_path(intake_db: Path, reference: str) -> Path:
    return intake_db.with_name(f"{intake_db.name}.staging-{reference}")


def leftovers(intake_db: Path) -> list[Path]:
    """Staging files of imports that never finished."""
    return sorted(intake_db.parent.glob(f"{intake_db.name}.staging-*"))


def open_staging(path: Path) -> sqlite3.Connection:
    """A new staging database, open for staging rows (create_staging, then connect_staging)."""
    create_staging(path)
    return connect_staging(path)


def create_staging(path: Path) -> None:
    """Create a new, empty staging database (replacing any file at `path`)."""
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = OFF")
        for table, columns in STAGED.items():
            if table in LINKS:
                conn.execute(f"CREATE TABLE [{table}] (breach_id INTEGER, {columns[1]})")
                continue
            extra = ", fid INTEGER" if table in PARENTS else ""
            # References typed INTEGER, as their indexes are searched with integers (an untyped
            # column's index cannot be used for them).
            names = ", ".join(f"{c} INTEGER" if c.endswith("_id") else c for c in columns[1:])
            conn.execute(f"CREATE TABLE [{table}] (id INTEGER PRIMARY KEY, {names}{extra})")
        conn.execute("CREATE TABLE constants (id INTEGER PRIMARY KEY CHECK (id = 1), disclosure_id INTEGER, status, "
                     "approved_at, submission_id INTEGER, created_at)")  # fmt: skip
        # The move's orders, indexed as rows are staged (while the file is still being read) rather
        # than sorted at the end: relationships by client and vendor, citations and figures by relationship.
        conn.execute("CREATE INDEX relationships_client ON relationships(client_id, vendor_id)")
        conn.execute("CREATE INDEX citations_relationship ON citations(relationship_id)")
        conn.execute("CREATE INDEX observations_relationship ON observations(relationship_id)")
    finally:
        conn.close()


def connect_staging(path: Path) -> sqlite3.Connection:
    """Open a staging database made by create_staging, in one transaction with no journal and no
    sync (it is thrown away if anything fails). Never creates it: a staging process that starts
    after its importer was killed and the file was cleaned up would otherwise make an empty one
    again, left behind (seen in test_import_concurrency under load)."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", isolation_level=None, uri=True)
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -8192")  # small: its memory adds to the importer's
    conn.execute("BEGIN")
    return conn


def stage_constants(conn: sqlite3.Connection, values: dict[str, Any]) -> None:
    """The import's constants (CONSTANTS), which its staged relationships, citations and figures take."""
    conn.execute(f"INSERT OR REPLACE INTO constants (id, {', '.join(CONSTANTS)}) VALUES (1, ?, ?, ?, ?, ?)",
                 [values[c] for c in CONSTANTS])  # fmt: skip


def stage_rows(conn: sqlite3.Connection, table: str, rows: list[tuple[Any, ...]]) -> None:
    """Stage rows of `table`, given as tuples of its STAGED columns."""
    if rows:
        columns = STAGED[table]
        conn.executemany(f"INSERT INTO [{table}] ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)


def close_staging(conn: sqlite3.Connection) -> None:
    """Commit the staged rows, with relationships numbered in the order they will be written (by
    client, then vendor: read from their index)."""
    # fid: the final id of a relationship, kept only when breaches refer to them (see _move_relationships).
    conn.execute("CREATE TABLE relationships_order (rank INTEGER PRIMARY KEY, sid INTEGER NOT NULL, fid INTEGER)")
    conn.execute("INSERT INTO relationships_order (sid) SELECT id FROM relationships ORDER BY client_id, vendor_id, id")
    conn.execute("COMMIT")
    conn.close()


def _values(table: str, shifted: set[str]) -> list[str]:
    """The columns of `table` but its id, from its staged row (`s`) or the import's constants, with
    references to rows of the `shifted` tables translated (the other tables' rows kept their staged
    ids: no translation needed)."""
    constants = CONSTANT_COLUMNS.get(table, {})
    values = []
    for c in COLUMNS[table][1:]:
        value = f"(SELECT k.{constants[c]} FROM st.constants k)" if c in constants else f"s.{c}"
        if table == "breaches" and c == "relationship_id":  # a staged relationship's id is its rank's
            value = f"coalesce((SELECT o.fid FROM st.relationships_order o WHERE o.sid = {value}), {value})"
        elif REFERENCES.get(c) in shifted:
            value = f"coalesce((SELECT p.fid FROM st.[{REFERENCES[c]}] p WHERE p.id = {value}), {value})"
        values.append(value)
    return values


def move(db: sqlite_utils.Database, path: Path, first_relationship: int) -> None:
    """Move every staged row into intake.db in short write transactions.

    Foreign keys are not checked row by row on the way (that doubled the time of the move): the
    staged rows were checked against the vocabularies by the shared rules, refer to each other by
    construction, and their references to rows stored before the import are checked at the end
    (check_references)."""
    db.execute("ATTACH DATABASE ? AS st", [str(path)])
    db.execute("PRAGMA st.journal_mode = OFF")
    db.execute("PRAGMA st.synchronous = OFF")
    db.execute("PRAGMA foreign_keys = OFF")
    autocheckpoint = db.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    db.execute("PRAGMA wal_autocheckpoint = 0")  # checkpointed in the pauses instead (see Pacer)
    pacer = Pacer(db, checkpoints=True)
    try:
        shifted: set[str] = set()  # parents some of whose rows did not keep their staged ids
        for table in PARENTS[:-1]:
            if _move_parents(pacer, table, shifted):
                shifted.add(table)
        for table in ("organisation_aliases", "organisation_identifiers"):
            _move_leaves(pacer, table, "s.id > ?", shifted)
        breaches = db.execute("SELECT EXISTS (SELECT 1 FROM st.breaches) OR EXISTS (SELECT 1 FROM st.breach_citations)"
                              ).fetchone()[0]  # fmt: skip
        _move_relationships(pacer, shifted, keep_ids=bool(breaches))
        # Citations and figures this import adds to relationships stored before it.
        for table in ("citations", "observations"):
            _move_leaves(pacer, table, f"s.id > ? AND s.relationship_id < {int(first_relationship)}", shifted)
        if breaches:
            _move_breaches(pacer, shifted)
        check_references(db, first_relationship)
    finally:
        db.execute(f"PRAGMA wal_autocheckpoint = {int(autocheckpoint)}")
        db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("DETACH DATABASE st")


def check_references(db: sqlite_utils.Database, first_relationship: int) -> None:
    """Fail if a staged row refers to a row stored before the import that is no longer there."""
    parents = {**REFERENCES, "relationship_id": "relationships"}
    for table, columns in [*STAGED.items(), ("constants", ("id", *CONSTANTS))]:
        for column in columns[1:]:
            parent = parents.get(column)
            if parent is None:
                continue
            first = first_relationship
            if parent != "relationships":  # below its first staged row, a row stored before the import
                first = db.execute(f"SELECT coalesce(min(id), 1 << 62) FROM st.[{parent}]").fetchone()[0]
            missing = db.execute(
                f"SELECT s.{column} FROM st.[{table}] s WHERE s.{column} < ? AND NOT EXISTS "
                f"(SELECT 1 FROM main.[{parent}] p WHERE p.id = s.{column}) LIMIT 1",
                [first],
            ).fetchone()
            if missing is not None:
                raise DatabaseError(f"{table}.{column}: {parent} {missing[0]} was removed while the file was imported")


def _next_id(db: sqlite_utils.Database, table: str) -> int:
    return db.execute(f"SELECT coalesce(max(id), 0) + 1 FROM main.[{table}]").fetchone()[0]


def _move_parents(pacer: Pacer, table: str, shifted: set[str]) -> bool:
    """Rows others refer to, in staged order; each chunk's ids are the next free ones. True if
    any row's id differs from its staged one (another writer took the staged ids meanwhile)."""
    db = pacer.db
    low, high = db.execute(f"SELECT min(id), max(id) FROM st.[{table}]").fetchone()
    if low is None:
        return False
    names, values = ", ".join(COLUMNS[table]), ", ".join(_values(table, shifted))
    moved = False
    for start in range(low, high + 1, PARENT_CHUNK):
        end = start + PARENT_CHUNK - 1
        with pacer.chunk():
            offset = _next_id(db, table) - start
            db.execute(
                f"INSERT INTO main.[{table}] ({names}) SELECT s.id + ?, {values} FROM st.[{table}] s "
                "WHERE s.id BETWEEN ? AND ? ORDER BY s.id",
                [offset, start, end],
            )
            if offset != 0:  # else the staged id is the final one, which a translation falls back to
                db.execute(f"UPDATE st.[{table}] SET fid = id + ? WHERE id BETWEEN ? AND ?", [offset, start, end])
                moved = True
    return moved


def _move_leaves(pacer: Pacer, table: str, where: str, shifted: set[str]) -> None:
    """Rows nothing refers to, in staged order: ids left to SQLite, repeats of stored rows ignored."""
    db = pacer.db
    names, values = ", ".join(COLUMNS[table][1:]), ", ".join(_values(table, shifted))
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


def _move_breaches(pacer: Pacer, shifted: set[str]) -> None:
    """Breaches (after the relationships they may name), then their types, kinds of data, media,
    disclosures, citations and figures."""
    if _move_parents(pacer, "breaches", shifted):
        shifted.add("breaches")
    for table in LINKS:
        _move_links(pacer, table, shifted)
    _move_leaves(pacer, "breach_citations", "s.id > ?", shifted)
    _move_leaves(pacer, "observations", "s.id > ? AND s.breach_id IS NOT NULL", shifted)


def _move_links(pacer: Pacer, table: str, shifted: set[str]) -> None:
    """A breach's rows of `table` (breach_id, code), a chunk of breaches at a time."""
    db = pacer.db
    low, high = db.execute(f"SELECT min(breach_id), max(breach_id) FROM st.[{table}]").fetchone()
    if low is None:
        return
    names, values = ", ".join(COLUMNS[table]), ", ".join(f"s.{c}" for c in COLUMNS[table])
    if "breaches" in shifted:
        values = values.replace("s.breach_id", "coalesce((SELECT p.fid FROM st.breaches p WHERE p.id = s.breach_id), "
                                "s.breach_id)", 1)  # fmt: skip
    for start in range(low, high + 1, PARENT_CHUNK):
        with pacer.chunk():
            db.execute(
                f"INSERT INTO main.[{table}] ({names}) SELECT {values} FROM st.[{table}] s "
                "WHERE s.breach_id BETWEEN ? AND ? ON CONFLICT DO NOTHING",
                [start, start + PARENT_CHUNK - 1],
            )


def _move_relationships(pacer: Pacer, shifted: set[str], keep_ids: bool = False) -> None:
    """Relationships in (client, vendor) order, each chunk with its citations and figures; a
    chunk's relationships take the next free ids, in that order. With `keep_ids` (breaches name
    some of them), each one's final id is noted in relationships_order."""
    db = pacer.db
    if keep_ids:
        db.execute("CREATE INDEX IF NOT EXISTS st.relationships_order_sid ON relationships_order(sid)")
    total = db.execute("SELECT coalesce(max(rank), 0) FROM st.relationships_order").fetchone()[0]
    leaves = {t: (", ".join(COLUMNS[t][1:]), ", ".join(["o.rank + ?", *_values(t, shifted)[1:]]))
              for t in ("citations", "observations")}  # fmt: skip
    names, values = ", ".join(COLUMNS["relationships"]), ", ".join(_values("relationships", shifted))
    for start in range(1, total + 1, CHUNK):
        end = start + CHUNK - 1
        with pacer.chunk():
            offset = _next_id(db, "relationships") - start
            db.execute(
                f"INSERT INTO main.relationships ({names}) SELECT o.rank + ?, {values} FROM st.relationships_order o "
                "JOIN st.relationships s ON s.id = o.sid WHERE o.rank BETWEEN ? AND ? ORDER BY o.rank",
                [offset, start, end],
            )
            if keep_ids:
                db.execute("UPDATE st.relationships_order SET fid = rank + ? WHERE rank BETWEEN ? AND ?",
                           [offset, start, end])  # fmt: skip
            for table, (leaf_names, leaf_values) in leaves.items():
                # CROSS JOIN keeps this order: the chunk's relationships, then their rows by index.
                db.execute(
                    f"INSERT INTO main.[{table}] ({leaf_names}) SELECT {leaf_values} FROM st.relationships_order o "
                    f"CROSS JOIN st.[{table}] s ON s.relationship_id = o.sid WHERE o.rank BETWEEN ? AND ? "
                    "ORDER BY o.rank, s.id ON CONFLICT DO NOTHING",
                    [offset, start, end],
                )
