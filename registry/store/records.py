"""Record writes to intake.db: organisations, sources, disclosures, relationships and
responses. Writes are upserts on natural keys, so loading the same data twice changes
nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlite_utils

from registry.rules.names import name_key
from registry.rules.records import (
    DisclosureRecord,
    OrganisationRecord,
    RelationshipRecord,
    ResponseRecord,
    SourceRecord,
)


class UnknownReferenceError(LookupError):
    """A record names a row (by slug) that does not exist."""


def now() -> str:
    """Return the current UTC time as ISO 8601."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def id_for(db: sqlite_utils.Database, table: str, slug: str) -> int:
    """Return the id of the row with this slug; a merged organisation gives its survivor."""
    row = db.execute(f"SELECT id FROM [{table}] WHERE slug = ?", [slug]).fetchone()
    if row is None:
        raise UnknownReferenceError(f"no {table[:-1]} with slug '{slug}'")
    return surviving_id(db, row[0]) if table == "organisations" else row[0]


def surviving_id(db: sqlite_utils.Database, org_id: int) -> int:
    """Follow merges: the organisation an old id now stands for."""
    for _ in range(100):  # merges form chains, never cycles; the bound is a guard
        row = db.execute("SELECT merged_into_id FROM organisations WHERE id = ?", [org_id]).fetchone()
        if row is None or row[0] is None:
            return org_id
        org_id = row[0]
    return org_id


def _optional_id(db: sqlite_utils.Database, table: str, slug: str | None) -> int | None:
    return id_for(db, table, slug) if slug else None


def _save(db: sqlite_utils.Database, table: str, match: Mapping[str, Any], values: dict[str, Any], status: str) -> int:
    """Insert a row, or update it if it exists and differs; return its id.

    The review status is only set on insert: loading data again never overrides a
    reviewer's decision (a withdrawn row stays withdrawn)."""
    where = " AND ".join(f"[{k}] IS ?" for k in match)
    if table in ("organisations", "relationships"):
        where += " AND status <> 'merged'"  # a merged row lives on in its survivor
    existing = db.execute(f"SELECT * FROM [{table}] WHERE {where}", list(match.values())).fetchone()
    stamp = now()
    if existing is None:
        row = {**match, **values, "status": status, "created_at": stamp}
        if table == "relationships":
            row["approved_at"] = stamp if status != "pending" else None
        if "updated_at" in db[table].columns_dict:
            row["updated_at"] = stamp
        row_id = db.table(table).insert(row).last_pk
        assert row_id is not None  # set by the insert
        return row_id
    current = dict(
        zip([d[0] for d in db.execute(f"SELECT * FROM [{table}] LIMIT 0").description], existing, strict=True)
    )
    changes = {k: v for k, v in values.items() if current.get(k) != v}
    if changes:
        if "updated_at" in current:
            changes["updated_at"] = stamp
        db.table(table).update(current["id"], changes)
    return current["id"]


def save_source(db: sqlite_utils.Database, record: SourceRecord, status: str) -> int:
    """Insert or update a source, keyed by slug."""
    values = {k: v for k, v in vars(record).items() if k != "slug"}
    return _save(db, "sources", {"slug": record.slug}, values, status)


def save_organisation(db: sqlite_utils.Database, record: OrganisationRecord, status: str) -> int:
    """Insert or update an organisation with its aliases and identifiers, keyed by slug.

    An organisation a reviewer merged stays merged: its survivor's id is returned."""
    merged = db.execute("SELECT id FROM organisations WHERE slug = ? AND status = 'merged'", [record.slug]).fetchone()
    if merged:
        return surviving_id(db, merged[0])
    values = {
        "name": record.name,
        "name_key": name_key(record.name),
        "kind": record.kind,
        "sector": record.sector,
        "country": record.country,
        "subdivision": record.subdivision,
        "city": record.city,
        "parent_id": _optional_id(db, "organisations", record.parent),
        "description": record.description,
        "government_level": record.government_level,
        "person_name_reason": record.person_name_reason,
    }
    org_id = _save(db, "organisations", {"slug": record.slug}, values, status)
    for alias in record.aliases:
        db.execute(
            "INSERT INTO organisation_aliases (organisation_id, alias, alias_key, language) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (organisation_id, alias) DO UPDATE SET language = excluded.language "
            "WHERE language IS NOT excluded.language",
            [org_id, alias.alias, name_key(alias.alias), alias.language],
        )
    for scheme, value in record.identifiers:
        db.execute(
            "INSERT INTO organisation_identifiers (organisation_id, scheme, value) VALUES (?, ?, ?) "
            "ON CONFLICT (scheme, value) DO UPDATE SET organisation_id = excluded.organisation_id "
            "WHERE organisation_id IS NOT excluded.organisation_id",
            [org_id, scheme, value],
        )
    return org_id


def save_disclosure(db: sqlite_utils.Database, record: DisclosureRecord, status: str) -> int:
    """Insert or update a disclosure, keyed by slug."""
    values = {k: v for k, v in vars(record).items() if k not in ("slug", "primary_source")}
    values["primary_source_id"] = _optional_id(db, "sources", record.primary_source)
    return _save(db, "disclosures", {"slug": record.slug}, values, status)


def save_response(db: sqlite_utils.Database, relationship_id: int, record: ResponseRecord, status: str) -> int:
    """Insert or update a response, keyed by relationship, organisation and source."""
    key = {
        "relationship_id": relationship_id,
        "organisation_id": id_for(db, "organisations", record.organisation),
        "source_id": id_for(db, "sources", record.source),
    }
    fields = {k: getattr(record, k) for k in ("kind", "response_date", "quote", "summary", "locator")}
    return _save(db, "responses", key, fields, status)


def save_relationship(db: sqlite_utils.Database, record: RelationshipRecord, status: str) -> int:
    """Insert or update a relationship and its citations, responses and observations.

    A relationship is identified by vendor, client, disclosure and product."""
    match = {
        "vendor_id": id_for(db, "organisations", record.vendor),
        "client_id": id_for(db, "organisations", record.client),
        "disclosure_id": _optional_id(db, "disclosures", record.disclosure),
        "product": record.product,
    }
    values = {
        "arrangement_code": record.arrangement,
        "trial_days": record.trial_days,
        "start_date": record.start_date,
        "end_date": record.end_date,
        "summary": record.summary,
        "notes": record.notes,
    }
    rel_id = _save(db, "relationships", match, values, status)
    for c in record.citations:
        db.execute(
            "INSERT INTO citations (relationship_id, source_id, locator, quote) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (relationship_id, source_id, locator) DO UPDATE SET quote = excluded.quote "
            "WHERE quote IS NOT excluded.quote",
            [rel_id, id_for(db, "sources", c.source), c.locator, c.quote],
        )
    for r in record.responses:
        save_response(db, rel_id, r, status)
    for o in record.observations:
        key = {
            "relationship_id": rel_id,
            "metric": o.metric,
            "period_start": o.period_start,
            "period_end": o.period_end,
            "source_id": id_for(db, "sources", o.source),
            "locator": o.locator,
        }
        fields = {k: getattr(o, k) for k in ("low", "high", "unit")}
        _save(db, "observations", key, fields, status)
    return rel_id


def merged_slugs(db: sqlite_utils.Database) -> set[str]:
    """Slugs of organisations merged into another."""
    return {r[0] for r in db.execute("SELECT slug FROM organisations WHERE status = 'merged'")}
