"""Every field's limits, in one place.

The forms (registry/web/forms/), the record builders (registry/rules/records.py) and so
the importer and the seed read them from here. tests/test_limits.py parses schema.sql and
fails when one of its CHECK constraints disagrees with a limit here, so a limit is changed
in both places or in neither."""

from __future__ import annotations

# The longest text, in characters, per table and column.
LONGEST: dict[str, dict[str, int]] = {
    "ended_sessions": {"session_id": 64},
    "organisations": {"name": 300, "city": 200, "description": 2000, "person_name_reason": 500},
    "organisation_aliases": {"alias": 300, "language": 3},
    "organisation_identifiers": {"value": 200},
    "sources": {
        "title": 500,
        "url": 2000,
        "archive_url": 2000,
        "publisher": 200,
        "language": 3,
        "content_hash": 80,
        "notes": 2000,
    },
    "disclosures": {"title": 300, "disclosed_by": 300, "description": 4000, "completeness_note": 2000},
    "relationships": {"product": 200, "summary": 1000, "notes": 2000},
    "citations": {"locator": 200, "quote": 500},
    "responses": {"summary": 2000, "quote": 1000, "locator": 200, "author": 200},
    "breaches": {"title": 300, "description": 5000, "notes": 2000},
    "breach_citations": {"locator": 200, "quote": 500},
    "observations": {"metric": 100, "unit": 50, "locator": 200},
    "submissions": {"submitter_name": 200, "submitter_contact": 200},
    "reviews": {"note": 2000},
    "organisation_decisions": {"reason": 2000},
    "audit_log": {"reason": 2000},
    "relationship_withdrawals": {"public_reason": 1000},
    "users": {"name": 100},
}

# The shortest text, where schema.sql requires more than one character.
SHORTEST: dict[str, dict[str, int]] = {
    "ended_sessions": {"session_id": 32},
    "organisation_aliases": {"language": 2},
    "sources": {"language": 2},
}

# Numbers: (lowest, highest).
RANGES: dict[str, dict[str, tuple[int, int]]] = {
    "countries": {"latitude": (-90, 90), "longitude": (-180, 180)},  # from countryinfo, for the map
    "relationships": {"trial_days": (1, 3650)},
    "disclosures": {"reported_count": (0, 100_000_000)},
    # people or records affected by a breach: the largest known breaches held billions of records
    "breaches": {"affected_low": (0, 100_000_000_000), "affected_high": (0, 100_000_000_000)},
}

# What a contributor may type where the stored value is shorter or a code.
DATE = 10  # YYYY-MM-DD
SLUG = 80
CODE = 100  # a vocabulary code
COUNTRY = 100  # a country's code or its name in English or French
SUBDIVISION = 10  # an ISO 3166-2 code such as US-FL
ALIASES = 3000  # the organisation form's "other names", one per line
COUNT = 20  # a number as typed, with separators: "2,200"
PASSWORD = 1000
REPORT = 4000  # an error report's "what is wrong" and "evidence" (kept in the private submission)


def longest(table: str, column: str) -> int:
    """The longest text allowed in `table.column`."""
    return LONGEST[table][column]


def span(table: str, column: str) -> tuple[int, int]:
    """The lowest and highest number allowed in `table.column`."""
    return RANGES[table][column]
