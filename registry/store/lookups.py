"""Reads of approved data that forms and review pages need: choices, suggestions,
labels."""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from registry.store.records import surviving_id


def _escape_like(text: str) -> str:
    """`text` taken literally by LIKE ... ESCAPE '\\' (its % and _ are not wildcards)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def country_names(db: sqlite_utils.Database) -> list[dict[str, str]]:
    return list(db.query("SELECT code, name, name_fr FROM countries ORDER BY name"))


def disclosure_choices(db: sqlite_utils.Database) -> list[tuple[int, str]]:
    rows = db.execute("SELECT id, title FROM disclosures WHERE status = 'approved' ORDER BY disclosed_date DESC, title")
    return [tuple(r) for r in rows]


def organisations_with_key(db: sqlite_utils.Database, key: str) -> list[dict[str, Any]]:
    """Approved organisations whose name or an alias has this normalised key."""
    return list(
        db.query(
            # One IN over a UNION, not an OR: each side uses its key index (an OR scanned the table).
            "SELECT o.id, o.name, o.country, o.subdivision FROM organisations o WHERE o.status = 'approved' AND "
            "o.id IN (SELECT id FROM organisations WHERE name_key = :k "
            "UNION SELECT organisation_id FROM organisation_aliases WHERE alias_key = :k) ORDER BY o.name",
            {"k": key},
        )
    )


def suggest_organisations(
    db: sqlite_utils.Database, key: str, limit: int = 10, scan: int = 500
) -> list[dict[str, Any]]:
    """Approved organisations whose name or alias key starts with `key`, or is the first
    words of it (typing "Wells Fargo Advisors" suggests "Wells Fargo").

    Both through the key indexes: a range for "starts with", its first `scan` keys in key
    order (the exact key and the shortest come first in it), and an IN list of the key's
    first words for the rest. A LIKE on the key, and `:k LIKE name_key || ' %'`, scanned both
    tables: 1.2 s at a million organisations (benchmarks/organisation_picker.py)."""
    if not key:
        return []
    words = key.split()
    heads = json.dumps([" ".join(words[:n]) for n in range(1, len(words))])
    return list(
        db.query(
            """
            WITH hits AS (
                SELECT * FROM (SELECT id AS organisation_id, name AS spelling, name_key = :k AS exact
                    FROM organisations WHERE name_key >= :k AND name_key < :high AND +status = 'approved'
                    ORDER BY name_key LIMIT :scan)
                UNION ALL
                SELECT id, name, 0 FROM organisations
                WHERE name_key IN (SELECT value FROM json_each(:heads)) AND +status = 'approved'
                UNION ALL
                SELECT * FROM (SELECT organisation_id, alias, alias_key = :k FROM organisation_aliases
                    WHERE alias_key >= :k AND alias_key < :high ORDER BY alias_key LIMIT :scan)
                UNION ALL
                SELECT organisation_id, alias, 0 FROM organisation_aliases
                WHERE alias_key IN (SELECT value FROM json_each(:heads))
            )
            SELECT o.id, o.name, max(h.exact) AS exact, min(h.spelling) AS matched,
                   o.country, c.name AS country_name, s.label AS sector
            FROM hits h CROSS JOIN organisations o ON o.id = h.organisation_id AND +o.status = 'approved'
            LEFT JOIN countries c ON c.code = o.country JOIN sectors s ON s.code = o.sector
            GROUP BY o.id ORDER BY exact DESC, length(o.name), o.name LIMIT :n
            """,  # CROSS JOIN: from the few hits to their organisations, not every approved one to its hits
            {"k": key, "high": key + "\U0010ffff", "heads": heads, "n": limit, "scan": scan},
        )
    )


def organisation_spellings(db: sqlite_utils.Database) -> list[tuple[int, str, str]]:
    """(id, name, spelling) for every approved organisation's name and aliases."""
    rows = db.execute(
        "SELECT o.id, o.name, o.name FROM organisations o WHERE o.status = 'approved' "
        "UNION ALL SELECT o.id, o.name, a.alias FROM organisation_aliases a "
        "JOIN organisations o ON o.id = a.organisation_id WHERE o.status = 'approved'"
    )
    return [tuple(r) for r in rows]


def organisation_spellings_starting_with(
    db: sqlite_utils.Database, prefixes: list[str], each: int = 200
) -> list[tuple[int, str, str, str]]:
    """(id, name, spelling, key) for approved organisations' names and aliases whose key
    begins with one of `prefixes` (at most `each` per prefix and table, so a common word
    costs no more than a rare one): the few a typed name may nearly match, found through
    the key indexes instead of scoring every spelling. (The unary + keeps SQLite from
    walking the status index, which every approved row is in.)"""
    found: list[Any] = []
    for prefix in prefixes:
        bounds = {"low": prefix, "high": prefix + "\U0010ffff", "n": each}
        found += db.execute(
            "SELECT o.id, o.name, o.name, o.name_key FROM organisations o "
            "WHERE o.name_key >= :low AND o.name_key < :high AND +o.status = 'approved' LIMIT :n",
            bounds,
        ).fetchall()
        found += db.execute(
            "SELECT o.id, o.name, a.alias, a.alias_key FROM organisation_aliases a "
            "JOIN organisations o ON o.id = a.organisation_id AND +o.status = 'approved' "
            "WHERE a.alias_key >= :low AND a.alias_key < :high LIMIT :n",
            bounds,
        ).fetchall()
    return [tuple(r) for r in found]


def organisation(db: sqlite_utils.Database, org_id: int) -> dict[str, Any] | None:
    """An approved organisation with its labels (an old id of a merged one gives the
    survivor), or None."""
    org_id = surviving_id(db, org_id)
    rows = list(
        db.query(
            "SELECT o.*, s.label AS sector_label, k.label AS kind_label, c.name AS country_name "
            "FROM organisations o JOIN sectors s ON s.code = o.sector "
            "JOIN organisation_kinds k ON k.code = o.kind LEFT JOIN countries c ON c.code = o.country "
            "WHERE o.id = ? AND o.status = 'approved'",
            [org_id],
        )
    )
    return rows[0] if rows else None


def suggest_sources(db: sqlite_utils.Database, text: str, limit: int = 10) -> list[dict[str, Any]]:
    """Approved sources whose title, publisher or URL contains `text`."""
    like = "%" + _escape_like(text) + "%"
    return list(
        db.query(
            "SELECT id, title, publisher, published_date, url FROM sources WHERE status = 'approved' AND "
            "(title LIKE :l ESCAPE '\\' OR publisher LIKE :l ESCAPE '\\' OR url LIKE :l ESCAPE '\\') "
            "ORDER BY published_date DESC LIMIT :n",
            {"l": like, "n": limit},
        )
    )


def source(db: sqlite_utils.Database, source_id: int) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM sources WHERE id = ? AND status = 'approved'", [source_id]))
    return rows[0] if rows else None


def disclosure(db: sqlite_utils.Database, disclosure_id: int) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM disclosures WHERE id = ? AND status = 'approved'", [disclosure_id]))
    return rows[0] if rows else None


def breach(db: sqlite_utils.Database, breach_id: int) -> dict[str, Any] | None:
    """An approved breach with its organisation's and vendor's names, or None."""
    rows = list(
        db.query(
            "SELECT b.*, o.name AS organisation, v.name AS vendor FROM breaches b "
            "JOIN organisations o ON o.id = b.organisation_id LEFT JOIN organisations v ON v.id = b.vendor_id "
            "WHERE b.id = ? AND b.status = 'approved'",
            [breach_id],
        )
    )
    return rows[0] if rows else None


def slug_taken(db: sqlite_utils.Database, table: str, slug: str) -> bool:
    return db.execute(f"SELECT 1 FROM [{table}] WHERE slug = ?", [slug]).fetchone() is not None


def labels(db: sqlite_utils.Database, table: str) -> dict[str, str]:
    """code -> label (or name, for countries) of a vocabulary table."""
    column = "name" if table == "countries" else "label"
    return {r[0]: r[1] for r in db.execute(f"SELECT code, [{column}] FROM [{table}]")}


RELATIONSHIP_SELECT = """
    SELECT r.id, r.status, r.arrangement_code, arr.label AS arrangement, r.product, r.start_date, r.end_date, r.summary,
           r.vendor_id, v.name AS vendor, r.client_id, c.name AS client, d.title AS disclosure
    FROM relationships r JOIN organisations v ON v.id = r.vendor_id
    JOIN organisations c ON c.id = r.client_id LEFT JOIN disclosures d ON d.id = r.disclosure_id
    JOIN arrangements arr ON arr.code = r.arrangement_code
"""


def relationship(db: sqlite_utils.Database, rel_id: int) -> dict[str, Any] | None:
    """A relationship (any status) with its vendor's and client's names."""
    rows = list(db.query(RELATIONSHIP_SELECT + " WHERE r.id = ?", [rel_id]))
    return rows[0] if rows else None


def search_relationships(db: sqlite_utils.Database, text: str, limit: int = 100) -> list[dict[str, Any]]:
    """Approved relationships whose vendor or client name contains `text`."""
    like = "%" + _escape_like(text) + "%"
    return list(
        db.query(
            RELATIONSHIP_SELECT + " WHERE r.status = 'approved' AND (v.name LIKE :l ESCAPE '\\' OR "
            "c.name LIKE :l ESCAPE '\\') ORDER BY v.name, c.name LIMIT :n",
            {"l": like, "n": limit},
        )
    )


def by_slug(db: sqlite_utils.Database, table: str, slug: str) -> dict[str, Any] | None:
    """A row of organisations, sources or disclosures by slug (any status)."""
    rows = list(db.query(f"SELECT * FROM [{table}] WHERE slug = ?", [slug]))
    return rows[0] if rows else None


def unique_slug(db: sqlite_utils.Database, table: str, base: str, reserved: set[str]) -> str:
    """`base`, or `base-2`, `base-3`... the first not used in `table` nor in `reserved`."""
    candidate, n = base, 1
    while candidate in reserved or slug_taken(db, table, candidate):
        n += 1
        candidate = f"{base[:70]}-{n}"
    return candidate


def relationship_with_identity(
    db: sqlite_utils.Database,
    vendor_id: int,
    client_id: int,
    disclosure_id: int | None,
    product: str | None,
    below: int | None = None,
) -> int | None:
    """The live (pending or approved) relationship with this vendor, client, disclosure and
    product, if any (with an id below `below`, if given); written to use the
    relationships_live_identity index."""
    found = db.execute(
        "SELECT id FROM relationships WHERE vendor_id = ? AND client_id = ? AND coalesce(disclosure_id, 0) = ? "
        "AND coalesce(product, '') = ? AND status IN ('pending', 'approved') AND id < ?",
        [vendor_id, client_id, disclosure_id or 0, product or "", below or 2**63 - 1],
    ).fetchone()
    return found[0] if found else None


def response_exists(
    db: sqlite_utils.Database, subject_id: int, organisation_id: int, source_id: int, subject: str = "relationship_id"
) -> bool:
    """Whether the organisation's response from that source about that relationship,
    disclosure or breach (`subject`, its column) is stored already."""
    if subject not in ("relationship_id", "disclosure_id", "breach_id"):
        raise ValueError(f"no response subject {subject}")
    return (
        db.execute(
            f"SELECT 1 FROM responses WHERE {subject} = ? AND organisation_id = ? AND source_id = ?",
            [subject_id, organisation_id, source_id],
        ).fetchone()
        is not None
    )


def observation_exists(db: sqlite_utils.Database, subject: str, subject_id: int, figure: dict[str, Any]) -> bool:
    """Whether the same figure (metric, period, source, place in it) about that
    organisation or breach is stored already."""
    if subject not in ("relationship_id", "organisation_id", "breach_id"):
        raise ValueError(f"no figure subject {subject}")
    return (
        db.execute(
            f"SELECT 1 FROM observations WHERE {subject} = ? AND metric = ? AND period_start IS ? "
            "AND period_end IS ? AND source_id = ? AND locator IS ?",
            [subject_id, figure["metric"], figure["period_start"], figure["period_end"], figure["source_id"],
             figure["locator"]],
        ).fetchone()
        is not None
    )  # fmt: skip
