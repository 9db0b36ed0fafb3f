"""Writes of registry.db, the public database, from the public_* views of intake.db."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlite_utils

# Parents before children, so inserts satisfy foreign keys in this order.
PUBLIC_TABLES = (
    "countries",
    "subdivisions",
    "sectors",
    "organisation_kinds",
    "arrangements",
    "disclosure_kinds",
    "response_kinds",
    "government_levels",
    "breach_types",
    "data_kinds",
    "breach_media",
    "organisations",
    "organisation_aliases",
    "organisation_identifiers",
    "organisation_redirects",
    "sources",
    "disclosures",
    "relationships",
    "citations",
    "breaches",
    "breaches_breach_types",
    "breaches_data_kinds",
    "breaches_breach_media",
    "breaches_disclosures",
    "breach_citations",
    "responses",
    "observations",
    "withdrawn_relationships",  # a withdrawn relationship's notice, for its old address
)
VOCABULARY_TABLES = PUBLIC_TABLES[:11]
# Full-text search (sqlite-utils' FTS5, kept current by triggers): table -> columns.
SEARCH = {
    "relationships": ("vendor", "client", "client_aliases", "product", "summary", "disclosure"),
    "organisations": ("name", "aliases"),
    "breaches": ("title", "organisation", "vendor", "description"),
}
TOKENIZE = "unicode61 remove_diacritics 2"  # "federale" finds "fédérale"
PRIMARY_KEYS = {table: "code" for table in VOCABULARY_TABLES} | {"organisation_redirects": "old_id"}
# Link tables without an id: a row is its whole key.
COMPOSITE_KEYS = {
    "breaches_breach_types": ("breach_id", "breach_type"),
    "breaches_data_kinds": ("breach_id", "data_kind"),
    "breaches_breach_media": ("breach_id", "medium"),
    "breaches_disclosures": ("breach_id", "disclosure_id"),
}


def _origin(table: str, intake: str) -> str:
    # Vocabularies are copied whole; domain tables through their public_ view.
    return f"{intake}.[{table}]" if table in VOCABULARY_TABLES else f"{intake}.[public_{table}]"


def attach(db: sqlite_utils.Database, path: Path, name: str, *, readonly: bool = False) -> None:
    """Attach another database file to a connection under schema `name`."""
    db.execute(f"ATTACH DATABASE ? AS [{name}]", [f"file:{path}" + ("?mode=ro" if readonly else "")])


def detach(db: sqlite_utils.Database, name: str) -> None:
    db.execute(f"DETACH DATABASE [{name}]")


def enable_search(registry: sqlite_utils.Database) -> None:
    """Create the search indexes and the triggers that keep them current (once)."""
    for table, columns in SEARCH.items():
        if not registry.table(table).detect_fts():
            registry.table(table).enable_fts(list(columns), create_triggers=True, tokenize=TOKENIZE)


def is_search_table(name: str) -> bool:
    """relationships_fts and its shadow tables (_data, _idx, _docsize, _config)."""
    return any(name == f"{t}_fts" or name.startswith(f"{t}_fts_") for t in SEARCH)


def erase_deleted_text(db: sqlite_utils.Database, schema: str = "main") -> None:
    """From now on in this connection, overwrite deleted rows and freed pages with zeros.

    Without it SQLite leaves a deleted row's bytes in the file until the space is reused,
    readable in a copy of registry.db (Debian's SQLite turns this on by default, SQLite's
    own default build and many Python wheels do not)."""
    db.execute(f"PRAGMA [{schema}].secure_delete = ON")


def purge_deleted_text(db: sqlite_utils.Database, schema: str = "main") -> None:
    """Rewrite the search indexes without the words of rows deleted from them.

    FTS5 does not erase a deleted row's words: it adds a "delete" entry and keeps the old
    ones until segments merge, so a withdrawn relationship's vendor, client and summary
    words stayed in relationships_fts_data, readable by SQL (issue 18). 'optimize' merges
    every segment into one holding only live rows: 0.9 s of CPU at a million relationships."""
    for table in SEARCH:
        db.execute(f"INSERT INTO [{schema}].[{table}_fts] ([{table}_fts]) VALUES ('optimize')")


def release_old_pages(db: sqlite_utils.Database, schema: str = "main") -> None:
    """Empty a write-ahead log into the database and truncate it, so old copies of pages
    (with text since deleted) do not stay beside it; a rollback journal is deleted at each
    commit already. Readers still on an old snapshot make it wait, then give up quietly:
    the log is emptied at a later checkpoint."""
    db.execute(f"PRAGMA [{schema}].wal_checkpoint(TRUNCATE)").fetchall()


def copy_all(registry: sqlite_utils.Database, intake: str = "intake") -> None:
    """Fill an empty registry.db (the main schema) from the attached intake.db."""
    for table in PUBLIC_TABLES:
        registry.execute(f"INSERT INTO main.[{table}] SELECT * FROM {_origin(table, intake)}")


def sync(db: sqlite_utils.Database, public: str = "main", intake: str = "intake") -> dict[str, dict[str, int]]:
    """Bring the public schema in line with the intake schema; return what changed.

    Both are schemas of one connection (registry.db with intake.db attached when
    publishing, or the reverse when a reviewer's approval publishes in the same
    transaction as its intake writes). Rows that differ are deleted and inserted
    again; foreign keys are checked at commit, so the order of deletes does not matter."""
    db.execute("PRAGMA defer_foreign_keys = ON")
    changes: dict[str, dict[str, int]] = {}
    for table in reversed(PUBLIC_TABLES):
        key = key_columns(table)
        target, origin = f"{public}.[{table}]", _origin(table, intake)
        stale = f"SELECT {key} FROM (SELECT * FROM {target} EXCEPT SELECT * FROM {origin})"
        gone = db.execute(
            f"SELECT count(*) FROM {target} WHERE ({key}) NOT IN (SELECT {key} FROM {origin})"
        ).fetchone()[0]
        deleted = db.execute(f"DELETE FROM {target} WHERE ({key}) IN ({stale})").rowcount
        changes[table] = {"removed": gone, "updated": deleted - gone}
    for table in PUBLIC_TABLES:
        key = key_columns(table)
        target, origin = f"{public}.[{table}]", _origin(table, intake)
        inserted = db.execute(
            f"INSERT INTO {target} SELECT * FROM {origin} WHERE ({key}) NOT IN (SELECT {key} FROM {target})"
        ).rowcount
        changes[table]["added"] = inserted - changes[table]["updated"]
    return changes


def key_columns(table: str) -> str:
    """The columns that name one row of a public table, for SQL (a row value for link tables)."""
    return ", ".join(f"[{c}]" for c in COMPOSITE_KEYS.get(table, (PRIMARY_KEYS.get(table, "id"),)))


def refresh_statistics(registry: sqlite_utils.Database, *, full: bool = False) -> None:
    """Statistics for the query planner (which index suits a page's filters): all of them
    after a rebuild, those that have aged after an update."""
    registry.execute("ANALYZE" if full else "PRAGMA optimize")


def published_counts(registry: sqlite_utils.Database) -> dict[str, int]:
    """Count what readers can see: relationships, vendors, clients and disclosures."""
    row = registry.execute(
        "SELECT (SELECT count(*) FROM relationships), "
        "(SELECT count(DISTINCT vendor_id) FROM relationships), "
        "(SELECT count(DISTINCT client_id) FROM relationships), "
        "(SELECT count(*) FROM disclosures)"
    ).fetchone()
    return {"relationships": row[0], "vendors": row[1], "clients": row[2], "disclosures": row[3]}


def unsourced_relationship_ids(registry: sqlite_utils.Database) -> list[int]:
    """Ids of published relationships that no published citation supports."""
    rows = registry.execute(
        "SELECT id FROM relationships r WHERE NOT EXISTS (SELECT 1 FROM citations c WHERE c.relationship_id = r.id)"
    )
    return [r[0] for r in rows]


def unsourced_breach_ids(registry: sqlite_utils.Database) -> list[int]:
    """Ids of published breaches that no published citation supports."""
    rows = registry.execute(
        "SELECT id FROM breaches b WHERE NOT EXISTS (SELECT 1 FROM breach_citations c WHERE c.breach_id = b.id)"
    )
    return [r[0] for r in rows]


def organisation_names(registry: sqlite_utils.Database) -> list[tuple[int, str, str | None]]:
    """(id, name, person_name_reason) of every published organisation."""
    return [(r[0], r[1], r[2]) for r in registry.execute("SELECT id, name, person_name_reason FROM organisations")]


def alias_names(registry: sqlite_utils.Database) -> list[tuple[int, str, str | None]]:
    """(organisation id, alias, the organisation's person_name_reason) of every published alias."""
    sql = (
        "SELECT a.organisation_id, a.alias, o.person_name_reason FROM organisation_aliases a "
        "JOIN organisations o ON o.id = a.organisation_id"
    )
    return [(r[0], r[1], r[2]) for r in registry.execute(sql)]


def column_types(db: sqlite_utils.Database, table: str) -> list[tuple[str, str]]:
    """(column, declared type) of a public table, in order."""
    return [(r[1], r[2].upper()) for r in db.execute(f"PRAGMA table_info([{table}])")]


def rows_of(db: sqlite_utils.Database, table: str) -> Iterator[tuple[Any, ...]]:
    """Every row of a public table, by key."""
    yield from db.execute(f"SELECT * FROM [{table}] ORDER BY {key_columns(table)}")


def count(db: sqlite_utils.Database, table: str) -> int:
    return db.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0]


def compare(old: sqlite_utils.Database, new: sqlite_utils.Database, table: str) -> dict[str, int]:
    """Rows added, changed (same key, other values) and withdrawn between two releases."""
    key, width = key_columns(table), len(COMPOSITE_KEYS.get(table, (None,)))
    before = {r[:width]: r for r in old.execute(f"SELECT {key}, * FROM [{table}]")}
    added = changed = 0
    for row in new.execute(f"SELECT {key}, * FROM [{table}]"):
        if row[:width] not in before:
            added += 1
        elif before.pop(row[:width]) != row:
            changed += 1
    return {"added": added, "changed": changed, "withdrawn": len(before)}
