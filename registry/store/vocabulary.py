"""The controlled vocabularies, countries and subdivisions in intake.db: loaded from
seed/ and pycountry, and read back (cached) for every form and import."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlite_utils

from registry.rules.fields import Vocabulary, fold

VOCABULARY_TABLES = (
    "sectors",
    "organisation_kinds",
    "arrangements",
    "disclosure_kinds",
    "response_kinds",
    "government_levels",
    "breach_types",
    "data_kinds",
    "breach_media",
)


def load_reference_data(
    db: sqlite_utils.Database,
    vocabularies: Mapping[str, list[dict[str, str]]],
    countries: Iterable[dict[str, Any]],
    subdivisions: Iterable[dict[str, Any]],
) -> None:
    """Upsert vocabularies, countries and subdivisions (unchanged rows stay untouched)."""
    for table in VOCABULARY_TABLES:
        _upsert_changed(db, table, "code", vocabularies[table])
    _upsert_changed(db, "countries", "code", countries)
    _upsert_changed(db, "subdivisions", "code", subdivisions)


def _upsert_changed(db: sqlite_utils.Database, table: str, key: str, rows: Iterable[dict[str, Any]]) -> None:
    existing = {r[key]: r for r in db.query(f"SELECT * FROM [{table}]")}
    changed = [r for r in rows if existing.get(r[key]) != r]
    if changed:
        db.table(table).upsert_all(changed, pk=key)


def reference_fingerprint(db: sqlite_utils.Database) -> tuple[Any, ...]:
    """Values that change whenever `load_reference_data` changes what `load_vocabulary`
    reads: the vocabulary tables (a few dozen short rows) and the country names (249) are
    compared whole; a new subdivision adds a row (count and largest rowid). A cheap test
    of whether a cached Vocabulary is right."""
    vocabularies = ", ".join(f"(SELECT group_concat(code || '=' || label, '|') FROM [{t}])" for t in VOCABULARY_TABLES)
    subdivisions = "(SELECT count(*) FROM subdivisions), (SELECT max(rowid) FROM subdivisions)"
    row = " || '|' || ".join(f"ifnull({c}, '')" for c in ("code", "code3", "name", "name_fr", "official_name"))
    names = f"SELECT group_concat({row}, '/') FROM countries"
    return tuple(db.execute(f"SELECT {vocabularies}, {subdivisions}, ({names})").fetchone())


_vocabularies: dict[tuple[Any, ...], Vocabulary] = {}


def load_vocabulary(db: sqlite_utils.Database) -> Vocabulary:
    """The controlled vocabularies and the country names, read from the database once and
    again only when `reference_fingerprint` says they changed (every form post reads them)."""
    fingerprint = reference_fingerprint(db)
    if (found := _vocabularies.get(fingerprint)) is None:
        if len(_vocabularies) > 8:
            _vocabularies.clear()
        found = _vocabularies[fingerprint] = _read_vocabulary(db)
    return found


def _read_vocabulary(db: sqlite_utils.Database) -> Vocabulary:
    labels = {
        t: tuple((code, label) for code, label in db.execute(f"SELECT code, label FROM [{t}] ORDER BY label"))
        for t in VOCABULARY_TABLES
    }
    codes = {t: frozenset(code for code, _ in pairs) for t, pairs in labels.items()}
    names: dict[str, str] = {}
    for row in db.query("SELECT code, code3, name, name_fr, official_name FROM countries"):
        for text in (row["code"], row["code3"], row["name"], row["name_fr"], row["official_name"]):
            if text:
                names.setdefault(fold(text), row["code"])
    subdivisions = frozenset(r["code"] for r in db.query("SELECT code FROM subdivisions"))
    return Vocabulary(
        sectors=codes["sectors"],
        organisation_kinds=codes["organisation_kinds"],
        arrangements=codes["arrangements"],
        disclosure_kinds=codes["disclosure_kinds"],
        response_kinds=codes["response_kinds"],
        government_levels=codes["government_levels"],
        breach_types=codes["breach_types"],
        data_kinds=codes["data_kinds"],
        breach_media=codes["breach_media"],
        subdivisions=subdivisions,
        country_names=names,
        labels=labels,
    )
