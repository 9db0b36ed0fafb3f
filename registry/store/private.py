"""Reads of the private tables of intake.db."""

from __future__ import annotations

import sqlite_utils

# Every private column whose value would identify or reach a person, or reveal a
# review: none of these may ever appear in registry.db. The number is the shortest
# value worth looking for: names and contacts from 4 characters, free text (review
# notes, reasons) from 24, below which a phrase ("duplicate entry") is too common to
# mean a leak.
PRIVATE_COLUMNS = (
    ("submissions", "submitter_name", 4),  # only full names: see private_values
    ("submissions", "submitter_contact", 4),
    ("submissions", "idempotency_key", 4),
    ("users", "name", 4),
    ("users", "password_hash", 4),
    ("reviews", "note", 24),
    ("audit_log", "reason", 24),
    ("organisation_decisions", "reason", 24),
)


def private_values(intake: sqlite_utils.Database) -> set[str]:
    """Return the distinct values of every private column, long enough to be telling."""
    values: set[str] = set()
    for table, column, shortest in PRIVATE_COLUMNS:
        rows = intake.execute(
            f"SELECT DISTINCT trim([{column}]) FROM [{table}] WHERE length(trim([{column}])) >= ?", [shortest]
        )
        # A one-word name ("Jordan") is also a country, a city, a street: only full names
        # ("Jordan Smith") are telling enough to look for.
        values.update(r[0] for r in rows if column != "submitter_name" or " " in r[0])
    return values


def shortest(table: str, column: str) -> int:
    """The shortest value of a private column that `registry check` looks for in registry.db."""
    return next(n for t, c, n in PRIVATE_COLUMNS if (t, c) == (table, column))
