"""Publishing what one approval changed, without comparing whole tables.

`public.sync` compares every public table with its `public_` view: right for `registry
publish`, but its cost grows with the registry (half a second at 18,000 relationships,
tens of seconds at a million), and a reviewer's approval runs it while holding intake.db's
write lock, so every contributor's submission waited for it. An approval changes only
the rows of its submission and what is derived from them; `sync_scope` compares only
those, with the same delete-and-insert as `public.sync`.

What is derived from what (the `public_` views of schema.sql):
- organisations: their aliases, identifiers and redirects; organisations whose parent
  they are; relationships naming them as vendor or client (names, client aliases,
  sector, country); responses they made;
- sources: citations, responses and observations of them, and so the relationships
  those support (publishable only with a published citation; citation and response
  counts);
- relationships: their citations, responses and observations, and their disclosure
  (its `published_count`);
- disclosures: their relationships (publishable only with a published disclosure; its
  title).
An approval never changes a vocabulary table (`registry init` does, and `registry
publish` compares them) nor withdrawn_relationships (a withdrawal publishes with
`public.sync`). Tests compare the result with a full `public.sync` after every
kind of approval."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import sqlite_utils

from registry.store.public import PRIMARY_KEYS, PUBLIC_TABLES, VOCABULARY_TABLES

# Which column of each public table points at an organisation, a source or a relationship.
BY_ORGANISATION = {
    "organisations": ("id", "parent_id"),
    "organisation_aliases": ("organisation_id",),
    "organisation_identifiers": ("organisation_id",),
    "organisation_redirects": ("organisation_id",),
    "responses": ("organisation_id",),
}
BY_SOURCE = {
    "sources": ("id",),
    "citations": ("source_id",),
    "responses": ("source_id",),
    "observations": ("source_id",),
}
BY_RELATIONSHIP = {
    "relationships": ("id",),
    "citations": ("relationship_id",),
    "responses": ("relationship_id",),
    "observations": ("relationship_id",),
}

# Only a withdrawal changes it, and a withdrawal publishes with `public.sync`.
UNTOUCHED = ("withdrawn_relationships",)

CHUNK = 500  # keys per statement (SQLite plans `IN (?, ...)` by index; a subquery of a temp table it scans)


def sync_scope(
    db: sqlite_utils.Database,
    submission_id: int,
    written: Iterable[tuple[str, int]] = (),
    public: str = "pub",
    intake: str = "main",
) -> dict[str, dict[str, int]]:
    """Publish what approving `submission_id` changed: its rows (and the `written` ones,
    as (table, id)), with everything derived from them. Runs inside the caller's
    transaction; returns the changes per table as `public.sync` does."""
    scope = _seed(db, submission_id, written, intake)
    _close(db, scope, (intake, public))
    db.execute("PRAGMA defer_foreign_keys = ON")
    return _compare(db, scope, public, intake)


def _values(db: sqlite_utils.Database, select: str, keys: Iterable[object]) -> set[object]:
    """The first column of `select` (with one `{keys}` placeholder for the list), for all `keys`."""
    found: set[object] = set()
    listed = sorted(keys)  # type: ignore[type-var]
    for i in range(0, len(listed), CHUNK):
        chunk = listed[i : i + CHUNK]
        found.update(row[0] for row in db.execute(select.format(keys=", ".join("?" * len(chunk))), chunk))
    found.discard(None)
    return found


def _seed(
    db: sqlite_utils.Database, submission_id: int, written: Iterable[tuple[str, int]], intake: str
) -> dict[str, set[object]]:
    scope: dict[str, set[object]] = {n: set() for n in ("organisations", "sources", "disclosures", "relationships")}
    scope["responses"] = set()
    for table, row_id in written:
        if table in scope:
            scope[table].add(row_id)
    for table in scope:
        scope[table] |= _values(
            db, f"SELECT id FROM {intake}.[{table}] WHERE submission_id IN ({{keys}})", [submission_id]
        )
    for table in ("organisation_aliases", "organisation_identifiers"):
        select = f"SELECT organisation_id FROM {intake}.[{table}] WHERE submission_id IN ({{keys}})"
        scope["organisations"] |= _values(db, select, [submission_id])
    for table in ("citations", "observations"):
        select = f"SELECT relationship_id FROM {intake}.[{table}] WHERE submission_id IN ({{keys}})"
        scope["relationships"] |= _values(db, select, [submission_id])
    return scope


def _close(db: sqlite_utils.Database, scope: dict[str, set[object]], sides: tuple[str, str]) -> None:
    """Add what the seeds' rows derive into: relationships, then their disclosures."""
    orgs, sources, relationships = scope["organisations"], scope["sources"], scope["relationships"]
    for side in sides:
        for column in ("vendor_id", "client_id"):
            relationships |= _values(db, f"SELECT id FROM {side}.relationships WHERE {column} IN ({{keys}})", orgs)
        select = f"SELECT id FROM {side}.relationships WHERE disclosure_id IN ({{keys}})"
        relationships |= _values(db, select, scope["disclosures"])
        for table in ("citations", "responses", "observations"):
            select = f"SELECT relationship_id FROM {side}.[{table}] WHERE source_id IN ({{keys}})"
            relationships |= _values(db, select, sources)
        select = f"SELECT relationship_id FROM {side}.responses WHERE id IN ({{keys}})"
        relationships |= _values(db, select, scope["responses"])
        select = f"SELECT relationship_id FROM {side}.responses WHERE organisation_id IN ({{keys}})"
        relationships |= _values(db, select, orgs)
    for side in sides:
        select = f"SELECT disclosure_id FROM {side}.relationships WHERE id IN ({{keys}})"
        scope["disclosures"] |= _values(db, select, relationships)
        select = f"SELECT id FROM {side}.disclosures WHERE primary_source_id IN ({{keys}})"
        scope["disclosures"] |= _values(db, select, sources)


def _origin(table: str, intake: str) -> str:
    """What a public table is copied from (as in `public.sync`)."""
    return f"{intake}.[public_{table}]"


def _keys(db: sqlite_utils.Database, scope: dict[str, set[object]], table: str, sides: tuple[str, str]) -> set[object]:
    """The keys of `table`'s rows in scope, on either side."""
    key = PRIMARY_KEYS.get(table, "id")
    found: set[object] = set()
    for side in sides:
        columns = [(c, "organisations") for c in BY_ORGANISATION.get(table, ())]
        columns += [(c, "sources") for c in BY_SOURCE.get(table, ())]
        columns += [(c, "relationships") for c in BY_RELATIONSHIP.get(table, ())]
        if table in ("disclosures", "responses"):
            columns.append(("id", table))
        for column, name in columns:
            found |= _values(db, f"SELECT [{key}] FROM {side}.[{table}] WHERE [{column}] IN ({{keys}})", scope[name])
    return found


def _chunks(keys: list[object], key: str) -> Iterator[tuple[list[object], str]]:
    """The keys CHUNK at a time, each with its `key IN (?, ...)` condition."""
    for i in range(0, len(keys), CHUNK):
        chunk = keys[i : i + CHUNK]
        yield chunk, f"[{key}] IN ({', '.join('?' * len(chunk))})"


def _compare(
    db: sqlite_utils.Database, scope: dict[str, set[object]], public: str, intake: str
) -> dict[str, dict[str, int]]:
    """`public.sync`'s delete-and-insert, on the keys in scope only, a chunk at a time."""
    tables = [t for t in PUBLIC_TABLES if t not in VOCABULARY_TABLES and t not in UNTOUCHED]
    keys = {table: sorted(_keys(db, scope, table, (intake, public))) for table in tables}  # type: ignore[type-var]
    changes: dict[str, dict[str, int]] = {table: {"removed": 0, "updated": 0, "added": 0} for table in tables}
    for table in reversed(tables):
        key = PRIMARY_KEYS.get(table, "id")
        target, origin = f"{public}.[{table}]", _origin(table, intake)
        for chunk, mine in _chunks(keys[table], key):
            kept = f"SELECT [{key}] FROM {origin} WHERE {mine}"
            gone = db.execute(f"SELECT count(*) FROM {target} WHERE {mine} AND [{key}] NOT IN ({kept})", chunk * 2)
            removed = gone.fetchone()[0]
            stale = (
                f"SELECT [{key}] FROM (SELECT * FROM {target} WHERE {mine} EXCEPT SELECT * FROM {origin} WHERE {mine})"
            )
            deleted = db.execute(f"DELETE FROM {target} WHERE [{key}] IN ({stale})", chunk * 2).rowcount
            changes[table]["removed"] += removed
            changes[table]["updated"] += deleted - removed
    for table in tables:
        key = PRIMARY_KEYS.get(table, "id")
        target, origin = f"{public}.[{table}]", _origin(table, intake)
        for chunk, mine in _chunks(keys[table], key):
            present = f"SELECT [{key}] FROM {target} WHERE {mine}"
            inserted = db.execute(
                f"INSERT INTO {target} SELECT * FROM {origin} WHERE {mine} AND [{key}] NOT IN ({present})", chunk * 2
            )
            changes[table]["added"] += inserted.rowcount
        changes[table]["added"] -= changes[table]["updated"]
    return changes
