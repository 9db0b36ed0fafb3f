"""schema.sql, the single source of truth of both databases: its parts, creating a
database from it, and what a database's tables and integrity look like."""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import sqlite_utils

from registry.store.connection import DatabaseError, connect
from registry.store.public import enable_search

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schema.sql"
PART_MARKER = re.compile(r"^-- part: (\w+)\s*$", re.MULTILINE)


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


def schema_version(kind: str) -> int:
    """A number that changes whenever schema.sql's DDL for `kind` changes."""
    return zlib.crc32(schema_for(kind).encode("utf-8")) & 0x7FFFFFFF


def create(path: Path, kind: str, *, live: bool = True) -> bool:
    """Create the tables of `kind` ("intake" or "registry") in `path`; return True if new.

    A registry.db made from another schema.sql is rebuilt (it is derived data); an
    intake.db made from another schema.sql is refused with a message, never altered,
    unless only indexes changed: those are added.
    Both live databases are in WAL mode (see `use_wal`); a registry database built to be
    copied (`live=False`: a rebuild, a release) keeps a rollback journal, so it is one
    self-contained file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    is_new = not path.exists()
    db = connect(path, must_exist=False)
    try:
        found = db.execute("PRAGMA user_version").fetchone()[0]
        # An intake.db whose tables are this schema.sql's gets its new indexes from the
        # executescript below (CREATE INDEX IF NOT EXISTS); any other change is refused.
        if not is_new and found not in (0, schema_version(kind)) and not only_indexes_differ(db, kind):
            if kind == "intake":
                raise DatabaseError(
                    f"{path}: made by a different schema.sql than this version's; keep it aside and run "
                    "`registry init` with a new REGISTRY_INSTANCE (or move the old instance folder away)"
                )
            db.close()
            remove(path)
            return create(path, kind, live=live)
        if kind == "intake" or live:
            db.execute("PRAGMA journal_mode = WAL")
        db.executescript(schema_for(kind))
        if kind == "registry":
            enable_search(db)
        db.execute(f"PRAGMA user_version = {schema_version(kind)}")
    finally:
        db.close()
    return is_new


def only_indexes_differ(db: sqlite_utils.Database, kind: str) -> bool:
    """Whether `db` has exactly the tables, views and triggers schema.sql declares for `kind`:
    then a changed schema.sql added or changed only indexes, which `create` may add to an
    existing intake.db (issue 15 added the indexes its foreign keys lacked to live ones)."""
    declared = sqlite_utils.Database(memory=True)
    declared.executescript(schema_for(kind))
    return _definitions(db) == _definitions(declared)


def _definitions(db: sqlite_utils.Database) -> set[tuple[str, str, str]]:
    sql = "SELECT type, name, sql FROM sqlite_master WHERE type IN ('table', 'view', 'trigger') AND sql IS NOT NULL"
    return {tuple(r) for r in db.execute(sql)}


def use_wal(path: Path) -> None:
    """Put a database in WAL mode (it stays so: the mode is written in the file).

    Datasette opens registry.db read-only, and a read-only connection cannot roll back a
    rollback journal left hot by a writer killed mid-commit: every public page answered
    500 "attempt to write a readonly database" until someone opened the file read-write,
    and Datasette would not start. In WAL mode a reader ignores the frames of a commit
    that never finished, with nothing to roll back (checked by killing writers at every
    write: tests/test_publication_crash.py). Opening the file read-write here also rolls
    back a journal left hot before the switch. Switching needs no other connection open:
    `registry serve` does it before Datasette starts."""
    db = connect(path)
    try:
        if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            db.execute("PRAGMA journal_mode = WAL")
    finally:
        db.close()


def remove(path: Path) -> None:
    """Delete a database file with its journal, WAL and shared-memory files: a WAL left
    behind would be replayed into the next file of that name."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


@cache
def declared_columns(kind: str) -> dict[str, tuple[str, ...]]:
    """Return {table-or-view: columns} as schema.sql declares them for `kind`."""
    db = sqlite_utils.Database(memory=True)
    db.executescript(schema_for(kind))
    return actual_columns(db)


@cache
def stored_columns(kind: str) -> dict[str, tuple[str, ...]]:
    """Return {table: columns a row is written with} as schema.sql declares them for `kind`:
    generated columns left out."""
    db = sqlite_utils.Database(memory=True)
    db.executescript(schema_for(kind))
    tables = [r["name"] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table'")]
    # pragma_table_xinfo's `hidden`: 2 and 3 are generated columns (virtual, stored).
    query = "SELECT name FROM pragma_table_xinfo(?) WHERE hidden NOT IN (2, 3)"
    return {t: tuple(r["name"] for r in db.query(query, [t])) for t in tables}


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
