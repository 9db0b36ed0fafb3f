"""Import one breach per row: check it with the shared rule (build_breach), match its
organisation as a client is matched, find or record the vendor -> organisation relationship
the row reveals, and stage the breach with its lists, citation and figures.

A breach is never folded into another: two rows about one organisation are two breaches
(the issue found hundreds lost that way when breaches were imported as relationships). A
row is the same breach only when it is the same row of the same source, already imported:
then it is counted as matched and nothing is added."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from registry.importer.breach_mapping import BreachPlan, ListSpec
from registry.importer.ranges import number_range
from registry.rules.fields import ValidationError, allowed_text
from registry.rules.names import name_key
from registry.rules.records import build_breach
from registry.store import imports as import_store

if TYPE_CHECKING:
    from registry.importer.run import Problem, _Job

# Before a phrase, in its sentence: a word that says the data was not there, or may not have
# been ("there were no social security numbers", "possibly social security numbers"). A kind of
# data is derived only from a sentence that states it; one that doubts or denies it gives none.
DOUBT = re.compile(r"\b(no|not|nor|neither|never|without|excluding|possibly|potentially|may|might|could)\b|n't",
                   re.IGNORECASE)  # fmt: skip
SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")
# A field filled from another mapping field's cell: its errors name that cell's column.
READ_FROM = {"start_date": "dates", "end_date": "dates", "affected_low": "affected", "affected_high": "affected"}
KEPT = 50_000  # distinct texts whose derived codes are remembered
SELF_VENDOR = "the vendor named is the breached organisation itself: the breach is stored without a vendor"


def found_codes(text: str, find: list[tuple[Any, str]]) -> tuple[str, ...]:
    """The codes whose phrase a sentence of `text` states (not after a doubt or a denial)."""
    codes: dict[str, None] = {}
    for sentence in SENTENCE_END.split(text):
        for pattern, code in find:
            if code in codes:
                continue
            for match in pattern.finditer(sentence):
                if not DOUBT.search(sentence[: match.start()]):
                    codes[code] = None
                    break
    return tuple(codes)


class BreachRows:
    """The breach half of an import's job: one breach per row."""

    def __init__(self, job: _Job, plan: BreachPlan) -> None:
        self.job, self.plan = job, plan
        self.known = import_store.breaches_cited(job.db, job.file_source_id)  # locator -> breach, imported before
        self.vendor_ids: dict[str, int] = {}
        self.identities: dict[tuple[Any, ...], list[int]] | None = None  # see _matching
        self.claimed: set[int] = set()  # breaches already matched by a row of this file
        self.derived: dict[tuple[str, str], tuple[str, ...]] = {}

    def row(self, number: int, cells: dict[str, str]) -> None:
        """Check, match and stage the breach of one row (RowError when it cannot be stored)."""
        job, report = self.job, self.job.report
        locator = job.locator_of(number, cells)
        if locator in self.known:
            report.matched_breaches += 1
            return
        client, vendor, itself, record, figures = self._check(number, cells, locator)
        if itself is not None:
            report.skipped.append(self._problem(number, "vendor.name", itself, SELF_VENDOR))
        job.current_row = number
        organisation_id = job._client_id(client)
        if self.plan.match and (known := self._matching(organisation_id, record)) is not None:
            job.writer.breach_citation(known, job.file_source_id, locator)  # this source says so too
            report.matched_breaches += 1
            return
        self._stage(number, locator, client, organisation_id, vendor, record, figures)

    def _check(self, number: int, cells: dict[str, str], locator: str) -> tuple[Any, ...]:
        """(client, vendor fields, the vendor's name if it is the organisation itself, the breach
        record, figures) of a row, checked by the shared rules; RowError naming every problem."""
        from registry.importer.run import RowError  # run imports this module

        job = self.job
        key = tuple([g(cells) for g in job.client_getters])
        client = job.clients.get(key) or job._client(key)
        problems = [self._problem(number, f"organisation.{f}", v, m) for f, v, m in client.problems]
        vendor = self._vendor_fields(cells)
        itself = None
        if vendor is not None and name_key(str(vendor["name"]).strip()) == client.key:
            itself, vendor = vendor["name"], None  # named as its own business associate: no vendor to link
        if vendor is not None:
            problems += self._vendor_problems(number, vendor)
        data, date_problem = self._data(cells)
        if date_problem and self.plan.dates_cell is not None:
            problems.append(self._problem(number, "dates", self.plan.dates_cell(cells), date_problem))
        lists, list_problems = self._lists(number, cells)
        problems += list_problems
        figures = [job._row_figure(spec, cells) for spec in job.plan.observations]
        for spec, (_, errors) in zip(job.plan.observations, figures, strict=True):
            problems += [self._problem(number, f"observation.{spec['metric']}.{e.field}", "", e.message)
                         for e in errors]  # fmt: skip
        try:
            record = build_breach({**data, **lists, "organisation": "organisation", "vendor": vendor and "vendor",
                                   "citations": [{"source": "file", "locator": locator}]}, job.vocabulary)  # fmt: skip
        except ValidationError as e:
            problems += [self._problem(number, err.field, data.get(err.field), err.message) for err in e.errors]
            record = None
        if problems or record is None:
            raise RowError(problems)
        return client, vendor, itself, record, figures

    def _stage(self, number: int, locator: str, client: Any, organisation_id: int, vendor: dict[str, Any] | None,
               record: Any, figures: list[tuple[Any, Any]]) -> None:  # fmt: skip
        """Stage a new breach of a row that passed every check, with the vendor relationship it
        reveals, its lists, citation and figures."""
        job = self.job
        vendor_id = relationship_id = None
        if vendor is not None:
            vendor_id = self._vendor_id(vendor)
            relationship_id = self._relationship(number, client, vendor_id, organisation_id, vendor["name"])
        writer, source = job.writer, job.file_source_id
        if relationship_id is not None:
            writer.citation(relationship_id, source, locator, None)
        columns = {name: getattr(record, name) for name in BREACH_COLUMNS}
        columns.update(slug=record.slug, organisation_id=organisation_id, vendor_id=vendor_id,
                       relationship_id=relationship_id, verified=int(record.verified), disputed=int(record.disputed),
                       sensitive=int(record.sensitive))  # fmt: skip
        links = {"breaches_breach_types": record.breach_types, "breaches_data_kinds": record.data_kinds,
                 "breaches_breach_media": record.media,
                 "breaches_disclosures": (job.disclosure_id,) if job.disclosure_id else ()}  # fmt: skip
        breach_id = writer.breach(columns, links)
        writer.breach_citation(breach_id, source, locator)
        for figure, _ in figures:
            if figure is not None:
                writer.breach_figure(breach_id, figure, number, source)
        job.report.rows_stored += 1
        job.report.breaches_stored += 1

    def _matching(self, organisation_id: int, record: Any) -> int | None:
        """The approved breach of the organisation with the same values of the mapping's `match`
        fields, not matched by an earlier row of this file (the first, if several)."""
        if self.identities is None:
            self.identities = {}
            for known in import_store.breach_identities(self.job.db):
                key = _identity(self.plan.match, known["organisation_id"], known)
                self.identities.setdefault(key, []).append(known["id"])
        values = {name: getattr(record, name) for name in BREACH_COLUMNS}
        values.update(breach_types=",".join(sorted(record.breach_types)) or None,
                      media=",".join(sorted(record.media)) or None)  # fmt: skip
        for known_id in self.identities.get(_identity(self.plan.match, organisation_id, values), ()):
            if known_id not in self.claimed:
                self.claimed.add(known_id)
                return known_id
        return None

    def _problem(self, number: int, field: str, value: Any, message: str) -> Problem:
        """A problem named by the mapping's field and, where it has one, the file's column."""
        from registry.importer.run import Problem

        head = field.split(".")[0].split("[")[0]
        column = self.plan.columns.get(head) or self.plan.columns.get(READ_FROM.get(head, ""))
        where = f"breach.{field}" + (f" ({column})" if column else "")
        return Problem(number, where, "" if value is None else str(value), message)

    def _data(self, cells: Mapping[str, str]) -> tuple[dict[str, Any], str | None]:
        """The row's scalar fields, with a cell of two dates or two numbers split into its ends;
        and what is wrong with the cell of dates, if anything."""
        plan = self.plan
        data = {name: get(cells) for name, get in plan.fields.items()}
        date_problem = None
        if plan.dates is not None:
            data["start_date"], data["end_date"], date_problem = plan.dates(cells)
        if plan.affected is not None:
            value = plan.affected(cells)
            data["affected_low"], data["affected_high"] = number_range(value) or (value, value)
        return data, date_problem

    def _lists(self, number: int, cells: Mapping[str, str]) -> tuple[dict[str, tuple[str, ...]], list[Problem]]:
        lists: dict[str, tuple[str, ...]] = {}
        problems: list[Problem] = []
        for spec in self.plan.lists:
            lists[spec.key], unknown = self._codes(spec, cells)
            problems += [
                self._problem(number, spec.key, label, f"'{label}' is not a label the mapping's map knows (it knows "
                              f"{allowed_text(label, spec.labels)})")
                for label in unknown
            ]  # fmt: skip
        return lists, problems

    def _codes(self, spec: ListSpec, cells: Mapping[str, str]) -> tuple[tuple[str, ...], list[str]]:
        """(codes, labels not known) of one list field of a row."""
        if spec.constant:
            return spec.constant, []
        text = spec.get(cells)
        if text is None or str(text).strip() == "":
            return (), []
        text = str(text)
        if spec.find:
            found = self.derived.get((spec.key, text))
            if found is None:
                if len(self.derived) >= KEPT:
                    self.derived.clear()
                found = self.derived[(spec.key, text)] = found_codes(text, spec.find)
            return found, []
        labels = [label.strip() for label in (text.split(spec.split) if spec.split else [text]) if label.strip()]
        if not spec.labels:
            return tuple(labels), []  # the column holds codes: build_breach checks them
        codes = [spec.labels.get(label.casefold()) for label in labels]
        return tuple(c for c in codes if c), [label for label, c in zip(labels, codes, strict=True) if c is None]

    def _vendor_fields(self, cells: Mapping[str, str]) -> dict[str, Any] | None:
        """The row's vendor (business associate), or None when the row names none."""
        if self.plan.vendor is None:
            return None
        fields = {name: get(cells) for name, get in self.plan.vendor.items()}
        name = fields.get("name")
        if name is None or not str(name).strip():
            return None
        fields.setdefault("kind", "company")
        fields.setdefault("sector", "other")
        return fields

    def _vendor_problems(self, number: int, fields: dict[str, Any]) -> list[Problem]:
        job = self.job
        country = fields.get("country")
        keyed = {**fields, "country": job.vocabulary.country(country) or country} if country else fields
        _, errors = job.check_org(_items(keyed))
        _, name_errors = job.check_name(fields["name"])
        problems = [self._problem(number, f"vendor.{e.field}", fields.get(e.field), e.message)
                    for e in (*name_errors, *errors)]  # fmt: skip
        return problems

    def _vendor_id(self, fields: dict[str, Any]) -> int:
        """The vendor's organisation, matched by name and place as a client is, or created."""
        job = self.job
        name = str(fields["name"]).strip()
        if name not in self.vendor_ids:
            country = job.vocabulary.country(fields["country"]) if fields.get("country") else None
            self.vendor_ids[name], _ = job._match_or_create(
                fields, name_key(name), name, country, fields.get("subdivision"), "breach.vendor"
            )
        return self.vendor_ids[name]

    def _relationship(self, number: int, client: Any, vendor_id: int, organisation_id: int, vendor: str) -> int | None:
        """The vendor -> organisation relationship the row reveals: found (stored before, or made by
        an earlier row) or made, with the mapping's arrangement."""
        summary = (f"{vendor} is named as the business associate involved in a breach of "
                   f"{client.name}'s data.")[:1000]  # fmt: skip
        stage = (self.plan.arrangement, None, None, None)  # import_store.STAGE_FIELDS
        return self.job._relationship(number, client, vendor_id, organisation_id, None, stage, summary, None)


BREACH_COLUMNS = ("title", "description", "notes", "start_date", "end_date", "discovered_date", "notified_date",
                  "affected_low", "affected_high", "affected_unit")  # fmt: skip


def _identity(fields: tuple[str, ...], organisation_id: int, values: Mapping[str, Any]) -> tuple[Any, ...]:
    """What `match` compares of a breach (`values`: its columns, types and media as sorted codes)."""
    key: list[Any] = [organisation_id]
    for name in fields:
        key += [values["affected_low"], values["affected_high"]] if name == "affected" else [values[name]]
    return tuple(key)


def _items(fields: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """An organisation's fields as a cache key, with a stand-in for the name (checked apart)."""
    return tuple(sorted((k, v) for k, v in {**fields, "name": "-"}.items() if v is not None))
