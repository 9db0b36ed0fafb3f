"""Reads of the private tables of intake.db."""

from __future__ import annotations

import sqlite_utils

# Every private column whose value would identify or reach a person, or reveal a
# review: none of these may ever appear in registry.db.
PRIVATE_COLUMNS = (
    ("submissions", "submitter_name"),
    ("submissions", "submitter_contact"),
    ("submissions", "idempotency_key"),
    ("users", "name"),
    ("users", "password_hash"),
    ("reviews", "note"),
    ("audit_log", "reason"),
)


def private_values(intake: sqlite_utils.Database) -> set[str]:
    """Return the distinct non-empty values of every private column."""
    values: set[str] = set()
    for table, column in PRIVATE_COLUMNS:
        rows = intake.execute(f"SELECT DISTINCT [{column}] FROM [{table}] WHERE [{column}] <> ''")
        values.update(str(r[0]).strip() for r in rows)
    return {v for v in values if v}
