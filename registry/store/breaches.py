"""Breach writes to intake.db: a breach with its types, kinds of data, media,
disclosures, citations, responses and figures. Upserts on natural keys, as
store/records.py: loading the same breach twice changes nothing."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from registry.rules.records import BreachRecord
from registry.store.records import id_for, save_observation, save_response, save_row

# A breach's link tables: (table, code column, BreachRecord attribute).
LINKS = (
    ("breaches_breach_types", "breach_type", "breach_types"),
    ("breaches_data_kinds", "data_kind", "data_kinds"),
    ("breaches_breach_media", "medium", "media"),
)
# The columns stored as the record holds them.
COPIED: tuple[str, ...] = ("title", "start_date", "end_date", "discovered_date", "notified_date")
COPIED += ("affected_low", "affected_high", "affected_unit", "description", "notes")


def revealed_relationship(db: sqlite_utils.Database, vendor_id: int, client_id: int) -> int | None:
    """The live vendor -> client relationship a vendor's breach revealed, when there is
    exactly one: with none, or several (one per product or disclosure), the breach names
    the vendor and links no relationship rather than guess."""
    rows = db.execute(
        "SELECT id FROM relationships WHERE vendor_id = ? AND client_id = ? AND status IN ('pending', 'approved') "
        "LIMIT 2",
        [vendor_id, client_id],
    ).fetchall()
    return rows[0][0] if len(rows) == 1 else None


def unlinked_breaches(db: sqlite_utils.Database, vendor_id: int, client_id: int) -> list[dict[str, Any]]:
    """Breaches naming this vendor and organisation and no relationship (for the audit log)."""
    sql = "SELECT * FROM breaches WHERE vendor_id = ? AND organisation_id = ? AND relationship_id IS NULL"
    return list(db.query(sql, [vendor_id, client_id]))


def link_revealed(db: sqlite_utils.Database, vendor_id: int, client_id: int) -> list[int]:
    """Link the breaches that named this vendor and client before their relationship was
    stored to it, once it is the one live relationship between them; return their ids."""
    relationship_id = revealed_relationship(db, vendor_id, client_id)
    if relationship_id is None:
        return []
    rows = db.execute(
        "UPDATE breaches SET relationship_id = ? WHERE vendor_id = ? AND organisation_id = ? "
        "AND relationship_id IS NULL RETURNING id",
        [relationship_id, vendor_id, client_id],
    ).fetchall()
    return [r[0] for r in rows]


def save_breach(db: sqlite_utils.Database, record: BreachRecord, status: str) -> int:
    """Insert or update a breach, keyed by slug, with its link rows, citations,
    responses and figures. Its codes and disclosures become exactly the record's."""
    organisation_id = id_for(db, "organisations", record.organisation)
    vendor_id = id_for(db, "organisations", record.vendor) if record.vendor else None
    values = {
        "organisation_id": organisation_id,
        "vendor_id": vendor_id,
        "relationship_id": revealed_relationship(db, vendor_id, organisation_id) if vendor_id else None,
        **{k: getattr(record, k) for k in COPIED},
        **{k: int(getattr(record, k)) for k in ("verified", "disputed", "sensitive")},
    }
    breach_id = save_row(db, "breaches", {"slug": record.slug}, values, status)
    for table, column, attribute in LINKS:
        _replace_links(db, table, column, breach_id, getattr(record, attribute))
    disclosure_ids = tuple(id_for(db, "disclosures", slug) for slug in record.disclosures)
    _replace_links(db, "breaches_disclosures", "disclosure_id", breach_id, disclosure_ids)
    for c in record.citations:
        db.execute(
            "INSERT INTO breach_citations (breach_id, source_id, locator, quote) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (breach_id, source_id, locator) DO UPDATE SET quote = excluded.quote "
            "WHERE quote IS NOT excluded.quote",
            [breach_id, id_for(db, "sources", c.source), c.locator, c.quote],
        )
    for r in record.responses:
        save_response(db, breach_id, r, status, subject="breach_id")
    for o in record.observations:
        save_observation(db, "breach_id", breach_id, o, status)
    return breach_id


def _replace_links(
    db: sqlite_utils.Database, table: str, column: str, breach_id: int, values: tuple[object, ...]
) -> None:
    """Make a breach's rows of a link table exactly `values` (unchanged rows stay)."""
    marks = ", ".join("?" * len(values))
    keep = f" AND [{column}] NOT IN ({marks})" if values else ""
    db.execute(f"DELETE FROM [{table}] WHERE breach_id = ?{keep}", [breach_id, *values])
    for value in values:
        db.execute(f"INSERT OR IGNORE INTO [{table}] (breach_id, [{column}]) VALUES (?, ?)", [breach_id, value])


def breach_slug_taken(db: sqlite_utils.Database, slug: str) -> bool:
    return db.execute("SELECT 1 FROM breaches WHERE slug = ?", [slug]).fetchone() is not None
