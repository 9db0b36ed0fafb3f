"""Turn a contributor's form data into a pending submission.

A submission's payload holds the records it would create, in the mappings the record
builders read (references by slug), plus the form data as typed, so a reviewer can
edit it in the same form. Nothing is written to the domain tables before approval."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from dataclasses import field as dataclass_field
from typing import Any

import sqlite_utils

from registry.rules import limits
from registry.rules.fields import FieldError, ValidationError, Vocabulary, character_problem, slugify
from registry.rules.names import key_prefixes, name_key, near_matches
from registry.rules.persons import person_name_warning, unstated_person
from registry.rules.records import (
    build_breach,
    build_disclosure,
    build_observation,
    build_organisation,
    build_relationship,
    build_response,
    build_source,
)
from registry.store import lookups
from registry.store import submissions as submission_store
from registry.store.writers import transaction

INVALID = "invalid"  # a valid slug standing for a reference already reported as wrong
PERSON_CONFIRM = " Or tick 'Submit anyway' below to leave it to a reviewer."
PRIVATE_FIELDS = ("submitter_name", "submitter_contact", "idempotency_key", "csrf_token")


class Draft:
    """The payload being assembled, and every problem found on the way."""

    def __init__(self, db: sqlite_utils.Database, vocabulary: Vocabulary) -> None:
        self.db, self.vocabulary = db, vocabulary
        self.errors: list[FieldError] = []
        self.payload: dict[str, list[dict[str, Any]]] = {"organisations": [], "sources": []}
        self.slugs: set[str] = set()
        self.sources_data: dict[str, Any] = {}
        self.person_confirmed = False  # the contributor saw the warning about a person's name and went on

    def warn_person(self, record: Mapping[str, Any], field: str) -> None:
        """Stop once at a new organisation whose name looks like a private person's
        (registry.rules.persons): the contributor gives a reason, or ticks to leave it to a reviewer."""
        if not self.person_confirmed and unstated_person(record["name"], record.get("person_name_reason")):
            self.errors.append(FieldError(field, person_name_warning(record["name"]) + PERSON_CONFIRM))

    def check(self, build: Callable[[], Any], fields: Mapping[str, str], prefix: str = "") -> dict[str, Any] | None:
        """Run a record builder; return the record as a mapping, or file its errors under
        the form's field names and return None."""
        try:
            return asdict(build())
        except ValidationError as e:
            for error in e.errors:
                base = error.field.split("[")[0]  # "aliases[1].alias" is shown at "aliases"
                where = fields.get(error.field) or fields.get(base) or prefix + error.field
                self.errors.append(FieldError(where, error.message))
            return None

    def new_slug(self, table: str, name: str) -> str:
        slug = lookups.unique_slug(self.db, table, slugify(name), self.slugs)
        self.slugs.add(slug)
        return slug

    def party(self, data: Mapping[str, Any], prefix: str) -> str:
        """Return the slug of the chosen or described organisation (a placeholder if invalid)."""
        if data.get("id"):
            org = lookups.organisation(self.db, data["id"])
            if org is None:
                self.errors.append(FieldError(f"{prefix}-name", f"No published organisation has number {data['id']}."))
                return INVALID
            return org["slug"]
        name = (data.get("name") or "").strip()
        matches = lookups.organisations_with_key(self.db, name_key(name)) if name else []
        if matches and not data.get("is_new"):
            names = "; ".join(_describe_org(m) for m in matches[:5])
            self.errors.append(
                FieldError(
                    f"{prefix}-name",
                    f"Already in the registry: {names}. Pick it from the suggestions, or tick "
                    "'None of the suggestions' if this is a different organisation.",
                )
            )
            return INVALID
        mapping = {k: data.get(k) for k in ("name", "kind", "sector", "country")}
        mapping["slug"] = slug = self.new_slug("organisations", name)
        fields = {k: f"{prefix}-{k}" for k in mapping}
        record = self.check(lambda: build_organisation(mapping, self.vocabulary), fields)
        if record is None:
            return INVALID
        self.warn_person(record, f"{prefix}-name")
        self.payload["organisations"].append(record)
        return slug

    def existing_organisation(self, data: Mapping[str, Any], prefix: str, missing: str) -> dict[str, Any] | None:
        """The published organisation a picker (OrganisationPickForm) names, by its number
        (suggestions, links, the choice offered) or by its name; else None and a message on
        its name field. These forms never create an organisation."""
        number = data.get("choice") or data.get("id")
        name = (data.get("name") or "").strip()
        if number:
            found = lookups.organisation(self.db, number)
            if found is None:
                self.errors.append(FieldError(f"{prefix}-name", f"No published organisation has number {number}."))
                return None
            # A choice among the name's candidates stands; a number from a link or a suggestion stands
            # only while the name shown is still that organisation's (or an alias): a contributor who
            # retypes the name without JavaScript means the name typed, not the number left behind.
            if data.get("choice") or not name:
                return found
            if found["id"] in {o["id"] for o in lookups.organisations_with_key(self.db, name_key(name))}:
                return found
        if not name:
            self.errors.append(FieldError(f"{prefix}-name", missing))
            return None
        pick = pick_organisation(self.db, name)
        if pick.problem:
            self.errors.append(FieldError(f"{prefix}-name", pick.problem))
        return pick.organisation

    def source(self, data: Mapping[str, Any], prefix: str) -> str:
        """Return the slug of the chosen or described source (a placeholder if invalid)."""
        if data.get("id"):
            found = lookups.source(self.db, data["id"])
            if found is None:
                self.errors.append(FieldError(f"{prefix}-title", f"No published source has number {data['id']}."))
                return INVALID
            return found["slug"]
        mapping = {k: data.get(k) for k in ("title", "url", "publisher", "language", "published_date")}
        mapping["language"] = (mapping["language"] or "").strip().lower() or None
        mapping["slug"] = slug = self.new_slug("sources", mapping["title"] or "source")
        fields = {k: f"{prefix}-{k}" for k in mapping}
        record = self.check(lambda: build_source(mapping), fields)
        if record is None:
            return INVALID
        self.sources_data = mapping
        self.payload["sources"].append(record)
        return slug

    def result(self, form_data: Mapping[str, Any]) -> dict[str, Any]:
        if self.errors:
            raise ValidationError(self.errors)
        typed = {k: v for k, v in form_data.items() if k not in PRIVATE_FIELDS}
        return {**self.payload, "form": typed}


@dataclass(frozen=True)
class Pick:
    """What a typed organisation name resolves to: one organisation, or a problem and the
    organisations it could mean (id, label), offered to the contributor as a choice."""

    organisation: dict[str, Any] | None
    problem: str = ""
    candidates: list[tuple[int, str]] = dataclass_field(default_factory=list)


def pick_organisation(db: sqlite_utils.Database, name: str) -> Pick:
    """Resolve a typed name: the one published organisation whose name or alias has its key
    (registry.rules.names.name_key); else the near matches (near_matches) among those whose
    key begins as its key does (key_prefixes), none picked."""
    exact = lookups.organisations_with_key(db, name_key(name))
    if len(exact) == 1:
        return Pick(lookups.organisation(db, exact[0]["id"]))
    if exact:
        candidates = sorted(((m["id"], _describe_org(m)) for m in exact), key=lambda c: (c[1], c[0]))
        listed = "; ".join(label for _, label in candidates)
        return Pick(None, f"Several published organisations are called '{name}': {listed}. Choose one.", candidates)
    found = lookups.organisation_spellings_starting_with(db, key_prefixes(name_key(name)))
    near = near_matches(name, [row[:3] for row in found], keys=[row[3] for row in found])
    if not near:
        return Pick(None, f"No published organisation is called '{name}'. Submit the organisation first.")
    candidates = [(m.organisation_id, _describe_near(m.name, m.matched)) for m in near]
    listed = "; ".join(label for _, label in candidates)
    return Pick(None, f"No published organisation is called '{name}'. Near: {listed}. Choose one.", candidates)


def _describe_near(name: str, matched: str) -> str:
    return name if matched == name else f"{name} (also known as {matched})"


def _describe_org(org: Mapping[str, Any]) -> str:
    where = org.get("subdivision") or org.get("country")
    return f"{org['name']} ({where})" if where else org["name"]


def prepare_organisation(draft: Draft, data: Mapping[str, Any]) -> None:
    keys = ("name", "kind", "sector", "country", "subdivision", "description", "government_level", "person_name_reason")
    mapping = {k: data.get(k) for k in keys}
    mapping["subdivision"] = (mapping["subdivision"] or "").strip().upper() or None
    mapping["aliases"] = [line.strip() for line in (data.get("aliases") or "").splitlines() if line.strip()]
    mapping["slug"] = draft.new_slug("organisations", mapping["name"] or "organisation")
    matches = lookups.organisations_with_key(draft.db, name_key(data.get("name") or ""))
    if matches and not data.get("is_new"):
        names = "; ".join(_describe_org(m) for m in matches[:5])
        draft.errors.append(
            FieldError("name", f"Already in the registry: {names}. Tick 'different organisation' if not.")
        )
    record = draft.check(lambda: build_organisation(mapping, draft.vocabulary), {"aliases": "aliases"})
    if record is not None:
        draft.warn_person(record, "name")
        draft.payload["organisations"].append(record)


def prepare_source(draft: Draft, data: Mapping[str, Any]) -> None:
    source = {**(data.get("source") or {}), "id": None}  # this form always describes a new source
    draft.source(source, "source")
    if draft.payload["sources"]:
        mapping = {**draft.sources_data, "notes": data.get("notes") or None}
        record = draft.check(lambda: build_source(mapping), {"notes": "notes"})
        draft.payload["sources"] = [record] if record else []


def prepare_disclosure(draft: Draft, data: Mapping[str, Any]) -> None:
    keys = ("title", "kind", "disclosed_date", "disclosed_by", "reported_count", "period_start", "period_end")
    mapping = {k: data.get(k) for k in (*keys, "description", "completeness_note")}
    mapping["slug"] = draft.new_slug("disclosures", mapping["title"] or "disclosure")
    record = draft.check(lambda: build_disclosure(mapping, draft.vocabulary), {})
    if record is not None:
        draft.payload["disclosures"] = [record]


def prepare_relationship(draft: Draft, data: Mapping[str, Any]) -> None:
    vendor = draft.party(data.get("vendor") or {}, "vendor")
    client = draft.party(data.get("client") or {}, "client")
    source = draft.source(data.get("source") or {}, "source")
    disclosure = None
    if data.get("disclosure"):
        found = lookups.disclosure(draft.db, int(data["disclosure"])) if str(data["disclosure"]).isdigit() else None
        if found is None:
            draft.errors.append(FieldError("disclosure", "No published disclosure has this number."))
        else:
            disclosure = found["slug"]
    mapping = {k: data.get(k) for k in ("product", "arrangement", "trial_days", "start_date", "end_date")}
    mapping |= {"summary": data.get("summary"), "notes": data.get("notes")}
    mapping |= {"vendor": vendor, "client": client, "disclosure": disclosure}
    mapping["citations"] = [{"source": source, "locator": data.get("locator"), "quote": data.get("quote")}]
    fields = {
        "vendor": "vendor-name",
        "client": "client-name",
        "citations[0].locator": "locator",
        "citations[0].quote": "quote",
        "citations[0].source": "source-title",
    }
    if INVALID in (vendor, client):
        fields["client"] = "_"  # both parties invalid look like "its own client": already reported
    record = draft.check(lambda: build_relationship(mapping, draft.vocabulary), fields)
    if record is not None:
        draft.payload["relationships"] = [record]
    draft.errors = [e for e in draft.errors if e.field != "_"]


def prepare_breach(draft: Draft, data: Mapping[str, Any]) -> None:
    """A breach of a chosen or new organisation, with an optional vendor, its disclosures
    and one citation."""
    organisation = draft.party(data.get("organisation") or {}, "organisation")
    vendor_data = data.get("vendor") or {}
    given = vendor_data.get("id") or (vendor_data.get("name") or "").strip()
    vendor = draft.party(vendor_data, "vendor") if given else None
    source = draft.source(data.get("source") or {}, "source")
    disclosures = []
    for number in data.get("disclosures") or []:
        found = lookups.disclosure(draft.db, int(number)) if str(number).isdigit() else None
        if found is None:
            draft.errors.append(FieldError("disclosures", f"No published disclosure has number {number}."))
        else:
            disclosures.append(found["slug"])
    keys = ("title", "start_date", "end_date", "discovered_date", "notified_date", "affected_low", "affected_high")
    mapping = {k: data.get(k) for k in (*keys, "affected_unit", "breach_types", "data_kinds", "media")}
    mapping |= {k: data.get(k) for k in ("verified", "disputed", "sensitive", "description", "notes")}
    mapping |= {"organisation": organisation, "vendor": vendor, "disclosures": disclosures}
    mapping["slug"] = draft.new_slug("breaches", data.get("title") or "breach")
    mapping["citations"] = [{"source": source, "locator": data.get("locator"), "quote": data.get("quote")}]
    fields = {
        "organisation": "organisation-name",
        "vendor": "vendor-name" if INVALID not in (vendor, organisation) else "_",
        "citations[0].locator": "locator",
        "citations[0].quote": "quote",
        "citations[0].source": "source-title",
    }
    record = draft.check(lambda: build_breach(mapping, draft.vocabulary), fields)
    if record is not None:
        draft.payload["breaches"] = [record]
    draft.errors = [e for e in draft.errors if e.field != "_"]


# What a response or a figure may be about: form field -> (column, what it is called).
RESPONSE_SUBJECTS = {
    "relationship_id": ("relationship_id", "relationship"),
    "disclosure_id": ("disclosure_id", "disclosure"),
    "breach_id": ("breach_id", "breach"),
}


def _subject(draft: Draft, data: Mapping[str, Any], subjects: dict[str, tuple[str, str]]) -> tuple[str, int] | None:
    """The one published record a response or a figure is about, as (column, id)."""
    given = [field for field in subjects if data.get(field)]
    if len(given) != 1:
        names = [name for _, name in subjects.values()]
        either = ", ".join(names[:-1]) + " or " + names[-1]
        where = given[1] if len(given) > 1 else next(iter(subjects))
        message = f"Give one {either}, not several." if given else f"Give the number of the published {either}."
        draft.errors.append(FieldError(where, message))
        return None
    field = given[0]
    column, name = subjects[field]
    number = data[field]
    finders = {
        "relationship": lambda: _approved(lookups.relationship(draft.db, number)),
        "disclosure": lambda: lookups.disclosure(draft.db, number),
        "breach": lambda: lookups.breach(draft.db, number),
        "organisation": lambda: lookups.organisation(draft.db, number),
    }
    if finders[name]() is None:
        draft.errors.append(FieldError(field, f"No published {name} has number {number}."))
        return None
    return column, int(number)


def _approved(row: dict[str, Any] | None) -> dict[str, Any] | None:
    return row if row is not None and row["status"] == "approved" else None


def _responder(draft: Draft, data: Mapping[str, Any], column: str, subject_id: int) -> str:
    """The slug of the organisation that responded: the relationship's or the breach's
    vendor or client (the breached organisation), or for a disclosure the one named."""
    side = data.get("organisation")
    if column == "disclosure_id":
        missing = "Give the name of the organisation that responded."
        org = draft.existing_organisation(data.get("responder") or {}, "responder", missing)
        return org["slug"] if org else INVALID
    if side not in ("vendor", "client"):
        draft.errors.append(FieldError("organisation", "Choose the vendor or the client (the organisation breached)."))
        return INVALID
    if column == "relationship_id":
        rel = lookups.relationship(draft.db, subject_id)
        assert rel is not None  # _subject found it
        org_id = rel["vendor_id"] if side == "vendor" else rel["client_id"]
    else:
        breach = lookups.breach(draft.db, subject_id)
        assert breach is not None  # _subject found it
        org_id = breach["vendor_id"] if side == "vendor" else breach["organisation_id"]
        if org_id is None:
            draft.errors.append(FieldError("organisation", "This breach names no vendor: choose the organisation."))
            return INVALID
    org = lookups.organisation(draft.db, org_id)
    return org["slug"] if org else INVALID


def prepare_response(draft: Draft, data: Mapping[str, Any]) -> None:
    """A response to one published relationship, disclosure or breach."""
    subject = _subject(draft, data, RESPONSE_SUBJECTS)
    organisation = _responder(draft, data, *subject) if subject else INVALID
    source = draft.source(data.get("source") or {}, "source")
    mapping = {k: data.get(k) for k in ("kind", "response_date", "quote", "summary", "locator", "author")}
    mapping |= {"organisation": organisation, "source": source}
    record = draft.check(lambda: build_response(mapping, draft.vocabulary), {"source": "source-title"})
    if record is not None and subject is not None:
        draft.payload["responses"] = [{**record, subject[0]: subject[1]}]


def prepare_figure(draft: Draft, data: Mapping[str, Any]) -> None:
    """A figure about one published organisation (picked by name) or breach, with its source."""
    subject = _figure_subject(draft, data)
    source = draft.source(data.get("source") or {}, "source")
    mapping = {k: data.get(k) for k in ("metric", "low", "high", "unit", "period_start", "period_end", "locator")}
    mapping["source"] = source
    record = draft.check(lambda: build_observation(mapping), {"source": "source-title"})
    if record is not None and subject is not None:
        draft.payload["observations"] = [{**record, subject[0]: subject[1]}]


def _figure_subject(draft: Draft, data: Mapping[str, Any]) -> tuple[str, int] | None:
    """The organisation or the breach a figure is about, as (column, id): one, not both."""
    picker = data.get("organisation") or {}
    named = any(picker.get(k) for k in ("id", "choice")) or (picker.get("name") or "").strip()
    if named and data.get("breach_id"):
        draft.errors.append(FieldError("breach_id", "Give one organisation or breach, not both."))
        return None
    if data.get("breach_id"):
        return _subject(draft, data, {"breach_id": ("breach_id", "breach")})
    missing = "Give the name of the organisation, or the number of the breach, the figure is about."
    org = draft.existing_organisation(picker, "organisation", missing)
    return ("organisation_id", org["id"]) if org else None


def prepare_correction(draft: Draft, data: Mapping[str, Any]) -> None:
    """An error report: which published relationship or breach, what is wrong, the evidence.
    It publishes nothing: a reviewer reads it and corrects the record through the usual means."""
    report: dict[str, Any] = {"relationship_id": None}
    if data.get("breach_id") and not data.get("relationship_id"):
        breach = lookups.breach(draft.db, data["breach_id"])
        if breach is None:
            draft.errors.append(FieldError("breach_id", f"No published breach has number {data['breach_id']}."))
        report = {"breach_id": breach["id"] if breach else None}
    elif data.get("breach_id"):
        draft.errors.append(FieldError("breach_id", "Report on one record: a relationship or a breach, not both."))
    else:
        rel = lookups.relationship(draft.db, data["relationship_id"]) if data.get("relationship_id") else None
        if rel is None or rel["status"] != "approved":
            draft.errors.append(
                FieldError("relationship_id", f"No published relationship has number {data.get('relationship_id')}.")
            )
        report = {"relationship_id": rel["id"] if rel else None}
    for field, missing in (("problem", "Say what is wrong."), ("evidence", "Give your evidence.")):
        text = (data.get(field) or "").strip()
        if not text:
            draft.errors.append(FieldError(field, missing))
        elif len(text) > limits.REPORT:
            draft.errors.append(FieldError(field, f"At most {limits.REPORT} characters."))
        elif problem := character_problem(text):
            draft.errors.append(FieldError(field, problem))
        report[field] = text
    draft.payload["corrections"] = [report]


PREPARERS: dict[str, Callable[[Draft, Mapping[str, Any]], None]] = {
    "organisation": prepare_organisation,
    "source": prepare_source,
    "disclosure": prepare_disclosure,
    "relationship": prepare_relationship,
    "breach": prepare_breach,
    "response": prepare_response,
    "figure": prepare_figure,
    "correction": prepare_correction,
}


def prepare(db: sqlite_utils.Database, vocabulary: Vocabulary, kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate form data against the rules and the database; return the payload."""
    draft = Draft(db, vocabulary)
    draft.person_confirmed = bool(data.get("person_name_confirmed"))
    PREPARERS[kind](draft, data)
    draft.errors += submitter_errors(data)
    return draft.result(data)


def submitter_errors(data: Mapping[str, Any]) -> list[FieldError]:
    """The submitter's name and contact stay private, yet reviewers read them: the same
    character rule as every published field."""
    found = []
    for name in ("submitter_name", "submitter_contact"):
        problem = character_problem(str(data.get(name) or ""))
        if problem:
            found.append(FieldError(name, problem))
    return found


def submit(db: sqlite_utils.Database, vocabulary: Vocabulary, kind: str, data: Mapping[str, Any]) -> str:
    """Store a pending submission; return its reference (the first one, for a repeated post)."""
    payload = prepare(db, vocabulary, kind, data)
    reference = "S-" + secrets.token_hex(5).upper()
    try:
        with transaction(db):
            submission_store.insert_submission(
                db,
                reference,
                kind,
                payload,
                (data.get("submitter_name") or "").strip() or None,
                (data.get("submitter_contact") or "").strip() or None,
                data.get("idempotency_key") or None,
            )
    except submission_store.DuplicateSubmissionError as e:
        return e.reference
    return reference
