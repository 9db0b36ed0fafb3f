"""Buffer an import's rows and write them in batches to its staging file (see registry.store.staging)."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from registry.importer.stager import Stager
from registry.rules.fields import slugify
from registry.rules.names import name_key
from registry.store import imports as import_store
from registry.store import lookups, staging
from registry.store.records import now

BATCH = 10_000  # rows of all tables per write to the staging file (its copies in both processes count)
COLUMNS = staging.COLUMNS


class Writer:
    """Assigns ids up front (final ids are given when the rows are moved) and stages rows in
    batches; reads of what was stored before the import go to `db`."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        status: str,
        submission_id: int | None,
        ids: dict[str, int] | None = None,
        stage: Stager | None = None,
    ) -> None:
        self.db, self.status, self.submission_id, self.stage = db, status, submission_id, stage
        self.ids = dict(ids or import_store.next_ids(db))
        self.discard = False  # set once a row has an error: the import will store nothing
        self.buffers: dict[str, list[tuple[Any, ...]]] = {t: [] for t in COLUMNS}
        self.citations, self.observations = self.buffers["citations"], self.buffers["observations"]
        self.relationships = self.buffers["relationships"]
        self.pending = 0
        self.stamp = now()
        self.approved_at = self.stamp if status == "approved" else None
        self.disclosure_id: int | None = None  # the disclosure of every relationship (set once it is known)
        self.slugs: dict[str, set[str]] = {"organisations": set(), "sources": set(), "disclosures": set()}
        self.unchecked_slugs: list[tuple[str, str]] = []  # (slug, its name's slug) of buffered organisations
        # (organisation, spelling) pairs known: one set of pairs, not a set per organisation.
        self.spellings: set[tuple[int, str]] = set()
        self.spellings_loaded: set[int] = set()  # organisations stored before whose spellings were read
        self.identifiers: set[tuple[str, str]] = set()
        # Ids are handed out in order: a relationship at or above this one was made by this import.
        self.first_relationship = self.ids["relationships"]
        # This import's relationships: identity -> id and stage (see identity and relationship).
        self.mine: dict[int, int] = {}
        self.products: dict[str, int] = {}
        self.stages: dict[tuple[Any, ...], int] = {}
        self.stage_list: list[tuple[Any, ...]] = []
        self.first_organisation = self.ids["organisations"]
        self.matched_relationships: set[int] = set()

    def release(self) -> None:
        """Drop what was kept to match rows with each other (the rows are staged)."""
        for kept in (self.mine, self.spellings, self.spellings_loaded, self.identifiers, self.slugs):
            kept.clear()

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
        """Stage every buffered row (none once the import has failed: it will store nothing)."""
        if not self.discard:
            self._check_slugs()
            if self.stage is not None:
                self.stage.write({"disclosure_id": self.disclosure_id, "status": self.status,
                                  "approved_at": self.approved_at, "submission_id": self.submission_id,
                                  "created_at": self.stamp}, self.buffers)  # fmt: skip
        self.unchecked_slugs.clear()
        for rows in self.buffers.values():
            rows.clear()
        self.pending = 0

    def _slug(self, table: str, text: str) -> str:
        slug = lookups.unique_slug(self.db, table, slugify(text), self.slugs[table])
        self.slugs[table].add(slug)
        return slug

    def org_slug(self, name: str) -> str:
        """The organisation's slug among this import's: whether intake.db has it already is asked
        for a batch of them at once, when they are staged (see _check_slugs), not once each."""
        base, reserved = slugify(name), self.slugs["organisations"]
        slug, n = base, 1
        while slug in reserved:  # lookups.unique_slug's numbering
            n += 1
            slug = f"{base[:70]}-{n}"
        reserved.add(slug)
        self.unchecked_slugs.append((slug, base))
        return slug

    def _check_slugs(self) -> None:
        """Give the buffered organisations the slugs lookups.unique_slug would have given them one
        by one: the same unless intake.db has one of them (it asks intake.db only about the first
        candidate this import has not taken), in which case the batch's slugs are chosen again, in
        order, as it would have."""
        batch, self.unchecked_slugs = self.unchecked_slugs, []
        if not batch or not import_store.slugs_in_use(self.db, "organisations", [slug for slug, _ in batch]):
            return
        reserved = self.slugs["organisations"]
        reserved.difference_update(slug for slug, _ in batch)
        again = {slug: self._slug("organisations", base) for slug, base in batch}
        rows = self.buffers["organisations"]
        rows[:] = [(row[0], again.get(row[1], row[1]), *row[2:]) for row in rows]

    def source_slug(self, title: str) -> str:
        return self._slug("sources", title)

    def _insert(self, table: str, values: dict[str, Any]) -> int:
        """Buffer a row given as a mapping; review state and stamps are the import's."""
        values = {"id": self._next(table), "status": self.status, "submission_id": self.submission_id,
                  "created_at": self.stamp, "updated_at": self.stamp, **values}  # fmt: skip
        return self._add(table, tuple(map(values.get, staging.STAGED[table])))

    def source(self, r: dict[str, Any]) -> int:
        slug = r["slug"] if r["slug"] not in self.slugs["sources"] else self._slug("sources", r["title"])
        self.slugs["sources"].add(slug)
        return self._insert("sources", {**r, "slug": slug})

    def disclosure(self, r: dict[str, Any]) -> int:
        self.slugs["disclosures"].add(r["slug"])
        return self._insert("disclosures", r)

    def organisation(self, r: dict[str, Any], key: str) -> int:
        org_id = self._insert("organisations", {**r, "name_key": key})
        self.spellings.add((org_id, r["name"]))
        for alias in r.get("aliases") or []:
            self.alias(org_id, alias["alias"], self.db)
        return org_id

    def made_here(self, org_id: int) -> bool:
        """Whether this import created the organisation (its ids are handed out in order)."""
        return org_id >= self.first_organisation

    def alias(self, org_id: int, spelling: str, db: sqlite_utils.Database, key: str | None = None) -> None:
        """Keep the file's spelling of a matched organisation as an alias (`key`: its name key, if known)."""
        if not self.made_here(org_id) and org_id not in self.spellings_loaded:
            self.spellings_loaded.add(org_id)
            self.spellings.update((org_id, known) for known in import_store.aliases_of(db, org_id))
        if (org_id, spelling) in self.spellings:
            return
        self.spellings.add((org_id, spelling))
        self._insert(
            "organisation_aliases",
            {"organisation_id": org_id, "alias": spelling, "alias_key": key or name_key(spelling)},
        )

    def identifier(self, org_id: int, scheme: str, value: str, db: sqlite_utils.Database) -> None:
        if (scheme, value) in self.identifiers or import_store.identifier_owner(db, scheme, value) is not None:
            return
        self.identifiers.add((scheme, value))
        self._insert("organisation_identifiers", {"organisation_id": org_id, "scheme": scheme, "value": value})

    def existing(self, rel_id: int) -> None:
        """Note a relationship stored before this import, to which it adds citations and figures."""
        self.matched_relationships.add(rel_id)

    def created(self, rel_id: int) -> bool:
        return rel_id >= self.first_relationship

    def identity(self, vendor_id: int, client_id: int, product: str | None) -> int:
        # One int, not a tuple: a million of them fit in memory.
        number = self.products.setdefault(product or "", len(self.products))
        return (vendor_id << 64) | (client_id << 32) | number

    def find_relationship(
        self, vendor_id: int, client_id: int, disclosure_id: int | None, product: str | None, identity: int
    ) -> tuple[int, tuple[Any, ...] | None] | None:
        """(id, stage) of a live relationship with this identity: written by this import (with
        its arrangement, trial length and dates), or stored before (stage None)."""
        found = self.mine.get(identity)  # identity: self.identity(vendor_id, client_id, product)
        if found is not None:
            return found >> 24, self.stage_list[found & 0xFFFFFF]
        if vendor_id >= self.first_organisation or client_id >= self.first_organisation:
            return None  # an organisation this import made has no earlier relationship
        # Only relationships stored before this import's ids begin: one approved while the file
        # is read may take an id this import has staged, and must not be taken for one of its own
        # (the move then meets it at the unique identity index and the import fails cleanly).
        known = lookups.relationship_with_identity(
            self.db, vendor_id, client_id, disclosure_id, product, below=self.first_relationship
        )
        return (known, None) if known is not None else None

    def relationship(
        self,
        vendor_id: int,
        client_id: int,
        product: str | None,
        stage: tuple[Any, ...],
        summary: str,
        notes: str | None,
        identity: int,
    ) -> int:
        """Stage a relationship of the import's disclosure (one per import: staged once, in
        staging.CONSTANTS); `stage` is its (arrangement_code, trial_days, start_date, end_date) and
        `identity` is self.identity(vendor_id, client_id, product)."""
        rel_id = self.ids["relationships"]
        self.ids["relationships"] = rel_id + 1
        number = self.stages.get(stage)
        if number is None:
            number = self.stages[stage] = len(self.stage_list)
            self.stage_list.append(stage)
        self.mine[identity] = (rel_id << 24) | number
        arrangement_code, trial_days, start_date, end_date = stage
        self.relationships.append((rel_id, vendor_id, client_id, product, arrangement_code, trial_days, start_date,
                                   end_date, summary, notes))  # fmt: skip
        self.pending += 1  # _add, written out: this runs for nearly every row
        if self.pending >= BATCH:
            self.flush()
        return rel_id

    # Citations and figures repeated in the file, or stored before, are ignored by the
    # database (INSERT OR IGNORE on their unique keys): no set of them is kept in memory.
    def citation(self, rel_id: int, source_id: int | None, locator: str, quote: str | None) -> None:
        if source_id is None:
            return
        # The row written in place (no _add, _next): these two run for every row of the file.
        ids = self.ids
        number = ids["citations"]
        ids["citations"] = number + 1
        self.citations.append((number, rel_id, source_id, locator, quote))
        self.pending += 1
        if self.pending >= BATCH:
            self.flush()

    def figure(
        self, rel_id: int, figure: tuple[dict[str, Any], tuple[float, float]], row: int, source_id: int | None
    ) -> None:
        """Stage a figure of row `row`: (metric, unit and period, (low, high))."""
        if source_id is None:
            return
        f, (low, high) = figure
        ids = self.ids
        number = ids["observations"]
        ids["observations"] = number + 1
        # staging.STAGED["observations"]: a relationship's figure, so no organisation_id nor breach_id
        self.observations.append((number, rel_id, None, None, f["metric"], low, high, f["unit"], f["period_start"],
                                  f["period_end"], source_id, f"row {row}"))  # fmt: skip
        self.pending += 1
        if self.pending >= BATCH:
            self.flush()
