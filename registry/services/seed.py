"""Load the starting data in seed/ into intake.db: all of it, or nothing.

Besides one file per record kind, a disclosure may carry `responses:` (replies to the
whole disclosure, such as Clearview AI's lawyer on the theft of its client list) and an
organisation `observations:` (figures about it, such as Amazon's lobbying spend);
breaches.yml, which may be absent or empty, holds breaches as `build_breach` reads them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any

import sqlite_utils
import yaml

from registry.rules.fields import FieldError, ValidationError, Vocabulary
from registry.rules.persons import person_name_warning, unstated_person
from registry.rules.records import (
    BreachRecord,
    DisclosureRecord,
    ObservationRecord,
    OrganisationRecord,
    RelationshipRecord,
    ResponseRecord,
    SourceRecord,
    build_breach,
    build_disclosure,
    build_observation,
    build_organisation,
    build_relationship,
    build_response,
    build_source,
)
from registry.store import breaches as breach_store
from registry.store import records as record_store
from registry.store import vocabulary as vocabulary_store
from registry.store.writers import transaction

SEED_FILES = ("sources.yml", "organisations.yml", "disclosures.yml", "relationships.yml", "breaches.yml")
OPTIONAL_FILES = ("breaches.yml",)  # absent or empty: no breaches


class SeedError(Exception):
    """The seed files are unreadable or invalid; the message lists every problem."""


@dataclass(frozen=True)
class SeedData:
    sources: list[SourceRecord]
    organisations: list[OrganisationRecord]
    disclosures: list[DisclosureRecord]
    relationships: list[RelationshipRecord]
    breaches: list[BreachRecord] = dataclass_field(default_factory=list)
    # slug -> what hangs on it: a disclosure's responses, an organisation's figures
    disclosure_responses: dict[str, tuple[ResponseRecord, ...]] = dataclass_field(default_factory=dict)
    organisation_observations: dict[str, tuple[ObservationRecord, ...]] = dataclass_field(default_factory=dict)


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
    responses: dict[str, tuple[ResponseRecord, ...]] = {}
    observations: dict[str, tuple[ObservationRecord, ...]] = {}
    builders: dict[str, Callable[[Any], Any]] = {
        "sources.yml": build_source,
        "organisations.yml": _with_items(
            lambda row: build_organisation(row, vocabulary), "observations", build_observation, observations
        ),
        "disclosures.yml": _with_items(
            lambda row: build_disclosure(row, vocabulary),
            "responses",
            lambda row: build_response(row, vocabulary),
            responses,
        ),
        "relationships.yml": lambda row: build_relationship(row, vocabulary),
        "breaches.yml": lambda row: build_breach(row, vocabulary),
    }
    loaded: dict[str, list[Any]] = {}
    invalid: set[str] = set()  # slugs of invalid rows: reported once, not again as missing
    for name in SEED_FILES:
        path = seed_dir / name
        if name in OPTIONAL_FILES and (not path.exists() or read_yaml(path) is None):
            loaded[name] = []
            continue
        loaded[name] = list(_build_rows(path, builders[name], problems, invalid))
    data = SeedData(
        loaded["sources.yml"],
        loaded["organisations.yml"],
        loaded["disclosures.yml"],
        loaded["relationships.yml"],
        loaded["breaches.yml"],
        responses,
        observations,
    )
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


def _with_items(
    build: Callable[[Any], Any], key: str, build_item: Callable[[Any], Any], found: dict[str, tuple[Any, ...]]
) -> Callable[[Any], Any]:
    """A builder for rows that carry a list of other records under `key`: the row's and
    the items' problems are reported together; the items are kept in `found` by slug."""

    def builder(row: Any) -> Any:
        errors: list[FieldError] = []
        record = None
        try:
            record = build(row)
        except ValidationError as e:
            errors += e.errors
        raw = row.get(key) if isinstance(row, Mapping) else None
        if raw is not None and not isinstance(raw, list):
            errors.append(FieldError(key, "must be a list"))
            raw = []
        items = []
        for i, item in enumerate(raw or []):
            try:
                items.append(build_item(item))
            except ValidationError as e:
                errors += [FieldError(f"{key}[{i}].{error.field}", error.message) for error in e.errors]
        if errors or record is None:
            raise ValidationError(errors)
        found[record.slug] = tuple(items)
        return record

    return builder


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
        yield from _attached_problems(where, r.responses, r.observations, missing)
    for slug, responses in data.disclosure_responses.items():
        yield from _attached_problems(f"{seed_dir / 'disclosures.yml'} ({slug})", responses, (), missing)
    for slug, observations in data.organisation_observations.items():
        yield from _attached_problems(f"{seed_dir / 'organisations.yml'} ({slug})", (), observations, missing)
    yield from _breach_problems(seed_dir / "breaches.yml", data.breaches, missing)


def _attached_problems(
    where: str,
    responses: Sequence[ResponseRecord],
    observations: Sequence[ObservationRecord],
    missing: Callable[[str, str | None], bool],
) -> Iterator[str]:
    """Unknown organisations and sources named by responses and figures."""
    for i, resp in enumerate(responses):
        if missing("organisation", resp.organisation):
            yield f"{where}: responses[{i}].organisation: no organisation '{resp.organisation}'"
        if missing("source", resp.source):
            yield f"{where}: responses[{i}].source: no source '{resp.source}'"
    for i, o in enumerate(observations):
        if missing("source", o.source):
            yield f"{where}: observations[{i}].source: no source '{o.source}'"


def _breach_problems(
    path: Path, breaches: Sequence[BreachRecord], missing: Callable[[str, str | None], bool]
) -> Iterator[str]:
    """A breach's slug defined twice, or a reference to an undefined row."""
    seen: set[str] = set()
    for number, b in enumerate(breaches, start=1):
        where = f"{path}: row {number} ({b.slug})"
        if b.slug in seen:
            yield f"{where}: slug is defined twice"
        seen.add(b.slug)
        for field_name, slug in (("organisation", b.organisation), ("vendor", b.vendor)):
            if missing("organisation", slug):
                yield f"{where}: {field_name}: no organisation '{slug}'"
        for i, d in enumerate(b.disclosures):
            if missing("disclosure", d):
                yield f"{where}: disclosures[{i}]: no disclosure '{d}'"
        for i, c in enumerate(b.citations):
            if missing("source", c.source):
                yield f"{where}: citations[{i}].source: no source '{c.source}'"
        yield from _attached_problems(where, b.responses, b.observations, missing)


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
        _save_attached(db, data)
        for breach in data.breaches:
            if not {breach.organisation, breach.vendor} & record_store.merged_slugs(db):
                breach_store.save_breach(db, breach, "approved")
    return data


def _save_attached(db: sqlite_utils.Database, data: SeedData) -> None:
    """The responses to whole disclosures and the figures about organisations."""
    for slug, responses in data.disclosure_responses.items():
        disclosure_id = record_store.id_for(db, "disclosures", slug)
        for response in responses:
            record_store.save_response(db, disclosure_id, response, "approved", subject="disclosure_id")
    for slug, observations in data.organisation_observations.items():
        organisation_id = record_store.id_for(db, "organisations", slug)
        for observation in observations:
            record_store.save_observation(db, "organisation_id", organisation_id, observation, "approved")


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
