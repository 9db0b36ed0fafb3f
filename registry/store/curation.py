"""Writes that change published organisations, relationships and breaches: merges,
decisions, withdrawals."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from registry.rules.names import name_key
from registry.store.records import now


def relationships_of(db: sqlite_utils.Database, org_id: int) -> list[dict[str, Any]]:
    """Approved relationships where the organisation is vendor or client."""
    return list(
        db.query(
            "SELECT * FROM relationships WHERE status = 'approved' AND (vendor_id = :o OR client_id = :o)",
            {"o": org_id},
        )
    )


def breaches_between(db: sqlite_utils.Database, a: int, b: int) -> list[int]:
    """Breaches where one organisation is the other's vendor: a merge would make the
    vendor its own client."""
    sql = "SELECT id FROM breaches WHERE (organisation_id, vendor_id) IN (VALUES (?1, ?2), (?2, ?1)) ORDER BY id"
    return [r[0] for r in db.execute(sql, [a, b])]


def move_relationship(db: sqlite_utils.Database, rel: dict[str, Any], old_id: int, new_id: int) -> int | None:
    """Point a relationship at the surviving organisation.

    If the survivor already has the same relationship, its citations, responses and
    figures join that one and this one is marked merged; return the id it joined."""
    vendor = new_id if rel["vendor_id"] == old_id else rel["vendor_id"]
    client = new_id if rel["client_id"] == old_id else rel["client_id"]
    twin = db.execute(
        "SELECT id FROM relationships WHERE vendor_id = ? AND client_id = ? AND disclosure_id IS ? "
        "AND product IS ? AND id <> ? AND status IN ('pending', 'approved')",
        [vendor, client, rel["disclosure_id"], rel["product"], rel["id"]],
    ).fetchone()
    if twin is None:
        db.execute(
            "UPDATE relationships SET vendor_id = ?, client_id = ?, updated_at = ? WHERE id = ?",
            [vendor, client, now(), rel["id"]],
        )
        return None
    db.execute(
        "INSERT OR IGNORE INTO citations (relationship_id, source_id, locator, quote) "
        "SELECT ?, source_id, locator, quote FROM citations WHERE relationship_id = ?",
        [twin[0], rel["id"]],
    )
    for table in ("responses", "observations"):
        db.execute(f"UPDATE OR IGNORE {table} SET relationship_id = ? WHERE relationship_id = ?", [twin[0], rel["id"]])
    db.execute("UPDATE breaches SET relationship_id = ? WHERE relationship_id = ?", [twin[0], rel["id"]])
    db.execute("UPDATE relationships SET status = 'merged', updated_at = ? WHERE id = ?", [now(), rel["id"]])
    return twin[0]


def merge_organisation(db: sqlite_utils.Database, survivor: dict[str, Any], other: dict[str, Any]) -> None:
    """Fold `other` into `survivor`: names become aliases, references move, the old id redirects."""
    for alias, language in [(other["name"], None)] + [
        (r["alias"], r["language"])
        for r in db.query("SELECT alias, language FROM organisation_aliases WHERE organisation_id = ?", [other["id"]])
    ]:
        if alias != survivor["name"]:
            db.execute(
                "INSERT OR IGNORE INTO organisation_aliases (organisation_id, alias, alias_key, language) "
                "VALUES (?, ?, ?, ?)",
                [survivor["id"], alias, name_key(alias), language],
            )
    db.execute("DELETE FROM organisation_aliases WHERE organisation_id = ?", [other["id"]])
    db.execute(
        "UPDATE organisation_identifiers SET organisation_id = ? WHERE organisation_id = ?",
        [survivor["id"], other["id"]],
    )
    # A figure the survivor has already (same metric, period and source) stays behind, unpublished.
    for table in ("responses", "observations"):
        db.execute(
            f"UPDATE OR IGNORE {table} SET organisation_id = ? WHERE organisation_id = ?", [survivor["id"], other["id"]]
        )
    for column in ("organisation_id", "vendor_id"):
        db.execute(
            f"UPDATE breaches SET {column} = ?, updated_at = ? WHERE {column} = ?", [survivor["id"], now(), other["id"]]
        )
    # A parent merged into its child: the child takes the parent's own parent, never itself.
    db.execute(
        "UPDATE organisations SET parent_id = ? WHERE id = ? AND parent_id = ?",
        [other["parent_id"] if other["parent_id"] != survivor["id"] else None, survivor["id"], other["id"]],
    )
    db.execute(
        "UPDATE organisations SET parent_id = ? WHERE parent_id = ? AND id <> ?",
        [survivor["id"], other["id"], survivor["id"]],
    )
    db.execute(
        "UPDATE organisation_redirects SET organisation_id = ? WHERE organisation_id = ?", [survivor["id"], other["id"]]
    )
    db.execute(
        "INSERT INTO organisation_redirects (old_id, organisation_id) VALUES (?, ?)", [other["id"], survivor["id"]]
    )
    db.execute(
        "UPDATE organisations SET status = 'merged', merged_into_id = ?, parent_id = NULL, updated_at = ? WHERE id = ?",
        [survivor["id"], now(), other["id"]],
    )


def record_decision(
    db: sqlite_utils.Database, org_id: int, other_id: int, decision: str, user_id: int, reason: str
) -> None:
    db.table("organisation_decisions").insert(
        {
            "organisation_id": org_id,
            "other_id": other_id,
            "decision": decision,
            "user_id": user_id,
            "reason": reason,
            "created_at": now(),
        }
    )


def set_relationship_status(db: sqlite_utils.Database, rel_id: int, status: str) -> None:
    db.execute("UPDATE relationships SET status = ?, updated_at = ? WHERE id = ?", [status, now(), rel_id])


def record_withdrawal(db: sqlite_utils.Database, rel_id: int, public_reason: str) -> None:
    """Keep the date and the notice readers see at the withdrawn relationship's address."""
    db.execute(
        "INSERT OR REPLACE INTO relationship_withdrawals (relationship_id, withdrawn_at, public_reason) "
        "VALUES (?, ?, ?)",
        [rel_id, now(), public_reason],
    )


def withdrawal(db: sqlite_utils.Database, rel_id: int) -> dict[str, Any] | None:
    """When a relationship was withdrawn and its public notice, if it was."""
    found = list(db.query("SELECT * FROM relationship_withdrawals WHERE relationship_id = ?", [rel_id]))
    return found[0] if found else None


def organisation_links(db: sqlite_utils.Database, org_id: int) -> dict[str, Any]:
    """What hangs on an organisation, for the audit log of a merge."""

    def values(sql: str) -> list[Any]:
        return [r[0] for r in db.execute(sql, [org_id])]

    return {
        "aliases": values("SELECT alias FROM organisation_aliases WHERE organisation_id = ? ORDER BY alias"),
        "identifiers": values(
            "SELECT scheme || ':' || value FROM organisation_identifiers WHERE organisation_id = ? ORDER BY 1"
        ),
        "responses": values("SELECT id FROM responses WHERE organisation_id = ? ORDER BY id"),
        "observations": values("SELECT id FROM observations WHERE organisation_id = ? ORDER BY id"),
        "breaches": values("SELECT id FROM breaches WHERE organisation_id = ?1 OR vendor_id = ?1 ORDER BY id"),
        "children": values("SELECT id FROM organisations WHERE parent_id = ? ORDER BY id"),
    }


def decisions_between(db: sqlite_utils.Database, a: int, b: int) -> list[dict[str, Any]]:
    """Reviewers' earlier decisions on this pair of organisations."""
    return list(
        db.query(
            "SELECT d.decision, d.reason, d.created_at, u.name AS reviewer FROM organisation_decisions d "
            "JOIN users u ON u.id = d.user_id WHERE (organisation_id = :a AND other_id = :b) "
            "OR (organisation_id = :b AND other_id = :a) ORDER BY d.id",
            {"a": a, "b": b},
        )
    )


def unpublished_relationship_texts(db: sqlite_utils.Database) -> list[tuple[int, str, str, str]]:
    """(relationship id, status, field, text) of every relationship withdrawn or merged
    away: what it published, which must leave registry.db with it (`registry check`)."""
    gone = "SELECT id FROM relationships WHERE status IN ('withdrawn', 'merged')"
    sql = f"""
        SELECT r.id, 'summary', r.summary FROM relationships r WHERE r.id IN ({gone})
        UNION ALL SELECT r.id, 'notes', r.notes FROM relationships r WHERE r.id IN ({gone})
        UNION ALL SELECT r.id, 'product', r.product FROM relationships r WHERE r.id IN ({gone})
        UNION ALL SELECT r.id, 'vendor', o.name FROM relationships r JOIN organisations o ON o.id = r.vendor_id
            WHERE r.id IN ({gone})
        UNION ALL SELECT r.id, 'client', o.name FROM relationships r JOIN organisations o ON o.id = r.client_id
            WHERE r.id IN ({gone})
        UNION ALL SELECT r.id, 'client alias', a.alias FROM relationships r
            JOIN organisation_aliases a ON a.organisation_id = r.client_id WHERE r.id IN ({gone})
        UNION ALL SELECT r.id, 'disclosure', d.title FROM relationships r JOIN disclosures d ON d.id = r.disclosure_id
            WHERE r.id IN ({gone})
        UNION ALL SELECT relationship_id, 'citation', quote FROM citations WHERE relationship_id IN ({gone})
        UNION ALL SELECT relationship_id, 'response', summary FROM responses WHERE relationship_id IN ({gone})
        UNION ALL SELECT relationship_id, 'response quote', quote FROM responses WHERE relationship_id IN ({gone})
    """
    status = dict(db.execute(gone.replace("SELECT id", "SELECT id, status")).fetchall())
    return [(r[0], status[r[0]], r[1], r[2]) for r in db.execute(sql) if r[2]]
