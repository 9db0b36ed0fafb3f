"""The registry's records, and the rules each must follow.

A record is a plain, validated value handed from forms, files and the command line to
the store. Each builder takes a plain mapping (a form's data, a seed or import row),
collects every problem it finds and raises one ValidationError naming each field, so a
contributor sees all that is wrong at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from registry.rules.countries import nearest_subdivisions, subdivision_code
from registry.rules.fields import SLUG as SLUG_PATTERN
from registry.rules.fields import (
    FieldError,
    Fields,
    ValidationError,
    Vocabulary,
    allowed_text,
    check_date_order,
    slugify,
)
from registry.rules.government import GOVERNED_KINDS, derive_level
from registry.rules.limits import COUNTRY, longest, span


@dataclass(frozen=True)
class AliasRecord:
    alias: str
    language: str | None = None


@dataclass(frozen=True)
class OrganisationRecord:
    slug: str
    name: str
    kind: str
    sector: str
    country: str | None = None
    subdivision: str | None = None
    city: str | None = None
    parent: str | None = None
    description: str | None = None
    aliases: tuple[AliasRecord, ...] = ()
    identifiers: tuple[tuple[str, str], ...] = ()
    government_level: str | None = None
    # why a name that looks like a private person's is this organisation's (registry.rules.persons)
    person_name_reason: str | None = None


@dataclass(frozen=True)
class SourceRecord:
    slug: str
    title: str
    language: str
    url: str | None = None
    archive_url: str | None = None
    publisher: str | None = None
    published_date: str | None = None
    content_hash: str | None = None
    notes: str | None = None


@dataclass(frozen=True)
class DisclosureRecord:
    slug: str
    title: str
    kind: str
    disclosed_date: str
    disclosed_by: str
    description: str
    completeness_note: str
    period_start: str | None = None
    period_end: str | None = None
    reported_count: int | None = None
    primary_source: str | None = None


@dataclass(frozen=True)
class CitationRecord:
    source: str
    locator: str
    quote: str | None = None


@dataclass(frozen=True)
class ResponseRecord:
    organisation: str
    kind: str
    summary: str
    source: str
    response_date: str | None = None
    quote: str | None = None
    locator: str | None = None
    author: str | None = None  # who spoke for the organisation: a person may be named here


@dataclass(frozen=True)
class ObservationRecord:
    metric: str
    low: float
    high: float
    unit: str
    source: str
    period_start: str | None = None
    period_end: str | None = None
    locator: str | None = None


@dataclass(frozen=True)
class RelationshipRecord:
    vendor: str
    client: str
    arrangement: str
    summary: str
    citations: tuple[CitationRecord, ...]
    product: str | None = None
    trial_days: int | None = None
    start_date: str | None = None
    end_date: str | None = None
    disclosure: str | None = None
    notes: str | None = None
    responses: tuple[ResponseRecord, ...] = field(default=())
    observations: tuple[ObservationRecord, ...] = field(default=())


AFFECTED_UNITS = frozenset({"people", "records", "accounts"})


@dataclass(frozen=True)
class BreachRecord:
    """One breach of one organisation's data (schema.sql, `breaches`)."""

    slug: str
    organisation: str  # slug of the organisation whose data was exposed
    title: str
    description: str
    citations: tuple[CitationRecord, ...]
    vendor: str | None = None  # slug of the vendor (business associate) whose breach exposed it
    start_date: str | None = None
    end_date: str | None = None
    discovered_date: str | None = None
    notified_date: str | None = None
    affected_low: int | None = None
    affected_high: int | None = None
    affected_unit: str | None = None
    breach_types: tuple[str, ...] = ()
    data_kinds: tuple[str, ...] = ()
    media: tuple[str, ...] = ()
    verified: bool = False
    disputed: bool = False
    sensitive: bool = False
    disclosures: tuple[str, ...] = ()  # slugs of the disclosures that made it known
    notes: str | None = None
    responses: tuple[ResponseRecord, ...] = field(default=())
    observations: tuple[ObservationRecord, ...] = field(default=())


# The relationship's free-text fields, (required, longest): checked on their own by the
# importer, whose other fields repeat from row to row and are checked once per value.
FREE_TEXT = {
    "summary": (True, longest("relationships", "summary")),
    "notes": (False, longest("relationships", "notes")),
    "locator": (True, longest("citations", "locator")),
}
IDENTIFIER_SCHEMES = frozenset({"wikidata", "atlas-of-surveillance", "flock-transparency", "other"})


def check_identifier(data: Any, prefix: str = "") -> tuple[tuple[str, str] | None, list[FieldError]]:
    """An identifier (a known scheme, a value of at most 200 characters): (scheme, value) or errors."""
    g = Fields(data if isinstance(data, Mapping) else {}, prefix)
    scheme = g.choice("scheme", IDENTIFIER_SCHEMES, required=True)
    value = g.text("value", required=True, max_length=longest("organisation_identifiers", "value"))
    return ((scheme, value) if scheme and value and not g.errors else None), g.errors


def build_organisation(data: Mapping[str, Any], vocabulary: Vocabulary) -> OrganisationRecord:
    """Validate an organisation."""
    f = Fields(data)
    name = f.text("name", required=True, max_length=longest("organisations", "name"))
    slug = f.slug("slug", required=False) or (slugify(name) if name else None)
    aliases = []
    for i, alias in enumerate(f.items("aliases")):
        a = Fields(alias if isinstance(alias, Mapping) else {"alias": alias}, f"aliases[{i}].")
        text = a.text("alias", required=True, max_length=longest("organisation_aliases", "alias"))
        language = a.text("language", max_length=longest("organisation_aliases", "language"))
        f.errors.extend(a.errors)
        if text:
            aliases.append(AliasRecord(text, language))
    identifiers = []
    for i, ident in enumerate(f.items("identifiers")):
        if isinstance(ident, list | tuple) and len(ident) == 2:  # (scheme, value), as records hold them
            ident = {"scheme": ident[0], "value": ident[1]}
        checked, errors = check_identifier(ident, f"identifiers[{i}].")
        f.errors.extend(errors)
        if checked:
            identifiers.append(checked)
    record: dict[str, Any] = dict(
        slug=slug,
        name=name,
        kind=f.choice("kind", vocabulary.organisation_kinds, required=True),
        sector=f.choice("sector", vocabulary.sectors, required=True),
        country=(country := f.country("country", vocabulary)),
        subdivision=_subdivision(f, vocabulary, country),
        city=f.text("city", max_length=longest("organisations", "city")),
        parent=f.slug("parent", required=False),
        description=f.text("description", max_length=longest("organisations", "description")),
        aliases=tuple(aliases),
        identifiers=tuple(identifiers),
        government_level=_government_level(f, name, vocabulary),
        person_name_reason=f.text("person_name_reason", max_length=longest("organisations", "person_name_reason")),
    )
    if record["subdivision"] and record["country"] and not record["subdivision"].startswith(record["country"] + "-"):
        f.error("subdivision", f"{record['subdivision']} is not in country {record['country']}")
    _raise_if(f)
    return OrganisationRecord(**record)


def _subdivision(f: Fields, vocabulary: Vocabulary, country: str | None) -> str | None:
    """An ISO 3166-2 code, or the code of a name of a subdivision of the country ("Texas",
    "Bavière"); an unknown one is answered with the nearest of that country's, not all 5,000."""
    value = f.text("subdivision", max_length=COUNTRY)
    if value is None or value in vocabulary.subdivisions:
        return value
    code = subdivision_code(value, country)
    if code is not None and code in vocabulary.subdivisions:
        return code
    where = f"of {country}" if country else "(give the row's country to find one by name)"
    nearest = "; nearest: " + ", ".join(nearest_subdivisions(value, country)) if value.strip() else ""
    f.error("subdivision", f"'{value}' is not a known subdivision {where}: an ISO 3166-2 code or its English or"
                           f" French name{nearest}")  # fmt: skip
    return None


def _government_level(f: Fields, name: str | None, vocabulary: Vocabulary) -> str | None:
    """The level given, or the one the name shows (registry.rules.government); none for a company."""
    level = f.choice("government_level", vocabulary.government_levels)
    kind = f.data.get("kind")
    if level and kind and kind not in GOVERNED_KINDS:
        f.error("government_level", "only a public agency or an international body has a level of government")
    elif level is None and name and isinstance(kind, str):
        level = derive_level(name, kind)
    return level


def build_source(data: Mapping[str, Any]) -> SourceRecord:
    """Validate a source document."""
    f = Fields(data)
    title = f.text("title", required=True, max_length=longest("sources", "title"))
    language = f.text("language", required=True, max_length=longest("sources", "language"))
    if language and not (language.isalpha() and language.islower() and 2 <= len(language) <= 3):
        f.error("language", f"'{language}' is not an ISO 639 language code such as 'en' or 'fr'")
    content_hash = f.text("content_hash", max_length=longest("sources", "content_hash"))
    if content_hash and not (content_hash.startswith("sha256:") and len(content_hash) == 71):
        f.error("content_hash", "must be 'sha256:' followed by 64 hexadecimal digits")
    record = SourceRecord(
        slug=f.slug("slug", required=False) or (slugify(title) if title else ""),
        title=title or "",
        language=language or "",
        url=f.url("url"),
        archive_url=f.url("archive_url"),
        publisher=f.text("publisher", max_length=longest("sources", "publisher")),
        published_date=f.date("published_date"),
        content_hash=content_hash,
        notes=f.text("notes", max_length=longest("sources", "notes")),
    )
    _raise_if(f)
    return record


def build_disclosure(data: Mapping[str, Any], vocabulary: Vocabulary) -> DisclosureRecord:
    """Validate a disclosure: the event that revealed relationships."""
    f = Fields(data)
    title = f.text("title", required=True, max_length=longest("disclosures", "title"))
    period_start, period_end = f.date("period_start"), f.date("period_end")
    check_date_order(f, period_start, period_end, "period_start", "period_end")
    record: dict[str, Any] = dict(
        slug=f.slug("slug", required=False) or (slugify(title) if title else ""),
        title=title,
        kind=f.choice("kind", vocabulary.disclosure_kinds, required=True),
        disclosed_date=f.date("disclosed_date", required=True),
        disclosed_by=f.text("disclosed_by", required=True, max_length=longest("disclosures", "disclosed_by")),
        description=f.text("description", required=True, max_length=longest("disclosures", "description")),
        completeness_note=f.text(
            "completeness_note", required=True, max_length=longest("disclosures", "completeness_note")
        ),
        period_start=period_start,
        period_end=period_end,
        reported_count=f.integer("reported_count", span("disclosures", "reported_count")),
        primary_source=f.slug("primary_source", required=False),
    )
    _raise_if(f)
    return DisclosureRecord(**record)


def build_relationship(data: Mapping[str, Any], vocabulary: Vocabulary) -> RelationshipRecord:
    """Validate a vendor-client relationship with its citations, responses and figures."""
    f = Fields(data)
    arrangement = f.choice("arrangement", vocabulary.arrangements, required=True)
    trial_days = f.integer("trial_days", span("relationships", "trial_days"))
    if trial_days is not None and arrangement not in (None, "trial"):
        f.error("trial_days", f"a trial length only applies to a trial, not to '{arrangement}'")
    start, end = f.date("start_date"), f.date("end_date")
    check_date_order(f, start, end, "start_date", "end_date")
    vendor, client = f.slug("vendor"), f.slug("client")
    if vendor and vendor == client:
        f.error("client", "a vendor cannot be its own client")
    citations = [_citation(c, i, f) for i, c in enumerate(f.items("citations"))]
    if not f.data.get("citations"):
        f.error("citations", "at least one citation (a source and where in it) is required")
    responses = [_response(r, i, f, vocabulary) for i, r in enumerate(f.items("responses"))]
    observations = [_observation(o, i, f) for i, o in enumerate(f.items("observations"))]
    record: dict[str, Any] = dict(
        vendor=vendor,
        client=client,
        arrangement=arrangement,
        summary=f.text("summary", required=True, max_length=FREE_TEXT["summary"][1]),
        product=f.text("product", max_length=longest("relationships", "product")),
        trial_days=trial_days,
        start_date=start,
        end_date=end,
        disclosure=f.slug("disclosure", required=False),
        notes=f.text("notes", max_length=FREE_TEXT["notes"][1]),
        citations=tuple(c for c in citations if c),
        responses=tuple(r for r in responses if r),
        observations=tuple(o for o in observations if o),
    )
    _raise_if(f)
    return RelationshipRecord(**record)


def build_breach(data: Mapping[str, Any], vocabulary: Vocabulary) -> BreachRecord:
    """Validate a breach with its citations, responses and figures: every problem at once."""
    f = Fields(data)
    title = f.text("title", required=True, max_length=longest("breaches", "title"))
    organisation, vendor = f.slug("organisation"), f.slug("vendor", required=False)
    if vendor and vendor == organisation:
        f.error("vendor", "the vendor whose breach exposed the data cannot be the organisation itself")
    start, end = f.date("start_date"), f.date("end_date")
    discovered, notified = f.date("discovered_date"), f.date("notified_date")
    check_date_order(f, start, end, "start_date", "end_date")
    check_date_order(f, start, discovered, "start_date", "discovered_date")
    check_date_order(f, discovered, notified, "discovered_date", "notified_date")
    if not discovered:
        check_date_order(f, start, notified, "start_date", "notified_date")
    low = f.integer("affected_low", span("breaches", "affected_low"))
    high = f.integer("affected_high", span("breaches", "affected_high"))
    high = low if high is None else high
    if low is None and high is not None:
        f.error("affected_low", "give the lowest number affected (the same as the highest if exact)")
    if low is not None and high is not None and high < low:
        f.error("affected_high", f"{high:,} is below the lowest number affected, {low:,}")
    unit = f.choice("affected_unit", AFFECTED_UNITS, required=low is not None)
    citations = [_citation(c, i, f) for i, c in enumerate(f.items("citations"))]
    if not f.data.get("citations"):
        f.error("citations", "at least one citation (a source and where in it) is required")
    responses = [_response(r, i, f, vocabulary) for i, r in enumerate(f.items("responses"))]
    observations = [_observation(o, i, f) for i, o in enumerate(f.items("observations"))]
    record: dict[str, Any] = dict(
        slug=f.slug("slug", required=False) or (slugify(title) if title else ""),
        organisation=organisation,
        title=title,
        description=f.text("description", required=True, max_length=longest("breaches", "description")),
        citations=tuple(c for c in citations if c),
        vendor=vendor,
        start_date=start,
        end_date=end,
        discovered_date=discovered,
        notified_date=notified,
        affected_low=low,
        affected_high=high if low is not None else None,
        affected_unit=unit if low is not None else None,
        breach_types=_codes(f, "breach_types", vocabulary.breach_types),
        data_kinds=_codes(f, "data_kinds", vocabulary.data_kinds),
        media=_codes(f, "media", vocabulary.breach_media),
        verified=_flag(f, "verified"),
        disputed=_flag(f, "disputed"),
        sensitive=_flag(f, "sensitive"),
        disclosures=tuple(d for i, d in enumerate(f.items("disclosures")) if _slug_item(f, "disclosures", i, d)),
        notes=f.text("notes", max_length=longest("breaches", "notes")),
        responses=tuple(r for r in responses if r),
        observations=tuple(o for o in observations if o),
    )
    _raise_if(f)
    return BreachRecord(**record)


def _codes(f: Fields, name: str, allowed: frozenset[str]) -> tuple[str, ...]:
    """Several codes of one vocabulary, as a list or a comma-separated text; in order, once each."""
    value = f.data.get(name)
    if value is None or value == "":
        return ()
    items = [v.strip() for v in value.split(",")] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(v, str) for v in items):
        f.error(name, "must be a list of codes")
        return ()
    unknown = [v for v in items if v and v not in allowed]
    if unknown:
        f.error(name, f"'{unknown[0]}' is not {allowed_text(unknown[0], allowed)}")
        return ()
    return tuple(dict.fromkeys(v for v in items if v))


def _flag(f: Fields, name: str) -> bool:
    """A yes/no field: true, false, yes, no, 1, 0, y, n (any case), empty for no."""
    value = f.data.get(name)
    if value is None or value == "" or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().casefold()
    if text in ("1", "true", "yes", "y", "on"):
        return True
    if text in ("0", "false", "no", "n", "off"):
        return False
    f.error(name, f"'{value}' is not yes or no")
    return False


def _slug_item(f: Fields, name: str, i: int, value: Any) -> bool:
    if isinstance(value, str) and SLUG_PATTERN.match(value):
        return True
    f.error(f"{name}[{i}]", f"'{value}' must be lower-case letters, digits and single hyphens")
    return False


def free_text_errors(data: Mapping[str, Any]) -> list[FieldError]:
    """Check a relationship's summary, notes and citation locator by the rules above."""
    f = Fields(data)
    for name, (required, most) in FREE_TEXT.items():
        f.text(name, required=required, max_length=most)
    return f.errors


def _citation(data: Any, i: int, parent: Fields) -> CitationRecord | None:
    f = Fields(data, f"citations[{i}].") if isinstance(data, Mapping) else None
    if f is None:
        parent.error(f"citations[{i}]", "must be a mapping with source and locator")
        return None
    source, locator = f.slug("source"), f.text("locator", required=True, max_length=FREE_TEXT["locator"][1])
    quote = f.text("quote", max_length=longest("citations", "quote"))
    parent.errors.extend(f.errors)
    return CitationRecord(source, locator, quote) if source and locator else None


def build_response(data: Mapping[str, Any], vocabulary: Vocabulary) -> ResponseRecord:
    """Validate a response (right of reply) on its own."""
    parent = Fields(data)
    record = _response(data, 0, parent, vocabulary, prefix="")
    _raise_if(parent)
    assert record is not None
    return record


def _response(
    data: Any, i: int, parent: Fields, vocabulary: Vocabulary, prefix: str | None = None
) -> ResponseRecord | None:
    f = Fields(data if isinstance(data, Mapping) else {}, f"responses[{i}]." if prefix is None else prefix)
    values: dict[str, Any] = dict(
        organisation=f.slug("organisation"),
        kind=f.choice("kind", vocabulary.response_kinds, required=True),
        summary=f.text("summary", required=True, max_length=longest("responses", "summary")),
        source=f.slug("source"),
        response_date=f.date("response_date"),
        quote=f.text("quote", max_length=longest("responses", "quote")),
        locator=f.text("locator", max_length=longest("responses", "locator")),
        author=f.text("author", max_length=longest("responses", "author")),
    )
    parent.errors.extend(f.errors)
    return None if f.errors else ResponseRecord(**values)


def build_observation(data: Mapping[str, Any]) -> ObservationRecord:
    """Validate a figure on its own (the importer checks each row's figures with this)."""
    parent = Fields(data)
    record = _observation(data, 0, parent, prefix="")
    _raise_if(parent)
    assert record is not None
    return record


def _observation(data: Any, i: int, parent: Fields, prefix: str | None = None) -> ObservationRecord | None:
    f = Fields(data if isinstance(data, Mapping) else {}, f"observations[{i}]." if prefix is None else prefix)
    low, high = f.number("low", required=True), f.number("high")
    high = low if high is None else high
    if low is not None and high is not None and high < low:
        f.error("high", f"{high} is below low {low}")
    start, end = f.date("period_start"), f.date("period_end")
    check_date_order(f, start, end, "period_start", "period_end")
    values: dict[str, Any] = dict(
        metric=f.text("metric", required=True, max_length=longest("observations", "metric")),
        low=low,
        high=high,
        unit=f.text("unit", required=True, max_length=longest("observations", "unit")),
        source=f.slug("source"),
        period_start=start,
        period_end=end,
        locator=f.text("locator", max_length=longest("observations", "locator")),
    )
    parent.errors.extend(f.errors)
    return None if f.errors else ObservationRecord(**values)


def _raise_if(fields: Fields) -> None:
    if fields.errors:
        raise ValidationError(fields.errors)
