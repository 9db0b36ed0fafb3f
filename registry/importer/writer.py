"""Buffer an import's rows and write them in batches, parents first."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from registry.names import name_key
from registry.store import imports as store
from registry.store import lookups
from registry.store.database import transaction
from registry.store.intake import now
from registry.validation import slugify

BATCH = 5000
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


class Writer:
    """Assigns ids up front and inserts in batches, each batch its own short write transaction."""

    def __init__(
        self, db: sqlite_utils.Database, status: str, submission_id: int | None, ids: dict[str, int] | None = None
    ) -> None:
        self.db, self.status, self.submission_id = db, status, submission_id
        self.ids = dict(ids or store.next_ids(db))
        self.discard = False  # set once a row has an error: the import will store nothing
        self.buffers: dict[str, list[tuple[Any, ...]]] = {t: [] for t in COLUMNS}
        self.pending = 0
        self.stamp = now()
        self.slugs: dict[str, set[str]] = {"organisations": set(), "sources": set(), "disclosures": set()}
        self.spellings: dict[int, set[str]] = {}
        self.identifiers: set[tuple[str, str]] = set()
        # Ids are handed out in order: a relationship at or above this one was made by this import.
        self.first_relationship = self.ids["relationships"]
        # Relationships written since the last flush, by identity; older ones are found in the database.
        self.unflushed: dict[tuple[int, int, str | None], int] = {}
        self.unflushed_values: dict[int, tuple[Any, ...]] = {}
        self.spellings_created: set[int] = set()  # organisations this import created
        self.matched_relationships: set[int] = set()

    def _add(self, table: str, row: tuple[Any, ...]) -> int:
        self.buffers[table].append(row)
        self.pending += 1
        if self.pending >= BATCH:
            self.flush()
        return row[0]

    def _next(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table] - 1

    def flush(self) -> None:
        """Write every buffered row, parents before children, in one short write transaction
        (nothing when the import has already failed: it will store nothing)."""
        if not self.discard and self.pending:
            with transaction(self.db):
                starts = {t: rows[0][0] for t, rows in self.buffers.items() if rows}
                if clash := store.taken_ids(self.db, starts):
                    raise store.ImportConflict(
                        f"another writer added rows to {', '.join(clash)} while this import was being written "
                        "(a reviewer's approval?): nothing of the import was kept; run it again"
                    )
                for table, rows in self.buffers.items():
                    store.insert_rows(self.db, table, COLUMNS[table], rows)
        for rows in self.buffers.values():
            rows.clear()
        self.pending = 0
        self.unflushed.clear()
        self.unflushed_values.clear()

    def _slug(self, table: str, text: str) -> str:
        slug = lookups.unique_slug(self.db, table, slugify(text), self.slugs[table])
        self.slugs[table].add(slug)
        return slug

    def org_slug(self, name: str) -> str:
        return self._slug("organisations", name)

    def source_slug(self, title: str) -> str:
        return self._slug("sources", title)

    def _insert(self, table: str, values: dict[str, Any]) -> int:
        """Buffer a row given as a mapping; review state and stamps are the import's."""
        values = {"id": self._next(table), "status": self.status, "submission_id": self.submission_id,
                  "created_at": self.stamp, "updated_at": self.stamp, **values}  # fmt: skip
        return self._add(table, tuple(map(values.get, COLUMNS[table])))

    def source(self, r: dict[str, Any]) -> int:
        slug = r["slug"] if r["slug"] not in self.slugs["sources"] else self._slug("sources", r["title"])
        self.slugs["sources"].add(slug)
        return self._insert("sources", {**r, "slug": slug})

    def disclosure(self, r: dict[str, Any]) -> int:
        self.slugs["disclosures"].add(r["slug"])
        return self._insert("disclosures", r)

    def organisation(self, r: dict[str, Any], key: str) -> int:
        org_id = self._insert("organisations", {**r, "name_key": key})
        self.spellings[org_id] = {r["name"]}
        self.spellings_created.add(org_id)
        for alias in r.get("aliases") or []:
            self.alias(org_id, alias["alias"], self.db)
        return org_id

    def alias(self, org_id: int, spelling: str, db: sqlite_utils.Database) -> None:
        """Keep the file's spelling of a matched organisation as an alias."""
        if org_id not in self.spellings:
            self.spellings[org_id] = store.aliases_of(db, org_id)
        if spelling in self.spellings[org_id]:
            return
        self.spellings[org_id].add(spelling)
        self._insert(
            "organisation_aliases", {"organisation_id": org_id, "alias": spelling, "alias_key": name_key(spelling)}
        )

    def identifier(self, org_id: int, scheme: str, value: str, db: sqlite_utils.Database) -> None:
        if (scheme, value) in self.identifiers or store.identifier_owner(db, scheme, value) is not None:
            return
        self.identifiers.add((scheme, value))
        self._insert("organisation_identifiers", {"organisation_id": org_id, "scheme": scheme, "value": value})

    def existing(self, rel_id: int) -> None:
        """Note a relationship stored before this import, to which it adds citations and figures."""
        self.matched_relationships.add(rel_id)

    def created(self, rel_id: int) -> bool:
        return rel_id >= self.first_relationship

    def find_relationship(
        self, vendor_id: int, client_id: int, disclosure_id: int | None, product: str | None
    ) -> int | None:
        """A live relationship with this identity: written by this import, or stored before."""
        found = self.unflushed.get((vendor_id, client_id, product))
        return found or lookups.relationship_with_identity(self.db, vendor_id, client_id, disclosure_id, product)

    def relationship(self, vendor_id: int, client_id: int, disclosure_id: int | None, v: dict[str, Any]) -> int:
        row = {**v, "vendor_id": vendor_id, "client_id": client_id, "disclosure_id": disclosure_id,
               "approved_at": self.stamp if self.status == "approved" else None}  # fmt: skip
        rel_id = self._insert("relationships", row)
        if self.pending:  # not flushed by this very insert
            self.unflushed[(vendor_id, client_id, v.get("product"))] = rel_id
            self.unflushed_values[rel_id] = tuple(v.get(k) for k in store.STAGE_FIELDS)
        return rel_id

    def stage_of(self, rel_id: int) -> tuple[Any, ...]:
        """Arrangement, trial length and dates of a relationship this import wrote."""
        return self.unflushed_values.get(rel_id) or store.relationship_stage(self.db, rel_id)

    # Citations and figures repeated in the file, or stored before, are ignored by the
    # database (INSERT OR IGNORE on their unique keys): no set of them is kept in memory.
    def citation(self, rel_id: int, source_id: int | None, locator: str, quote: str | None) -> None:
        if source_id is None:
            return
        self._insert(
            "citations", {"relationship_id": rel_id, "source_id": source_id, "locator": locator, "quote": quote}
        )

    def observation(self, rel_id: int, f: dict[str, Any], source_id: int | None) -> None:
        if source_id is None:
            return
        self._insert("observations", {**f, "relationship_id": rel_id, "source_id": source_id})
