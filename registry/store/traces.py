"""Every byte of a database, read to look for text that must not be there: each table's
cells (shadow tables of the search indexes included, text and blobs alike) and the raw
file with its journal or WAL (free pages, the slack of pages, a journal left by a crash)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

CHUNK_ROWS = 20_000
CHUNK_BYTES = 16 * 1024 * 1024
SIDE_FILES = ("-journal", "-wal")  # what SQLite keeps beside a database while (or after) writing


def stored_tables(db: sqlite_utils.Database) -> list[str]:
    """Every table that stores rows: shadow tables included, virtual tables left out (their
    rows are stored in their shadow tables, or are another table's, read there)."""
    rows = db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name"
    )
    return [r[0] for r in rows]


def columns(db: sqlite_utils.Database, table: str) -> list[str]:
    return [r[0] for r in db.execute("SELECT name FROM pragma_table_xinfo(?)", [table])]


def table_bytes(db: sqlite_utils.Database, table: str, only: str | None = None) -> Iterator[bytes]:
    """Every cell of a table (or of its column `only`) as bytes, in chunks of rows, cells
    separated by a NUL byte: text as UTF-8, blobs as stored, numbers as written."""
    names = [only] if only else columns(db, table)
    # SQLite joins a row's cells itself: one bytes object per row, not one per cell.
    row = " || x'00' || ".join(f"coalesce(CAST([{c}] AS BLOB), x'')" for c in names)
    cursor = db.execute(f"SELECT CAST({row} AS BLOB) FROM [{table}]")  # || makes text
    while batch := cursor.fetchmany(CHUNK_ROWS):
        yield b"\x00".join(r[0] for r in batch)


def relationship_ids(db: sqlite_utils.Database) -> set[int]:
    """The ids of the relationships a registry database publishes."""
    return {r[0] for r in db.execute("SELECT id FROM relationships")}


def public_names(db: sqlite_utils.Database) -> set[str]:
    """Names and titles a registry publishes, case-folded: organisations (and their
    aliases), disclosures and sources."""
    rows = db.execute(
        "SELECT name FROM organisations UNION SELECT alias FROM organisation_aliases "
        "UNION SELECT title FROM disclosures UNION SELECT title FROM sources"
    )
    return {r[0].casefold() for r in rows if r[0]}


def file_bytes(path: Path, overlap: int) -> Iterator[tuple[str, bytes]]:
    """(file name, chunk) over the database file and its journal or WAL if there is one;
    consecutive chunks share `overlap` bytes, so nothing shorter is cut in two."""
    for file in [path, *(path.with_name(path.name + s) for s in SIDE_FILES)]:
        try:
            handle = file.open("rb")
        except FileNotFoundError:
            continue
        with handle:
            tail = b""
            while chunk := handle.read(CHUNK_BYTES):
                yield file.name, tail + chunk
                tail = chunk[-overlap:] if overlap else b""
