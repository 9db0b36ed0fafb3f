"""Reviewers' decisions on submissions: preview, edit, approve (which publishes at
once), reject."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlite_utils

from registry.config import Settings
from registry.rules.fields import FieldError, ValidationError, Vocabulary
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
from registry.services import submissions
from registry.services.preview import unstated_import_persons
from registry.store import breaches as breach_store
from registry.store import imports, lookups, public, publication
from registry.store import records as record_store
from registry.store import submissions as submission_store
from registry.store import vocabulary as vocabulary_store
from registry.store.connection import connect
from registry.store.writers import transaction

REVIEW_FIELD = "in 'Why the names that look like a person's are organisations'"


class ReviewError(Exception):
    """A review action cannot be carried out; nothing was changed."""


@contextmanager
def publishing(
    settings: Settings, scope: list[tuple[str, int]] | None = None, *, erase: bool = False
) -> Iterator[sqlite_utils.Database]:
    """Open intake.db with registry.db attached, in one write transaction.

    The block's writes to intake.db and their publication to registry.db commit
    together; an exception rolls both back. Publication compares every public table,
    unless the block puts ("submissions", id) in `scope`: then only that submission's
    rows and what derives from them (`scoped_sync`; every other entry of `scope` is a
    written row, as (table, id)). With `erase` (a withdrawal, a merge: published text
    leaves), nothing of what registry.db loses stays in its file: deleted rows zeroed,
    the search indexes rewritten without their words, the old pages out of the log.

    SQLite commits intake.db before registry.db: `publication.publish` stamps both, so
    a kill between the two commits is found and finished by the next decision, `registry
    serve`, `registry publish` or `registry check`."""
    if not settings.registry_db.exists():
        raise ReviewError(f"{settings.registry_db} does not exist: run `registry publish` first.")
    db = connect(settings.intake_db)
    public.attach(db, settings.registry_db, "pub")
    try:
        if erase:
            public.erase_deleted_text(db, "pub")
        with transaction(db):
            yield db
            publication.publish(db, scope, public="pub", intake="main")
            if erase:
                public.purge_deleted_text(db, "pub")
        if erase:
            public.release_old_pages(db, "pub")
    finally:
        public.detach(db, "pub")
        db.close()


def pending(db: sqlite_utils.Database, submission_id: int) -> dict[str, Any]:
    found = submission_store.submission(db, submission_id)
    if found is None:
        raise ReviewError(f"No submission has number {submission_id}.")
    if found["status"] != "pending":
        raise ReviewError(f"Submission {found['reference']} was already {found['status']}.")
    return found


def edit(
    db: sqlite_utils.Database, vocabulary: Vocabulary, submission_id: int, user: dict[str, Any], data: dict[str, Any]
) -> None:
    """Replace a pending submission's payload with the reviewer's corrected form."""
    with transaction(db):
        found = pending(db, submission_id)
        payload = submissions.prepare(db, vocabulary, found["kind"], data)
        submission_store.update_payload(db, submission_id, payload)
        submission_store.add_review(db, submission_id, user["id"], "edit", None)


def record_rejection(db: sqlite_utils.Database, submission_id: int, user: dict[str, Any], reason: str) -> bool:
    """Record the decision (status, review, and for an import the note that its rows are to
    be removed) in one transaction; True if an import's rows remain to be removed
    (imports.finish_removal, or in the background: registry.services.removal)."""
    if not reason.strip():
        raise ValidationError([FieldError("reason", "Give the reason for rejecting, for the record.")])
    with transaction(db):
        found = pending(db, submission_id)
        submission_store.set_submission_status(db, submission_id, "rejected")
        submission_store.add_review(db, submission_id, user["id"], "reject", reason.strip())
        if found["kind"] == "import":
            imports.mark_removing(db, submission_id)
    return found["kind"] == "import"


def reject(db: sqlite_utils.Database, submission_id: int, user: dict[str, Any], reason: str) -> None:
    """Reject, and remove an import's rows before returning (the CLI's and tests' way; the
    review page removes them in the background)."""
    if record_rejection(db, submission_id, user, reason):
        # Never published: its rows go, in short transactions (a large import's rows would
        # otherwise hold the write lock for seconds). If this stops half-way, the next
        # import, `registry init`, `registry serve` or `registry clean` finishes it.
        imports.finish_removal(db, submission_id)


def approve(
    settings: Settings,
    submission_id: int,
    user: dict[str, Any],
    note: str | None = None,
    person_name_reason: str | None = None,
) -> None:
    """Store the submission's records as approved and publish them, in one step. A new
    organisation whose name looks like a private person's needs `person_name_reason`, the
    reviewer's statement of why it is an organisation (registry.rules.persons)."""
    scope: list[tuple[str, int]] = []
    reason = (person_name_reason or "").strip() or None
    with publishing(settings, scope) as db:
        found = pending(db, submission_id)
        submission_store.set_submission_status(db, submission_id, "approved")
        submission_store.add_review(db, submission_id, user["id"], "approve", note)
        if found["kind"] == "import":
            _state_import_persons(db, submission_id, reason)
            counts = imports.approve_import(db, submission_id)
            audit_import(db, submission_id, found["reference"], counts, user, f"approved import {found['reference']}")
            return
        created = _store_payload(db, vocabulary_store.load_vocabulary(db), _with_reason(found["payload"], reason))
        scope += [("submissions", submission_id), *created]  # publish only what this changed
        reason = f"approved submission {found['reference']}"
        for table, row_id in created:
            submission_store.audit(
                db, table, row_id, "insert", user, None, submission_store.row(db, table, row_id), reason
            )
        scope += _link_breaches(db, [row_id for table, row_id in created if table == "relationships"], user, reason)


def _link_breaches(
    db: sqlite_utils.Database, relationship_ids: list[int], user: dict[str, Any], reason: str
) -> list[tuple[str, int]]:
    """Breaches that named a vendor and client before their relationship was in the
    registry link the new relationship (store/breaches.link_revealed); audited as updates."""
    linked: list[tuple[str, int]] = []
    for rel_id in relationship_ids:
        rel = submission_store.row(db, "relationships", rel_id)
        assert rel is not None  # just stored
        before = {b["id"]: b for b in breach_store.unlinked_breaches(db, rel["vendor_id"], rel["client_id"])}
        for breach_id in breach_store.link_revealed(db, rel["vendor_id"], rel["client_id"]):
            after = submission_store.row(db, "breaches", breach_id)
            submission_store.audit(db, "breaches", breach_id, "update", user, before.get(breach_id), after, reason)
            linked.append(("breaches", breach_id))
    return linked


def _state_import_persons(db: sqlite_utils.Database, submission_id: int, reason: str | None) -> None:
    """Record the reviewer's statement on an import's person-like names, or refuse without one."""
    flagged = unstated_import_persons(db, submission_id)
    if flagged and reason is None:
        names = "; ".join(name for _, name in flagged[:10]) + (
            f"; and {len(flagged) - 10} more" if len(flagged) > 10 else ""
        )
        raise ReviewError(
            f"{len(flagged)} new organisation(s) look like a private person's name ({names}): the registry never "
            f"publishes people as organisations. Say why they are organisations {REVIEW_FIELD}, or reject the import."
        )
    if flagged and reason is not None:
        imports.state_person_name_reason(db, [org_id for org_id, _ in flagged], reason)


def _with_reason(payload: dict[str, Any], reason: str | None) -> dict[str, Any]:
    """The payload with the reviewer's statement on each new organisation that looks like a person's;
    ReviewError when one has none."""
    organisations = []
    for org in payload.get("organisations", []):
        if unstated_person(org["name"], org.get("person_name_reason")):
            if reason is None:
                raise ReviewError(person_name_warning(org["name"], REVIEW_FIELD + " below, or reject the submission"))
            org = {**org, "person_name_reason": reason}
        organisations.append(org)
    return {**payload, "organisations": organisations}


def audit_import(
    db: sqlite_utils.Database,
    submission_id: int,
    reference: str,
    counts: dict[str, int],
    user: dict[str, Any],
    why: str,
) -> None:
    """One audit entry for an approved import, under its submission: how many rows each table got."""
    rows = {table: count for table, count in counts.items() if count}
    submission_store.audit(
        db, "submissions", submission_id, "insert", user, None, {"submission": reference, "rows": rows}, why
    )


def _store_payload(db: sqlite_utils.Database, vocabulary: Vocabulary, payload: dict[str, Any]) -> list[tuple[str, int]]:
    """Validate the payload again (vocabularies may have changed) and store it approved."""
    created: list[tuple[str, int]] = []
    steps: list[tuple[str, Callable[[Any], Any], Callable[..., int]]] = [
        ("sources", build_source, record_store.save_source),
        ("organisations", lambda d: build_organisation(d, vocabulary), record_store.save_organisation),
        ("disclosures", lambda d: build_disclosure(d, vocabulary), record_store.save_disclosure),
    ]
    for table, build, save in steps:
        for item in payload.get(table, []):
            if lookups.slug_taken(db, table, item["slug"]):
                raise ReviewError(f"'{item['slug']}' is in {table} already (approved meanwhile?): edit the submission.")
            created.append((table, save(db, build(item), "approved")))
    for item in payload.get("relationships", []):
        record = build_relationship(item, vocabulary)
        for slug in (record.vendor, record.client):
            org = lookups.organisation(db, record_store.id_for(db, "organisations", slug))
            if org is None:
                raise ReviewError(f"The organisation '{slug}' is no longer published: edit the submission.")
        existing = lookups.relationship_with_identity(
            db,
            record_store.id_for(db, "organisations", record.vendor),
            record_store.id_for(db, "organisations", record.client),
            record_store.id_for(db, "disclosures", record.disclosure) if record.disclosure else None,
            record.product,
        )
        if existing is not None:
            raise ReviewError(f"This relationship is in the registry already, as number {existing}.")
        rel_id = record_store.save_relationship(db, record, "approved")
        created.append(("relationships", rel_id))
    created += _store_breaches(db, vocabulary, payload)
    for item in payload.get("responses", []):
        response = build_response(item, vocabulary)
        column = next(c for c in record_store.RESPONSE_SUBJECTS if item.get(c))
        key = (item[column], record_store.id_for(db, "organisations", response.organisation),
               record_store.id_for(db, "sources", response.source))  # fmt: skip
        if lookups.response_exists(db, *key, subject=column):
            raise ReviewError("That organisation's response from that source is published already: edit the source.")
        created.append(("responses", record_store.save_response(db, item[column], response, "approved", column)))
    for item in payload.get("observations", []):
        figure = build_observation(item)
        column = next(c for c in record_store.OBSERVATION_SUBJECTS if item.get(c))
        identity = {**vars(figure), "source_id": record_store.id_for(db, "sources", figure.source)}
        if lookups.observation_exists(db, column, item[column], identity):
            raise ReviewError("That figure from that place in that source is published already: edit the submission.")
        created.append(("observations", record_store.save_observation(db, column, item[column], figure, "approved")))
    return created


def _store_breaches(
    db: sqlite_utils.Database, vocabulary: Vocabulary, payload: dict[str, Any]
) -> list[tuple[str, int]]:
    """Store the payload's breaches approved, once their organisations are still published."""
    created = []
    for item in payload.get("breaches", []):
        record = build_breach(item, vocabulary)
        if breach_store.breach_slug_taken(db, record.slug):
            raise ReviewError(f"'{record.slug}' is in breaches already (approved meanwhile?): edit the submission.")
        for slug in filter(None, (record.organisation, record.vendor)):
            if lookups.organisation(db, record_store.id_for(db, "organisations", slug)) is None:
                raise ReviewError(f"The organisation '{slug}' is no longer published: edit the submission.")
        created.append(("breaches", breach_store.save_breach(db, record, "approved")))
    return created
