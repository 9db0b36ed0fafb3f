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
  title), the responses to them and the breaches they made known (breaches_disclosures);
- breaches: their type, data kind, media and disclosure links, citations, responses and
  figures; a breach's row derives from its organisation and vendor (names, sector,
  country), from its citations' and responses' sources (publishable only with a published
  citation; counts) and from the relationship it revealed (published or not);
- organisations also: figures about them and breaches naming them.
An approval never changes a vocabulary table (`registry init` does, and `registry
publish` compares them) nor withdrawn_relationships (a withdrawal publishes with
`public.sync`). Tests compare the result with a full `public.sync` after every
kind of approval."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import sqlite_utils

from registry.store.public import COMPOSITE_KEYS, PRIMARY_KEYS, PUBLIC_TABLES, VOCABULARY_TABLES, key_columns

# Which column of each public table points at a row of each scope.
BY_ORGANISATION: dict[str, tuple[str, ...]] = {
    "organisations": ("id", "parent_id"),
    "organisation_aliases": ("organisation_id",),
    "organisation_identifiers": ("organisation_id",),
    "organisation_redirects": ("organisation_id",),
    "responses": ("organisation_id",),
    "observations": ("organisation_id",),
    "breaches": ("organisation_id", "vendor_id"),
}
BY_SOURCE: dict[str, tuple[str, ...]] = {
    "sources": ("id",),
    "citations": ("source_id",),
    "breach_citations": ("source_id",),
    "responses": ("source_id",),
    "observations": ("source_id",),
}
BY_RELATIONSHIP: dict[str, tuple[str, ...]] = {
    "relationships": ("id",),
    "citations": ("relationship_id",),
    "responses": ("relationship_id",),
    "observations": ("relationship_id",),
    "breaches": ("relationship_id",),
}
BY_DISCLOSURE: dict[str, tuple[str, ...]] = {
    "disclosures": ("id",),
    "responses": ("disclosure_id",),
    "breaches_disclosures": ("disclosure_id",),
}
BY_BREACH: dict[str, tuple[str, ...]] = {
    "breaches": ("id",),
    "breaches_breach_types": ("breach_id",),
    "breaches_data_kinds": ("breach_id",),
    "breaches_breach_media": ("breach_id",),
    "breaches_disclosures": ("breach_id",),
    "breach_citations": ("breach_id",),
    "responses": ("breach_id",),
    "observations": ("breach_id",),
}
BY_RESPONSE: dict[str, tuple[str, ...]] = {"responses": ("id",)}
BY_SCOPE: dict[str, dict[str, tuple[str, ...]]] = {
    "organisations": BY_ORGANISATION,
    "sources": BY_SOURCE,
    "relationships": BY_RELATIONSHIP,
    "disclosures": BY_DISCLOSURE,
    "breaches": BY_BREACH,
    "responses": BY_RESPONSE,
}
# Link tables have no id: they are compared a breach at a time (a row is its whole key).
GROUPED_BY = dict.fromkeys(COMPOSITE_KEYS, "breach_id")

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
    scope: dict[str, set[object]] = {n: set() for n in BY_SCOPE}
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
    for table in ("breach_citations", "observations"):
        select = f"SELECT breach_id FROM {intake}.[{table}] WHERE submission_id IN ({{keys}})"
        scope["breaches"] |= _values(db, select, [submission_id])
    select = f"SELECT organisation_id FROM {intake}.observations WHERE submission_id IN ({{keys}})"
    scope["organisations"] |= _values(db, select, [submission_id])
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
    _close_breaches(db, scope, sides)


def _close_breaches(db: sqlite_utils.Database, scope: dict[str, set[object]], sides: tuple[str, str]) -> None:
    """Add the breaches whose published row the scope's rows change (after relationships:
    a breach shows the relationship it revealed only while that one is published)."""
    breaches = scope["breaches"]
    for side in sides:
        for column in ("organisation_id", "vendor_id"):
            select = f"SELECT id FROM {side}.breaches WHERE {column} IN ({{keys}})"
            breaches |= _values(db, select, scope["organisations"])
        select = f"SELECT id FROM {side}.breaches WHERE relationship_id IN ({{keys}})"
        breaches |= _values(db, select, scope["relationships"])
        for table in ("breach_citations", "responses"):
            select = f"SELECT breach_id FROM {side}.[{table}] WHERE source_id IN ({{keys}})"
            breaches |= _values(db, select, scope["sources"])
        for column in ("id", "organisation_id"):
            select = f"SELECT breach_id FROM {side}.responses WHERE {column} IN ({{keys}})"
            breaches |= _values(db, select, scope["responses"] if column == "id" else scope["organisations"])


def _origin(table: str, intake: str) -> str:
    """What a public table is copied from (as in `public.sync`)."""
    return f"{intake}.[public_{table}]"


def _keys(db: sqlite_utils.Database, scope: dict[str, set[object]], table: str, sides: tuple[str, str]) -> set[object]:
    """The keys of `table`'s rows in scope, on either side."""
    key = _filter_column(table)
    found: set[object] = set()
    for side in sides:
        columns = [(c, name) for name, by in BY_SCOPE.items() for c in by.get(table, ())]
        for column, name in columns:
            found |= _values(db, f"SELECT [{key}] FROM {side}.[{table}] WHERE [{column}] IN ({{keys}})", scope[name])
    return found


def _filter_column(table: str) -> str:
    """The column a table's rows in scope are listed by: its key, or a link table's breach."""
    return GROUPED_BY.get(table) or PRIMARY_KEYS.get(table, "id")


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
        key = key_columns(table)
        target, origin = f"{public}.[{table}]", _origin(table, intake)
        for chunk, mine in _chunks(keys[table], _filter_column(table)):
            kept = f"SELECT {key} FROM {origin} WHERE {mine}"
            gone = db.execute(f"SELECT count(*) FROM {target} WHERE {mine} AND ({key}) NOT IN ({kept})", chunk * 2)
            removed = gone.fetchone()[0]
            stale = (
                f"SELECT {key} FROM (SELECT * FROM {target} WHERE {mine} EXCEPT SELECT * FROM {origin} WHERE {mine})"
            )
            deleted = db.execute(f"DELETE FROM {target} WHERE ({key}) IN ({stale})", chunk * 2).rowcount
            changes[table]["removed"] += removed
            changes[table]["updated"] += deleted - removed
    for table in tables:
        key = key_columns(table)
        target, origin = f"{public}.[{table}]", _origin(table, intake)
        for chunk, mine in _chunks(keys[table], _filter_column(table)):
            present = f"SELECT {key} FROM {target} WHERE {mine}"
            inserted = db.execute(
                f"INSERT INTO {target} SELECT * FROM {origin} WHERE {mine} AND ({key}) NOT IN ({present})", chunk * 2
            )
            changes[table]["added"] += inserted.rowcount
        changes[table]["added"] -= changes[table]["updated"]
    return changes
