"""The registry's records: plain, validated values handed from forms, files and the
command line to the store."""

from __future__ import annotations

from dataclasses import dataclass, field


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
