"""Reads and writes of submissions, reviews, accounts and the audit log (all private),
and the lookups the intake forms need."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import sqlite_utils

from registry.store.records import now


class DuplicateSubmissionError(Exception):
    """A submission with this idempotency key exists already."""

    def __init__(self, reference: str) -> None:
        super().__init__(reference)
        self.reference = reference


def insert_submission(
    db: sqlite_utils.Database,
    reference: str,
    kind: str,
    payload: dict[str, Any],
    submitter_name: str | None,
    submitter_contact: str | None,
    idempotency_key: str | None,
) -> int:
    """Store a pending submission; a repeated idempotency key raises with the first reference."""
    try:
        cursor = db.execute(
            "INSERT INTO submissions (reference, kind, payload, submitter_name, submitter_contact, "
            "idempotency_key, status, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)",
            [reference, kind, json.dumps(payload, ensure_ascii=False, sort_keys=True), submitter_name,
             submitter_contact, idempotency_key, now()],
        )  # fmt: skip
        assert cursor.lastrowid is not None  # set by the INSERT
        return cursor.lastrowid
    except sqlite3.IntegrityError as e:
        if idempotency_key and "idempotency_key" in str(e):
            row = db.execute(
                "SELECT reference FROM submissions WHERE idempotency_key = ?", [idempotency_key]
            ).fetchone()
            raise DuplicateSubmissionError(row[0]) from e
        raise


def submission(db: sqlite_utils.Database, submission_id: int) -> dict[str, Any] | None:
    """Return one submission with its payload decoded, or None."""
    rows = list(db.query("SELECT * FROM submissions WHERE id = ?", [submission_id]))
    if not rows:
        return None
    row = rows[0]
    row["payload"] = json.loads(row["payload"])
    return row


def submission_by_reference(db: sqlite_utils.Database, reference: str) -> dict[str, Any] | None:
    """Return a submission's id, kind and status by its public reference."""
    rows = list(db.query("SELECT id, reference, kind, status FROM submissions WHERE reference = ?", [reference]))
    return rows[0] if rows else None


def pending_submissions(db: sqlite_utils.Database, limit: int = -1, offset: int = 0) -> list[dict[str, Any]]:
    """Pending submissions, oldest first (a page of them with `limit` and `offset`)."""
    rows = list(
        db.query(
            "SELECT id, reference, kind, payload, created_at FROM submissions "
            "WHERE status = 'pending' ORDER BY created_at, id LIMIT ? OFFSET ?",
            [limit, offset],
        )
    )
    for row in rows:
        row["payload"] = json.loads(row["payload"])
    return rows


def count_pending(db: sqlite_utils.Database) -> int:
    return db.execute("SELECT count(*) FROM submissions WHERE status = 'pending'").fetchone()[0]


def update_payload(db: sqlite_utils.Database, submission_id: int, payload: dict[str, Any]) -> None:
    db.execute(
        "UPDATE submissions SET payload = ? WHERE id = ?",
        [json.dumps(payload, ensure_ascii=False, sort_keys=True), submission_id],
    )


def set_submission_status(db: sqlite_utils.Database, submission_id: int, status: str) -> None:
    db.execute("UPDATE submissions SET status = ? WHERE id = ?", [status, submission_id])


def add_review(
    db: sqlite_utils.Database, submission_id: int | None, user_id: int, decision: str, note: str | None
) -> None:
    db.table("reviews").insert(
        {"submission_id": submission_id, "user_id": user_id, "decision": decision, "note": note, "created_at": now()}
    )


def reviews_of(db: sqlite_utils.Database, submission_id: int) -> list[dict[str, Any]]:
    return list(
        db.query(
            "SELECT r.decision, r.note, r.created_at, u.name AS reviewer FROM reviews r "
            "JOIN users u ON u.id = r.user_id WHERE r.submission_id = ? ORDER BY r.id",
            [submission_id],
        )
    )


def audit(
    db: sqlite_utils.Database,
    table: str,
    row_id: int,
    action: str,
    user: dict[str, Any],
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
    reason: str,
) -> None:
    """Record a change to published data: who, when, old and new value, why."""
    db.table("audit_log").insert(
        {
            "table_name": table,
            "row_id": row_id,
            "action": action,
            "user_id": user["id"],
            "actor": user["name"],
            "old_value": json.dumps(old, ensure_ascii=False, sort_keys=True) if old is not None else None,
            "new_value": json.dumps(new, ensure_ascii=False, sort_keys=True) if new is not None else None,
            "reason": reason,
            "created_at": now(),
        }
    )


def audit_entries(db: sqlite_utils.Database, table: str | None, row_id: int | None) -> list[dict[str, Any]]:
    """The audit log, newest first, for one row or all rows."""
    sql = "SELECT * FROM audit_log WHERE (:t IS NULL OR table_name = :t) AND (:r IS NULL OR row_id = :r)"
    return list(db.query(sql + " ORDER BY id DESC LIMIT 500", {"t": table, "r": row_id}))


def row(db: sqlite_utils.Database, table: str, row_id: int) -> dict[str, Any] | None:
    """Return one row of a domain table as a dict (for the audit log)."""
    rows = list(db.query(f"SELECT * FROM [{table}] WHERE id = ?", [row_id]))
    return rows[0] if rows else None


def insert_user(db: sqlite_utils.Database, name: str, password_hash: str, role: str) -> int:
    user = {"name": name, "password_hash": password_hash, "role": role, "created_at": now()}
    user_id = db.table("users").insert(user).last_pk
    assert user_id is not None  # set by the insert
    return user_id


def user_by_name(db: sqlite_utils.Database, name: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM users WHERE name = ?", [name]))
    return rows[0] if rows else None


def set_password_hash(db: sqlite_utils.Database, user_id: int, password_hash: str) -> None:
    db.execute("UPDATE users SET password_hash = ? WHERE id = ?", [password_hash, user_id])
