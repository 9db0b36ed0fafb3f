"""Reviewer sessions in intake.db: the account a session's cookie names, and the
sessions ended before their time (the `ended_sessions` table of schema.sql)."""

from __future__ import annotations

from typing import Any

import sqlite_utils


def account_of_session(db: sqlite_utils.Database, user_id: int, session_id: str) -> dict[str, Any] | None:
    """The account, and whether this session of it was ended: one statement, two
    primary-key lookups, run on every request of a logged-in reviewer."""
    row = db.execute(
        "SELECT id, name, role, EXISTS (SELECT 1 FROM ended_sessions WHERE session_id = :session_id) "
        "FROM users WHERE id = :user_id",
        {"user_id": user_id, "session_id": session_id},
    ).fetchone()
    if row is None:
        return None
    return {"id": row[0], "name": row[1], "role": row[2], "ended": bool(row[3])}


def end_session(db: sqlite_utils.Database, session_id: str, user_id: int, ended_at: str, expires_at: str) -> None:
    """Record that a session is over (ending it twice keeps the first record)."""
    db.execute(
        "INSERT INTO ended_sessions (session_id, user_id, ended_at, expires_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (session_id) DO NOTHING",
        [session_id, user_id, ended_at, expires_at],
    )


def forget_expired(db: sqlite_utils.Database, now: str) -> None:
    """Drop the records of sessions that would have ended by now anyway."""
    db.execute("DELETE FROM ended_sessions WHERE expires_at <= ?", [now])
