"""Load the starting data in seed/ into intake.db: all of it, or nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils
import yaml

from registry.rules.fields import ValidationError, Vocabulary
from registry.rules.persons import person_name_warning, unstated_person
from registry.rules.records import (
    DisclosureRecord,
    OrganisationRecord,
    RelationshipRecord,
    SourceRecord,
    build_disclosure,
    build_organisation,
    build_relationship,
    build_source,
)
from registry.store import records as record_store
from registry.store import vocabulary as vocabulary_store
from registry.store.writers import transaction

SEED_FILES = ("sources.yml", "organisations.yml", "disclosures.yml", "relationships.yml")


class SeedError(Exception):
    """The seed files are unreadable or invalid; the message lists every problem."""


@dataclass(frozen=True)
class SeedData:
    sources: list[SourceRecord]
    organisations: list[OrganisationRecord]
    disclosures: list[DisclosureRecord]
    relationships: list[RelationshipRecord]


def read_yaml(path: Path) -> Any:
    """Parse a YAML file, naming the file and line when it is not valid YAML."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise SeedError(f"{path}: file not found") from e
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise SeedError(f"{path}: not valid YAML: {e}") from e


def read_vocabularies(seed_dir: Path) -> dict[str, list[dict[str, str]]]:
    """Read seed/vocabularies.yml."""
    data = read_yaml(seed_dir / "vocabularies.yml")
    if not isinstance(data, dict):
        raise SeedError(f"{seed_dir / 'vocabularies.yml'}: expected a mapping of vocabularies")
    return data


def read_seed(seed_dir: Path, vocabulary: Vocabulary) -> SeedData:
    """Read and validate every seed file, collecting all problems before failing."""
    problems: list[str] = []
    builders: dict[str, Callable[[Any], Any]] = {
        "sources.yml": build_source,
        "organisations.yml": lambda row: build_organisation(row, vocabulary),
        "disclosures.yml": lambda row: build_disclosure(row, vocabulary),
        "relationships.yml": lambda row: build_relationship(row, vocabulary),
    }
    loaded: dict[str, list[Any]] = {}
    invalid: set[str] = set()  # slugs of invalid rows: reported once, not again as missing
    for name in SEED_FILES:
        loaded[name] = list(_build_rows(seed_dir / name, builders[name], problems, invalid))
    data = SeedData(*(loaded[name] for name in SEED_FILES))
    problems.extend(_reference_problems(seed_dir, data, invalid))
    problems.extend(
        f"{seed_dir / 'organisations.yml'} ({org.slug}): person_name_reason: {person_name_warning(org.name)}"
        for org in data.organisations
        if unstated_person(org.name, org.person_name_reason)
    )
    if problems:
        raise SeedError("\n".join(problems))
    return data


def _build_rows(path: Path, builder: Callable[[Any], Any], problems: list[str], invalid: set[str]) -> Iterator[Any]:
    rows = read_yaml(path)
    if not isinstance(rows, list):
        problems.append(f"{path}: expected a list of records")
        return
    for number, row in enumerate(rows, start=1):
        label = _row_label(row)
        try:
            yield builder(row)
        except ValidationError as e:
            problems.extend(f"{path}: row {number}{label}: {error}" for error in e.errors)
            if isinstance(row, dict) and isinstance(row.get("slug"), str):
                invalid.add(row["slug"])


def _row_label(row: Any) -> str:
    if isinstance(row, dict):
        for key in ("slug", "name", "title"):
            if row.get(key):
                return f" ({row[key]})"
        if row.get("vendor") and row.get("client"):
            return f" ({row['vendor']} -> {row['client']})"
    return ""


def _reference_problems(seed_dir: Path, data: SeedData, invalid: set[str]) -> Iterator[str]:
    """Check that every slug a record names is defined, and defined once.

    Slugs of rows already reported as invalid count as defined."""
    defined: dict[str, set[str]] = {}
    files: list[tuple[str, Sequence[SourceRecord | OrganisationRecord | DisclosureRecord], str]] = [
        ("source", data.sources, "sources.yml"),
        ("organisation", data.organisations, "organisations.yml"),
        ("disclosure", data.disclosures, "disclosures.yml"),
    ]
    for kind, records, file in files:
        seen: set[str] = set()
        for number, record in enumerate(records, start=1):
            if record.slug in seen:
                yield f"{seed_dir / file}: row {number} ({record.slug}): slug is defined twice"
            seen.add(record.slug)
        defined[kind] = seen

    def missing(kind: str, slug: str | None) -> bool:
        return slug is not None and slug not in defined[kind] and slug not in invalid

    for number, org in enumerate(data.organisations, start=1):
        if missing("organisation", org.parent):
            yield f"{seed_dir / 'organisations.yml'}: row {number} ({org.slug}): parent: no organisation '{org.parent}'"
    for number, d in enumerate(data.disclosures, start=1):
        if missing("source", d.primary_source):
            where = f"{seed_dir / 'disclosures.yml'}: row {number} ({d.slug})"
            yield f"{where}: primary_source: no source '{d.primary_source}'"
    path = seed_dir / "relationships.yml"
    identities: dict[tuple[str, str, str | None, str | None], int] = {}
    for number, r in enumerate(data.relationships, start=1):
        where = f"{path}: row {number} ({r.vendor} -> {r.client})"
        first = identities.setdefault((r.vendor, r.client, r.disclosure, r.product), number)
        if first != number:
            yield f"{where}: the same vendor, client, disclosure and product as row {first}"
        for field, kind, slug in (
            ("vendor", "organisation", r.vendor),
            ("client", "organisation", r.client),
            ("disclosure", "disclosure", r.disclosure),
        ):
            if missing(kind, slug):
                yield f"{where}: {field}: no {kind} '{slug}'"
        for i, c in enumerate(r.citations):
            if missing("source", c.source):
                yield f"{where}: citations[{i}].source: no source '{c.source}'"
        for i, resp in enumerate(r.responses):
            if missing("organisation", resp.organisation):
                yield f"{where}: responses[{i}].organisation: no organisation '{resp.organisation}'"
            if missing("source", resp.source):
                yield f"{where}: responses[{i}].source: no source '{resp.source}'"


def load_seed(db: sqlite_utils.Database, seed_dir: Path) -> SeedData:
    """Validate the seed files, then store them as approved rows in one transaction."""
    data = read_seed(seed_dir, vocabulary_store.load_vocabulary(db))
    with transaction(db):
        for source in data.sources:
            record_store.save_source(db, source, "approved")
        for organisation in _parents_first(data.organisations):
            record_store.save_organisation(db, organisation, "approved")
        for disclosure in data.disclosures:
            record_store.save_disclosure(db, disclosure, "approved")
        for relationship in data.relationships:
            # Once a reviewer merged one of its organisations, the merge decides its rows.
            if not {relationship.vendor, relationship.client} & record_store.merged_slugs(db):
                record_store.save_relationship(db, relationship, "approved")
    return data


def _parents_first(organisations: list[OrganisationRecord]) -> list[OrganisationRecord]:
    by_slug = {o.slug: o for o in organisations}
    ordered: dict[str, OrganisationRecord] = {}

    def visit(org: OrganisationRecord, depth: int = 0) -> None:
        if org.parent in by_slug and org.parent not in ordered and depth < len(by_slug):
            visit(by_slug[org.parent], depth + 1)
        ordered.setdefault(org.slug, org)

    for org in organisations:
        visit(org)
    return list(ordered.values())
