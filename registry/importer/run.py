"""Run an import: map each row, check it with the shared rules, match its organisations,
and store everything in one transaction (or nothing)."""

from __future__ import annotations

import csv
import functools
import operator
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, TextIO

import sqlite_utils

from registry.importer.breaches import BreachRows
from registry.importer.mapping import Cells, Getter, Plan
from registry.importer.ranges import number_range
from registry.importer.readers import ReadError, Table
from registry.importer.stager import Stager
from registry.importer.writer import Writer
from registry.rules.fields import (
    CONTROL_CHARS,
    FieldError,
    Fields,
    ValidationError,
    Vocabulary,
    check_date_order,
    slugify,
)
from registry.rules.government import derive_level
from registry.rules.limits import longest
from registry.rules.names import name_key
from registry.rules.persons import looks_like_person, unstated_person
from registry.rules.records import (
    FREE_TEXT,
    build_disclosure,
    build_observation,
    build_organisation,
    build_relationship,
    build_source,
    check_identifier,
    free_text_errors,
)
from registry.rules.spreadsheet import neutralise
from registry.store import imports as import_store
from registry.store import lookups

PROGRESS_EVERY = 5000
# The shared rule without its cache: each distinct client's key is kept with the client (see
# _Client), and a cache of another 200,000 names would only hold memory.
_uncached_name_key: Callable[[str], str] = getattr(name_key, "__wrapped__", name_key)
# Distinct client fields (and relationship fields, dates, texts, figures) whose checks are kept:
# a million-row list has about 200,000 distinct clients; past this many they are checked again.
CLIENTS_KEPT = 400_000


@dataclass(frozen=True, slots=True)  # slots: a large file may list 100,000 of them
class Problem:
    row: int
    column: str
    value: str
    problem: str

    def __post_init__(self) -> None:
        if len(self.value) > 200:  # a huge cell is named, not repeated whole
            object.__setattr__(self, "value", self.value[:200] + "…")


@dataclass
class ImportReport:
    rows_read: int = 0
    filtered_out: int = 0
    relationships_stored: int = 0
    rows_stored: int = 0
    matched_relationships: int = 0
    matched_organisations: int = 0
    new_organisations: int = 0
    rejected: int = 0
    breaches_stored: int = 0
    matched_breaches: int = 0  # rows imported before (the same row of the same source): nothing added
    errors: list[Problem] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)
    # New organisations whose name looks like a private person's with no person_name_reason
    # (registry.rules.persons; clients of relationship rows, and see NameCheck): a dry run lists them.
    flagged: list[Problem] = field(default_factory=list)
    # The organisations behind `flagged`: kept with the submission, so that the review page reads
    # those rows instead of judging every name the import made again on each view.
    flagged_ids: set[int] = field(default_factory=set)
    breach_rows: bool = False  # the mapping makes one breach per row
    changed: dict[str, int] = field(default_factory=dict)  # a field -> values cut by `truncate` (Plan.changed)

    def summary(self) -> str:
        return self._summary() + "".join(
            f", {n:,} {f} value(s) cut by truncate" for f, n in sorted(self.changed.items())
        )

    def _summary(self) -> str:
        if self.breach_rows:
            return (
                f"{self.rows_read:,} rows read, {self.filtered_out:,} outside the mapping's 'where', "
                f"{self.breaches_stored:,} stored as new breaches, {self.matched_breaches:,} already in the registry "
                f"(the same row of the same source, or one the mapping's match finds), {self.rejected:,} rejected; "
                f"{self.relationships_stored:,} new vendor relationships (and {self.matched_relationships:,} already "
                f"in the registry), {self.matched_organisations:,} matched to existing organisations, "
                f"{self.new_organisations:,} new organisations, {len(self.flagged):,} flagged as person-like names"
            )
        return (
            f"{self.rows_read:,} rows read, {self.filtered_out:,} outside the mapping's 'where', "
            f"{self.rows_stored:,} stored as {self.relationships_stored:,} new relationships "
            f"(and {self.matched_relationships:,} already in the registry), "
            f"{self.matched_organisations:,} matched to existing organisations, "
            f"{self.new_organisations:,} new organisations, {self.rejected:,} rejected, "
            f"{len(self.skipped):,} skipped"
        ) + (f", {len(self.flagged):,} naming an organisation that looks like a private person" if self.flagged else "")

    def to_csv(self, stream: TextIO) -> None:
        """Write every error and skipped row as CSV (row, column, value, problem), with cells
        a spreadsheet would run as formulas neutralised."""
        writer = csv.writer(stream)
        writer.writerow(["row", "column", "value", "problem"])
        for p in sorted(self.errors + self.skipped + self.flagged, key=lambda p: p.row):
            writer.writerow([p.row, neutralise(p.column), neutralise(p.value), neutralise(p.problem)])

    def write_csv(self, path: Path) -> None:
        with path.open("w", encoding="utf-8", newline="") as f:
            self.to_csv(f)


# The person-name check (issue 14) plugs in here: given a new organisation's fields as they will
# be stored, it answers why the name looks like a private person's (or None). The importer calls
# it for every organisation it would create (clients, vendors, breached organisations) and lists
# the answers in ImportReport.flagged, with the row; refusing them on --approve is the caller's.
NameCheck = Callable[[dict[str, Any]], str | None]


class ImportFailed(Exception):
    """The import had errors and stored nothing; `report` lists them."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__(f"{len(report.errors)} error(s): nothing stored")
        self.report = report


class RowSkipped(Exception):
    """The mapping says rows like this one are left out; the report lists them."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.problem)
        self.problem = problem


class RowError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems[0].problem)
        self.problems = problems


def run_import(
    db: sqlite_utils.Database,
    table: Table,
    plan: Plan,
    vocabulary: Vocabulary,
    *,
    status: str,
    submission_id: int | None,
    skip_invalid: bool = False,
    progress: Callable[[int], None] | None = None,
    first_ids: dict[str, int] | None = None,
    stage: Stager | None = None,
    name_check: NameCheck | None = None,
    refuse_persons: bool = False,
) -> ImportReport:
    """Check and match every row, staging what it makes as rows of `submission_id` (nothing
    without `stage`); on ImportFailed the caller throws the staged rows away. A row whose new
    client looks like a private person's name (registry.rules.persons) with no statement is
    listed in `report.flagged`, or refused with `refuse_persons` (an import published at once);
    `name_check` does the same for the other organisations it creates (vendors, breached ones)."""
    report = ImportReport(breach_rows=plan.breach is not None, changed=plan.changed)
    import_store.tune_for_bulk(db)
    job = _Job(db, plan, vocabulary, Writer(db, status, submission_id, first_ids, stage), report, name_check)
    job.refuse_persons = refuse_persons
    try:
        _read_rows(job, table, plan, report, skip_invalid, progress)
    finally:
        job.release()  # what was kept per value is not needed any more (the move comes next)
    if report.errors:
        raise ImportFailed(report)
    return report


def _read_rows(
    job: _Job,
    table: Table,
    plan: Plan,
    report: ImportReport,
    skip_invalid: bool,
    progress: Callable[[int], None] | None,
) -> None:
    seen_ids: dict[str, int] = {}
    for number, cells in table.rows:
        report.rows_read += 1
        if progress and report.rows_read % PROGRESS_EVERY == 0:
            progress(report.rows_read)
        if not plan.where(cells):
            report.filtered_out += 1
            continue
        if plan.identifier:
            ident = str(plan.identifier[0](cells) or "")
            if ident and ident in seen_ids:
                report.skipped.append(
                    Problem(number, "identifier", ident, f"duplicate of row {seen_ids[ident]}: not stored twice")
                )
                continue
            seen_ids.setdefault(ident, number)
        try:
            job.row(number, cells)
        except RowSkipped as e:
            report.skipped.append(e.problem)
        except RowError as e:
            report.rejected += 1
            (report.skipped if skip_invalid else report.errors).extend(e.problems)
            job.writer.discard = not skip_invalid  # the import will store nothing: stop writing
    if progress:
        progress(report.rows_read)
    if report.rows_read == 0:
        raise ReadError("the file has a header but no data rows")
    job.writer.flush()
    report.matched_relationships = len(job.writer.matched_relationships)


class _Job:
    """The state of one import: resolved vendors and sources, matched organisations."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        plan: Plan,
        vocabulary: Vocabulary,
        writer: Writer,
        report: ImportReport,
        name_check: NameCheck | None = None,
    ) -> None:
        self.db, self.plan, self.vocabulary, self.writer, self.report = db, plan, vocabulary, writer, report
        self.name_check = name_check
        self.current_row = 0  # the row being stored, which the name check's answers name (0: the mapping)
        self.keys = import_store.organisation_keys(db)
        self.check_org = functools.lru_cache(maxsize=65536)(self._check_org)
        self.check_source = functools.lru_cache(maxsize=65536)(self._check_source)
        self.check_date = functools.lru_cache(maxsize=65536)(self._check_date)
        self.vendor_cells: dict[str, list[int]] = {}  # a vendor cell -> vendor ids
        # A client's fields but its name -> their check (values, errors): see _check_org_fields.
        self.org_checks: dict[tuple[Any, ...], tuple[dict[str, Any] | None, tuple[FieldError, ...]]] = {}
        self.check_figure = functools.lru_cache(maxsize=65536)(self._check_figure)
        self.check_name = functools.lru_cache(maxsize=65536)(self._check_name)
        self.generation: dict[str, int] = {}  # name key -> organisations made under it (see _client_id)
        # A locator template naming only {row} needs no copy of the row's cells.
        self.locator_cells = not plan.locator_row_only
        self.row_locator = plan.row_locator
        self.disclosure_id = writer.disclosure_id = self._reference(
            "disclosures", plan.disclosure, self._new_disclosure
        )
        self.file_source_id = self._reference("sources", plan.source, self._new_source)
        self.vendor_ids: dict[str, int] = {}
        self.source_ids: dict[str, int] = {}
        self.single_vendor = self._vendor(plan.vendor["new"]["name"] if plan.vendor and "new" in plan.vendor else None)
        # The row's fields as tuples of values, in the mapping's order, and the checks of each
        # distinct tuple (see row).
        self.clients: dict[tuple[Any, ...], _Client] = {}
        self.client_names, self.client_getters = list(plan.client), list(plan.client.values())
        self.name_at = self.client_names.index("name")
        if "country" in plan.client:  # "US", "USA", "États-Unis": one client, not three
            self.client_getters[self.client_names.index("country")] = self._country_code(plan.client["country"])
        kept_apart = ("summary", "notes", "start_date", "end_date")
        rel = {k: g for k, g in plan.relationship.items() if k not in kept_apart}
        self.rel_names, self.rel_getters = list(rel), list(rel.values())
        self.start_getter, self.end_getter, self.summary_getter, self.notes_getter = (
            plan.relationship.get(k, _nothing) for k in ("start_date", "end_date", "summary", "notes")
        )
        self.texts_per_row = "summary" in plan.relationship or "notes" in plan.relationship
        self.rel_checks: dict[tuple[Any, ...], tuple[tuple[Any, ...], tuple[FieldError, ...]]] = {}
        self.date_checks: dict[tuple[Any, Any], tuple[tuple[Any, Any], tuple[FieldError, ...]]] = {}
        self.text_checks: dict[tuple[Any, Any], tuple[FieldError, ...]] = {}
        self.locator_checks: dict[int, tuple[FieldError, ...]] = {}
        # a figure's (low, high) cells -> ((low, high) as numbers, errors)
        self.numbers: dict[Any, tuple[tuple[float | None, float | None], tuple[FieldError, ...]]] = {}
        self.breaches = BreachRows(self, plan.breach) if plan.breach is not None else None
        self.refuse_persons = False

    def release(self) -> None:
        """Drop what was kept per distinct value (the job refers to itself through its caches:
        without this, its memory would wait for the cyclic collector)."""
        for cache in (self.check_org, self.check_source, self.check_date, self.check_figure, self.check_name):
            cache.cache_clear()
        for kept in (self.clients, self.rel_checks, self.date_checks, self.text_checks, self.numbers, self.org_checks,
                     self.locator_checks, self.generation, self.keys, self.vendor_cells):  # fmt: skip
            kept.clear()
        self.writer.release()

    # References named in the mapping -------------------------------------------------

    def _reference(self, table: str, ref: dict[str, Any] | None, create: Callable[[dict[str, Any]], int]) -> int | None:
        if ref is None:
            return None
        where = {"disclosures": "disclosure", "sources": "source", "organisations": "vendor"}[table]
        if "slug" in ref:
            found = lookups.by_slug(self.db, table, ref["slug"])
            if found is None or found["status"] != "approved":
                raise ValidationError(
                    [FieldError(f"mapping {where}.slug", f"no published {table[:-1]} '{ref['slug']}'")]
                )
            return found["id"]
        try:
            return create(ref["new"])
        except ValidationError as e:
            raise ValidationError(
                [FieldError(f"mapping {where}.new.{err.field}", err.message) for err in e.errors]
            ) from e

    def _new_disclosure(self, data: dict[str, Any]) -> int:
        record = build_disclosure(
            {**data, "slug": data.get("slug") or slugify(str(data.get("title", "")))}, self.vocabulary
        )
        if existing := lookups.by_slug(self.db, "disclosures", record.slug):
            return existing["id"]
        return self.writer.disclosure(asdict(record))

    def _new_source(self, data: dict[str, Any]) -> int:
        record = build_source({**data, "slug": data.get("slug") or slugify(str(data.get("title", "")))})
        if existing := lookups.by_slug(self.db, "sources", record.slug):
            return existing["id"]
        return self.writer.source(asdict(record))

    def _vendor(self, name: str | None) -> int | None:
        """The id of a vendor by name (matched, or created from the mapping's defaults)."""
        if self.plan.vendor and "slug" in self.plan.vendor:
            return self._reference("organisations", self.plan.vendor, lambda d: 0)
        if name is None:
            return None
        if name in self.vendor_ids:
            return self.vendor_ids[name]
        defaults = (self.plan.vendor or {}).get("new") or (self.plan.vendors or {}).get("new") or {}
        vendor_fields = {"kind": "company", "sector": "technology", **defaults, "name": name}
        org_id = self._organisation(vendor_fields)
        self.vendor_ids[name] = org_id
        return org_id

    # Rows ----------------------------------------------------------------------------

    def row(self, number: int, cells: dict[str, str]) -> None:
        """Check, match and stage one row. What repeats from row to row (a client's fields, the
        relationship's fields, dates, figures) is checked once per distinct value, by the shared
        rules, and the answer kept: the work per row is a few dictionary lookups."""
        if self.breaches is not None:
            self.breaches.row(number, cells)
            return
        self.current_row = number
        vendors = self._row_vendors(number, cells)
        client = self.clients.get(key := tuple([g(cells) for g in self.client_getters]))
        if client is None:
            client = self._client(key)
        rel_key = tuple([g(cells) for g in self.rel_getters])
        rel = self.rel_checks.get(rel_key)
        if rel is None:
            rel = self._rel_check(rel_key)
        dates = self.date_checks.get(date_key := (self.start_getter(cells), self.end_getter(cells)))
        if dates is None:
            dates = self._date_check(date_key)
        if self.texts_per_row:
            summary, notes = self.summary_getter(cells), self.notes_getter(cells)
            if summary is None:
                summary = _default_summary(client.values[self.name_at])
            texts = self.text_checks.get(text_key := (summary, notes))
            if texts is None:
                texts = self._text_check(text_key)
        else:
            summary, notes, texts = _default_summary(client.values[self.name_at]), None, client.summary_errors
        if self.row_locator is not None:
            locator = self.row_locator(number)
        else:
            locator = str(
                self.plan.locator({**cells, "row": str(number)} if self.locator_cells else {"row": str(number)})
            )
        locator_errors = self.locator_checks.get(len(locator)) if not self.locator_cells else None
        if locator_errors is None:
            locator_errors = self._locator_errors(locator)
        sources = [self._row_source(number, spec, cells) for spec in self.plan.sources] if self.plan.sources else ()
        figures = [self._row_figure(spec, cells) for spec in self.plan.observations]
        if client.problems or texts or locator_errors or rel[1] or dates[1] or any(map(_errors_of, figures)):
            raise RowError(self._problems(number, client, (summary, notes, locator), rel, dates, figures, cells))
        if client.person and self.refuse_persons and not self._known_before(client):
            raise RowError([Problem(number, "client.name", client.name, PERSON_FLAG)])
        found = client.match  # the matching of an earlier row, if it still holds (see _client_id)
        if found is not None and found[2] == self.generation.get(client.key, 0):
            self.report.matched_organisations += found[1]
            client_id = found[0]
        else:
            client_id = self._client_id(client)
        if client.person and self.writer.made_here(client_id):  # one already in the registry was reviewed
            self.report.flagged.append(Problem(number, "client.name", client.name, PERSON_FLAG))
            self.report.flagged_ids.add(client_id)
        if self.plan.identifier:
            self._identifier(number, cells, client_id)
        self.report.rows_stored += 1
        product, arrangement_code, trial_days = rel[0]
        stage = (arrangement_code, trial_days, *dates[0])  # import_store.STAGE_FIELDS
        summary, notes = str(summary).strip(), (notes or "").strip() or None
        writer, file_source = self.writer, self.file_source_id
        for vendor_id in vendors:
            rel_id = self._relationship(number, client, vendor_id, client_id, product, stage, summary, notes)
            if rel_id is None:
                continue
            writer.citation(rel_id, file_source, locator, None)
            for source in sources:
                if source is not None:
                    writer.citation(rel_id, self._source_id(source[0]), source[1], None)
            for figure in figures:
                if figure[0] is not None:
                    writer.figure(rel_id, figure[0], number, file_source)

    def locator_of(self, number: int, cells: dict[str, str]) -> str:
        """Where row `number` is in the file, as the mapping's locator says."""
        if self.row_locator is not None:
            return self.row_locator(number)
        return str(self.plan.locator({**cells, "row": str(number)} if self.locator_cells else {"row": str(number)}))

    def _country_code(self, get: Getter) -> Getter:
        """The country getter, giving the code of a country it knows and the value as it is otherwise."""
        codes: dict[Any, Any] = {}
        vocabulary = self.vocabulary

        def country(cells: Cells) -> Any:
            value = get(cells)
            try:
                return codes[value]
            except KeyError:
                if len(codes) >= 100_000:
                    codes.clear()
                code = codes[value] = (vocabulary.country(value) if isinstance(value, str) and value else None) or value
                return code

        return country

    def _client(self, values: tuple[Any, ...]) -> _Client:
        """The checks of one distinct set of client fields, kept for the rows that repeat it."""
        if len(self.clients) >= CLIENTS_KEPT:
            self.clients.clear()
        fields = dict(zip(self.client_names, values, strict=True))
        name = str(fields.get("name")).strip()
        problems = tuple(self._check_org_fields(fields, values))
        summary_errors: tuple[FieldError, ...] = ()
        if "\n" in str(fields.get("name")) or any(problem[0] == "name" for problem in problems):
            # A one-line name that passes the name rule (text, at most 300 characters, no control
            # characters once its spaces are collapsed) makes a default summary that passes the
            # summary rule, collapsed the same way: only another name needs it checked.
            summary = _default_summary(fields.get("name"))
            summary_errors = tuple(free_text_errors({"summary": summary, "notes": None, "locator": "-"}))
        client = self.clients[values] = _Client(
            values,
            problems,
            name,
            _uncached_name_key(name),
            self.vocabulary.country(fields["country"]) if fields.get("country") else None,
            fields.get("subdivision"),
            summary_errors,
        )
        client.person = not problems and unstated_person(name, fields.get("person_name_reason"))
        return client

    def _client_id(self, client: _Client) -> int:
        """The client's organisation: matched by name key and place, or created. The answer holds
        until an organisation of that name key is created (a new one may make it ambiguous)."""
        found = client.match
        if found is not None and (found[2] == self.generation.get(client.key, 0) or self._match_holds(client, found)):
            self.report.matched_organisations += found[1]
            return found[0]
        fields = dict(zip(self.client_names, client.values, strict=True))
        values = client.values  # the check of its fields but the name, kept by _check_org_fields (if still kept)
        checked = self.org_checks.get(values[: self.name_at] + values[self.name_at + 1 :])
        org_id, matched = self._match_or_create(fields, client.key, client.name, client.country,
                                                client.subdivision, "client", checked)  # fmt: skip
        client.match = (org_id, matched and not self.writer.made_here(org_id), self.generation.get(client.key, 0))
        return org_id

    def _known_before(self, client: _Client) -> bool:
        """Whether an organisation of the client's name key was in the registry before this import
        (then a reviewer has seen it already)."""
        return any(not self.writer.made_here(org_id) for org_id, _, _ in self.keys.get(client.key, ()))

    def _match_holds(self, client: _Client, found: tuple[int, bool, int]) -> bool:
        """Whether the client's earlier matching still holds although organisations of its name key
        were made since: it does unless one of them is in a place compatible with the client's
        (the same test as _match_or_create's), as only such a one could change its candidates. A
        name common to many places ("Greenfield Police Department") is not matched again for each."""
        current = self.generation.get(client.key, 0)
        country, subdivision = client.country, client.subdivision
        for _, c, s in self.keys[client.key][found[2] - current :]:  # made since: the last ones (see _match_or_create)
            if (country is None or c is None or c == country) and (
                subdivision is None or s is None or s == subdivision
            ):
                return False
        client.match = (found[0], found[1], current)
        return True

    def _rel_check(self, values: tuple[Any, ...]) -> tuple[tuple[Any, ...], tuple[FieldError, ...]]:
        if len(self.rel_checks) >= CLIENTS_KEPT:
            self.rel_checks.clear()
        items = dict(zip(self.rel_names, values, strict=True))
        items.setdefault("arrangement", "unknown")
        checked, errors = self._check_relationship(tuple(items.items()))
        if checked is None:
            answer: tuple[Any, Any] = ((None, None, None), errors)
        else:
            answer = ((checked["product"], checked["arrangement"], checked["trial_days"]), ())
        self.rel_checks[values] = answer
        return answer

    def _date_check(self, pair: tuple[Any, Any]) -> tuple[tuple[Any, Any], tuple[FieldError, ...]]:
        if len(self.date_checks) >= CLIENTS_KEPT:
            self.date_checks.clear()
        checked, errors = self._check_date_pair(*pair)
        answer = self.date_checks[pair] = ((checked["start_date"], checked["end_date"]), errors)
        return answer

    def _text_check(self, texts: tuple[Any, Any]) -> tuple[FieldError, ...]:
        if len(self.text_checks) >= CLIENTS_KEPT:
            self.text_checks.clear()
        errors = self.text_checks[texts] = self._check_texts(*texts)
        return errors

    def _locator_errors(self, locator: str) -> tuple[FieldError, ...]:
        """The citation locator by the free-text rule: for a locator made of the row number and
        constant text, the answer depends only on its length, so it is kept per length."""
        if self.locator_cells:
            if locator.strip() and len(locator) <= FREE_TEXT["locator"][1] and not CONTROL_CHARS.search(locator):
                return ()  # the rule below would find nothing: no need to build its errors
            return tuple(free_text_errors({"summary": "-", "locator": locator}))
        errors = self.locator_checks.get(len(locator))
        if errors is None:
            errors = self.locator_checks[len(locator)] = tuple(free_text_errors({"summary": "-", "locator": locator}))
        return errors

    def _problems(
        self,
        number: int,
        client: _Client,
        texts: tuple[Any, Any, str],
        rel: tuple[Any, tuple[FieldError, ...]],
        dates: tuple[Any, tuple[FieldError, ...]],
        figures: list[tuple[Any, Any]],
        cells: dict[str, str],
    ) -> list[Problem]:
        """Every problem of a row that cannot be stored, named with its row, field and value."""
        problems = [Problem(number, f"client.{field}", value, message) for field, value, message in client.problems]
        summary, notes, locator = texts
        values = {"summary": summary, "notes": notes, "locator": locator}
        text_errors = self.text_checks.get((summary, notes)) if self.texts_per_row else client.summary_errors
        problems += [Problem(number, f"relationship.{e.field}", str(values.get(e.field) or ""), e.message)
                     for e in (*(text_errors or ()), *self._locator_errors(locator))]  # fmt: skip
        if rel[1] or dates[1]:
            values = {**dict(zip(self.rel_names, [g(cells) for g in self.rel_getters], strict=True)),
                      "start_date": self.start_getter(cells), "end_date": self.end_getter(cells)}  # fmt: skip
            problems += [Problem(number, f"relationship.{e.field}", str(values.get(e.field) or ""), e.message)
                         for e in (*rel[1], *dates[1])]  # fmt: skip
        for spec, (_, errors) in zip(self.plan.observations, figures, strict=True):
            if errors:
                start, end = (spec["period_start"](cells) if "period_start" in spec else None,
                              spec["period_end"](cells) if "period_end" in spec else None)  # fmt: skip
                data = {"low": spec["low"](cells), "high": spec["high"](cells), "period_start": start,
                        "period_end": end}  # fmt: skip
                where = f"observation.{spec['metric']}"
                problems += [Problem(number, f"{where}.{e.field}", str(data.get(e.field) or ""), e.message)
                             for e in errors]  # fmt: skip
        return problems

    def _identifier(self, number: int, cells: dict[str, str], client_id: int) -> None:
        assert self.plan.identifier is not None  # row() calls this only for a mapping with an identifier
        ident = str(self.plan.identifier[0]({**cells, "row": str(number)}) or "")
        if ident:
            pair, errors = check_identifier({"scheme": self.plan.identifier[1], "value": ident})
            if pair:
                self.writer.identifier(client_id, *pair, self.db)
            self.report.skipped += [
                Problem(number, f"identifier.{e.field}", ident, f"{e.message}: the identifier is not stored")
                for e in errors
            ]

    def _row_vendors(self, number: int, cells: dict[str, str]) -> list[int]:
        if self.plan.vendors is None:
            return [self.single_vendor] if self.single_vendor else []
        spec = self.plan.vendors
        raw = spec["get"](cells) or ""
        known = self.vendor_cells.get(raw)
        if known is not None:
            return known
        if len(self.vendor_cells) >= 100_000:
            self.vendor_cells.clear()
        self.vendor_cells[raw] = self._cell_vendors(number, raw, spec)
        return self.vendor_cells[raw]

    def _cell_vendors(self, number: int, raw: str, spec: dict[str, Any]) -> list[int]:
        names = [n.strip() for n in (raw.split(spec["split"]) if spec["split"] else [raw]) if n.strip()]
        if not names:
            problem = Problem(number, "vendor", "", "no vendor named: not a vendor-client relationship")
            if spec["if_empty"] == "skip":
                raise RowSkipped(problem)
            raise RowError([problem])
        try:
            return [self._vendor(spec["map"].get(n.casefold(), n)) or 0 for n in names]
        except ValidationError as e:
            raise RowError(
                [Problem(number, f"vendor.{err.field}", _short(names[0]), err.message) for err in e.errors]
            ) from e

    def _check_org_fields(self, fields: dict[str, Any], values: tuple[Any, ...]) -> list[tuple[str, str, str]]:
        """(field, value, message) of each problem of a client's fields: the name on its own, the
        rest once per combination, keyed on the country's code when it has one ("US", "USA",
        "États-Unis" are one entry)."""
        rest = values[: self.name_at] + values[self.name_at + 1 :]  # `fields` in the mapping's order, but the name
        checked = self.org_checks.get(rest)
        if checked is None:
            if len(self.org_checks) >= 100_000:
                self.org_checks.clear()
            country = fields.get("country")
            keyed = {**fields, "country": self.vocabulary.country(country) or country} if country else fields
            checked = self.org_checks[rest] = self.check_org(_org_items(keyed))
        errors = checked[1]
        _, name_errors = self.check_name(fields.get("name"))
        if not name_errors and not errors:
            return []
        return [(e.field, str(fields.get(e.field) or ""), e.message) for e in (*name_errors, *errors)]

    def _check_name(self, name: Any) -> tuple[str | None, tuple[FieldError, ...]]:
        field = Fields({"name": name})
        text = field.text("name", required=True, max_length=longest("organisations", "name"))
        return text, tuple(field.errors)

    def _check_org(self, items: tuple[tuple[str, Any], ...]) -> tuple[dict[str, Any] | None, tuple[FieldError, ...]]:
        try:
            record = build_organisation({**{k: _thawed(v) for k, v in items}, "slug": "org"}, self.vocabulary)
        except ValidationError as e:
            return None, tuple(e.errors)
        # Shallow, not dataclasses.asdict: its deep copies cost more than the check itself.
        values = {f.name: getattr(record, f.name) for f in fields(record)}
        values["aliases"] = [{"alias": a.alias, "language": a.language} for a in record.aliases]
        return values, ()

    def _check_relationship(
        self, items: tuple[tuple[str, Any], ...]
    ) -> tuple[dict[str, Any] | None, tuple[FieldError, ...]]:
        """The rules for everything but the free text, once per distinct combination of values."""
        data = {**dict(items), "vendor": "vendor", "client": "client", "summary": "-",
                "citations": [{"source": "file", "locator": "-"}]}  # fmt: skip
        try:
            record = build_relationship(data, self.vocabulary)
        except ValidationError as e:
            return None, tuple(e.errors)
        keys = ("product", "arrangement", "trial_days", "start_date", "end_date")
        return {k: getattr(record, k) for k in keys}, ()

    def _check_texts(self, summary: Any, notes: Any) -> tuple[FieldError, ...]:
        """The summary and notes by the free-text rules (the locator is checked per row)."""
        return tuple(free_text_errors({"summary": summary, "notes": notes, "locator": "-"}))

    def _check_date_pair(self, start: Any, end: Any) -> tuple[dict[str, Any], tuple[FieldError, ...]]:
        errors: list[FieldError] = []
        checked = self._check_dates({"start_date": start, "end_date": end}, errors)
        return checked, tuple(errors)

    def _check_dates(self, dates: dict[str, Any], errors: list[FieldError]) -> dict[str, Any]:
        """Each date by the date rule (cached per value), then their order."""
        order = Fields({})
        checked = {}
        for name, value in dates.items():
            checked[name], problem = self.check_date(value)
            if problem:
                errors.append(FieldError(name, problem))
        check_date_order(order, checked.get("start_date"), checked.get("end_date"), "start_date", "end_date")
        errors.extend(order.errors)
        return checked

    def _check_date(self, value: Any) -> tuple[str | None, str | None]:
        field = Fields({"date": value})
        parsed = field.date("date")
        return parsed, field.errors[0].message if field.errors else None

    def _check_source(self, items: tuple[tuple[str, Any], ...]) -> tuple[dict[str, Any] | None, tuple[FieldError, ...]]:
        data = dict(items)
        try:
            return asdict(build_source({**data, "slug": slugify(str(data.get("url") or data.get("title") or "s"))})), ()
        except ValidationError as e:
            return None, tuple(e.errors)

    def _row_source(self, number: int, spec: dict, cells: dict[str, str]) -> tuple | None:
        values = {k: g({**cells, "row": str(number)}) for k, g in spec.items()}
        if not values.get("url"):
            return None  # an empty link column: nothing to cite
        locator = str(values.pop("locator", None) or f"row {number}")
        if errors := free_text_errors({"summary": "-", "locator": locator}):  # the citation's own rule
            self.report.skipped += [Problem(number, "source.locator", locator, f"{e.message}: this link is not cited")
                                    for e in errors]  # fmt: skip
            return None
        values.setdefault("title", values.get("publisher") or values["url"])
        values.setdefault("language", "en")
        record, link_errors = self.check_source(tuple(sorted((k, v) for k, v in values.items() if v is not None)))
        # A bad link does not make the row wrong: the link is left uncited and listed.
        self.report.skipped += [Problem(number, f"source.{e.field}", str(values.get(e.field) or ""),
                                        f"{e.message}: this link is not cited") for e in link_errors]  # fmt: skip
        return (record, locator) if record else None

    def _row_figure(self, spec: dict, cells: dict[str, str]) -> tuple[Any, tuple[FieldError, ...]]:
        """((figure, value), ()) or (None, errors); (None, ()) for an empty cell. The rule once per
        metric and period; the value, by the same number rule the builder applies (low = high =
        the value), once per distinct value."""
        raw = (spec["low"](cells), spec["high"](cells))
        if all(r is None or r == "" for r in raw):
            return None, ()
        if "one_cell" in spec and (ends := number_range(raw[0])) is not None:
            raw = ends  # "1-5" in a `value:` cell is the range 1 to 5, not one figure
        start, end = (spec["period_start"](cells) if "period_start" in spec else None,
                      spec["period_end"](cells) if "period_end" in spec else None)  # fmt: skip
        base, errors = self.check_figure(spec["metric"], spec["unit"], "0", start, end)
        value = self.numbers.get(raw)
        if value is None:
            if len(self.numbers) >= CLIENTS_KEPT:
                self.numbers.clear()
            checked = Fields({"low": raw[0], "high": raw[1]})
            low, high = checked.number("low", required=True), checked.number("high", required=True)
            if low is not None and high is not None and high < low:
                checked.error("high", f"{high:g} is below low {low:g}")
            value = self.numbers[raw] = ((low, high), tuple(checked.errors))
        if errors or value[1]:
            return None, (*value[1], *errors)
        return (base, value[0]), ()

    def _check_figure(
        self, metric: str, unit: str, raw: Any, start: Any, end: Any
    ) -> tuple[dict[str, Any] | None, tuple[FieldError, ...]]:
        """A figure by the shared rule (its locator, a row number, is always valid)."""
        data = {"metric": metric, "unit": unit, "low": raw, "high": raw, "source": "file", "period_start": start,
                "period_end": end, "locator": "row 1"}  # fmt: skip
        try:
            record = build_observation(data)
        except ValidationError as e:
            return None, tuple(e.errors)
        return {k: getattr(record, k) for k in ("metric", "unit", "low", "high", "period_start", "period_end")}, ()

    # Matching and storing ------------------------------------------------------------

    def _organisation(self, fields: dict[str, Any]) -> int:
        """Match a vendor by normalised name (and place), or create it: once per vendor name
        (see _vendor; a row's client is matched by _client_id)."""
        name = str(fields["name"]).strip()
        country = self.vocabulary.country(fields["country"]) if fields.get("country") else None
        org_id, _ = self._match_or_create(fields, name_key(name), name, country, fields.get("subdivision"), "vendor")
        return org_id

    def _match_or_create(
        self,
        fields: dict[str, Any],
        key: str,
        name: str,
        country: str | None,
        subdivision: str | None,
        role: str,
        known: tuple[dict[str, Any] | None, tuple[FieldError, ...]] | None = None,
    ) -> tuple[int, bool]:
        """(id, matched) of an organisation of the file: `role` is "client" (a row's client, or a
        breach's organisation), "breach.vendor" (a row's business associate; both counted in the
        report) or "vendor" (the mapping's own vendor, not counted)."""
        found = self.keys.get(key, ())
        # _compatible, written out: a common name ("Greenfield Police Department") is known in dozens of places.
        candidates = [org_id for org_id, c, s in found if (country is None or c is None or c == country)
                      and (subdivision is None or s is None or s == subdivision)]  # fmt: skip
        if len(candidates) > 1:  # a Springfield PD in two states: the one in the row's place, or one made here
            exact = [org_id for org_id, c, s in found if (c, s) == (country, subdivision)]
            made = [org_id for org_id in exact if self.writer.made_here(org_id)]
            candidates = exact if len(exact) == 1 else made[-1:]
        if len(candidates) == 1:  # several with no way to choose are not guessed: a new one is proposed
            org_id = candidates[0]
            if role != "vendor" and not self.writer.made_here(org_id):  # the mapping's own vendor is not counted
                self.report.matched_organisations += 1
            self.writer.alias(org_id, name, self.db, key)
            return org_id, True
        if known is None:
            known = self.check_org(_org_items({**fields, "country": country or fields.get("country")}))
        checked, errors = known
        checked_name, name_errors = self.check_name(fields["name"])
        if checked is None or checked_name is None:  # only a vendor defined in the mapping can get here
            raise ValidationError([*name_errors, *errors])
        record = {**checked, "name": checked_name, "slug": self.writer.org_slug(name)}  # the row passed these rules
        names = (checked_name, *(alias["alias"] for alias in record.get("aliases") or ()))
        if record.get("person_name_reason") and not any(map(looks_like_person, names)):
            record["person_name_reason"] = None  # a mapping's statement is for the names that need one
        if record.get("government_level") is None:  # checked with a stand-in name: the level the real one shows
            record["government_level"] = derive_level(checked_name, record["kind"])
        # a relationship row's client is checked by registry.rules.persons already (see _row)
        checked_here = role != "client" or self.breaches is not None
        org_id = self.writer.organisation(record, key)
        if checked_here and self.name_check is not None:
            self._check_names(org_id, record, role)
        self.keys.setdefault(key, []).append((org_id, record["country"], record["subdivision"]))
        self.generation[key] = self.generation.get(key, 0) + 1  # earlier answers for this key are stale
        self.report.new_organisations += role != "vendor"
        return org_id, False

    def _check_names(self, org_id: int, record: dict[str, Any], role: str) -> None:
        """Ask the name check about a new organisation's name and each other name the mapping gives
        it (a vendor's `new: {aliases: [...]}`: published with it), listing each flagged one."""
        assert self.name_check is not None
        where = "breach.organisation" if role == "client" and self.breaches is not None else role
        if role == "vendor" and self.plan.vendors is not None:
            where = "vendors"  # named by the mapping's vendors: column
        reason = record.get("person_name_reason")
        names = [("name", record["name"]), *(("aliases", a["alias"]) for a in record.get("aliases") or ())]
        for field_name, name in names:
            if why := self.name_check({**record, "name": name, "person_name_reason": reason}):
                self.report.flagged.append(Problem(self.current_row, f"{where}.{field_name}", name, why))
                self.report.flagged_ids.add(org_id)

    def _relationship(
        self,
        number: int,
        client: _Client,
        vendor_id: int,
        client_id: int,
        product: str | None,
        stage: tuple[Any, ...],
        summary: str,
        notes: str | None,
    ) -> int | None:
        """The id of the row's relationship with this vendor: found (stored before, or made by an
        earlier row, whose stage is kept) or made; None when the client is the vendor itself."""
        writer = self.writer
        identity = writer.identity(vendor_id, client_id, product)
        found = writer.find_relationship(vendor_id, client_id, self.disclosure_id, product, identity)
        if found is not None:
            known, known_stage = found
            if not writer.created(known):
                writer.existing(known)  # stored before: this import adds its citations
            elif known_stage != stage:
                problem = ("the same relationship as an earlier row, with another arrangement, trial length or "
                           "dates: the earlier row's are kept, this row is cited")  # fmt: skip
                self.report.skipped.append(Problem(number, "relationship", client.values[self.name_at], problem))
            return known
        if vendor_id == client_id:
            self.report.skipped.append(
                Problem(number, "client", client.values[self.name_at], "the vendor itself: not a client")
            )
            return None
        self.report.relationships_stored += 1
        return writer.relationship(vendor_id, client_id, product, stage, summary, notes, identity)

    def _source_id(self, record: dict[str, Any]) -> int:
        url = record["url"]
        if url not in self.source_ids:
            existing = import_store.source_ids_by_url(self.db, [url])
            self.source_ids[url] = existing.get(url) or self.writer.source(
                {**record, "slug": self.writer.source_slug(record["title"])}
            )
        return self.source_ids[url]


class _Client:
    """One distinct set of a row's client fields (`values`, in the mapping's order): its problems,
    name, name key and place, the problems of its default summary, and the organisation it was
    matched to or created as, with the generation of its name key then. Slots: there are about
    as many of these as clients in the file."""

    __slots__ = ("country", "key", "match", "name", "person", "problems", "subdivision", "summary_errors", "values")

    def __init__(
        self,
        values: tuple[Any, ...],
        problems: tuple[tuple[str, str, str], ...],
        name: str,
        key: str,
        country: str | None,
        subdivision: str | None,
        summary_errors: tuple[FieldError, ...],
    ) -> None:
        self.values, self.problems, self.name, self.key = values, problems, name, key
        self.country, self.subdivision, self.summary_errors = country, subdivision, summary_errors
        self.match: tuple[int, bool, int] | None = None
        self.person = False  # its name looks like a private person's, with no statement (registry.rules.persons)


PERSON_FLAG = (
    "the client's name looks like a private person's: the registry never publishes people as organisations; if it "
    "is an organisation's (a doctor's practice named after the doctor), say why in the mapping's "
    "client.person_name_reason"
)
_errors_of = operator.itemgetter(1)  # of a figure, (figure, errors): in C, as it runs for every row


def _default_summary(name: Any) -> str:
    return f"{name} appears in this list as a client."


def _nothing(cells: Any) -> None:
    return None


def _short(text: str, longest: int = 200) -> str:
    return text if len(text) <= longest else text[:longest] + "…"


def _org_items(fields: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """An organisation's fields as a cache key, with a stand-in for the name (checked apart)."""
    return tuple(sorted((k, _frozen(v)) for k, v in {**fields, "name": "-"}.items() if v is not None))


class _FrozenList(tuple):
    """A mapping's list (a vendor's `new: {aliases: [...]}`) in a cache key, given back as a list."""

    __slots__ = ()


class _FrozenDict(tuple):
    """A mapping's mapping inside such a list ({alias: ..., language: ...}), given back as a dict."""

    __slots__ = ()


def _frozen(value: Any) -> Any:
    """A field's value as a cache key can hold it: the lists and mappings of a vendor's `new:`
    block (its aliases, identifiers) as tuples, which _thawed turns back."""
    if isinstance(value, list):
        return _FrozenList(_frozen(v) for v in value)
    if isinstance(value, dict):
        return _FrozenDict(sorted((str(k), _frozen(v)) for k, v in value.items()))
    return value


def _thawed(value: Any) -> Any:
    if isinstance(value, _FrozenList):
        return [_thawed(v) for v in value]
    if isinstance(value, _FrozenDict):
        return {k: _thawed(v) for k, v in value}
    return value
