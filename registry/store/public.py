"""Writes of registry.db, the public database, from the public_* views of intake.db."""

from __future__ import annotations

from pathlib import Path

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
    "organisations",
    "organisation_aliases",
    "organisation_identifiers",
    "organisation_redirects",
    "sources",
    "disclosures",
    "relationships",
    "citations",
    "responses",
    "observations",
)
VOCABULARY_TABLES = PUBLIC_TABLES[:7]


def _origin(table: str) -> str:
    # Vocabularies are copied whole; domain tables through their public_ view.
    return f"intake.[{table}]" if table in VOCABULARY_TABLES else f"intake.[public_{table}]"


def attach_intake(registry: sqlite_utils.Database, intake_path: Path) -> None:
    """Attach intake.db to a registry connection, read-only, as schema `intake`."""
    registry.execute("ATTACH DATABASE ? AS intake", [f"file:{intake_path}?mode=ro"])


def detach_intake(registry: sqlite_utils.Database) -> None:
    registry.execute("DETACH DATABASE intake")


def copy_all(registry: sqlite_utils.Database) -> None:
    """Fill an empty registry.db from the attached intake.db."""
    for table in PUBLIC_TABLES:
        registry.execute(f"INSERT INTO main.[{table}] SELECT * FROM {_origin(table)}")


def sync(registry: sqlite_utils.Database) -> dict[str, dict[str, int]]:
    """Bring registry.db in line with the attached intake.db; return what changed.

    Rows that differ are deleted and inserted again; foreign keys are checked at
    commit, so the order of deletes does not matter."""
    registry.execute("PRAGMA defer_foreign_keys = ON")
    changes: dict[str, dict[str, int]] = {}
    for table in reversed(PUBLIC_TABLES):
        key = registry[table].pks[0]
        stale = f"SELECT [{key}] FROM (SELECT * FROM main.[{table}] EXCEPT SELECT * FROM {_origin(table)})"
        gone = registry.execute(
            f"SELECT count(*) FROM main.[{table}] WHERE [{key}] NOT IN (SELECT [{key}] FROM {_origin(table)})"
        ).fetchone()[0]
        deleted = registry.execute(f"DELETE FROM main.[{table}] WHERE [{key}] IN ({stale})").rowcount
        changes[table] = {"removed": gone, "updated": deleted - gone}
    for table in PUBLIC_TABLES:
        key = registry[table].pks[0]
        inserted = registry.execute(
            f"INSERT INTO main.[{table}] SELECT * FROM {_origin(table)} "
            f"WHERE [{key}] NOT IN (SELECT [{key}] FROM main.[{table}])"
        ).rowcount
        changes[table]["added"] = inserted - changes[table]["updated"]
    return changes


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
