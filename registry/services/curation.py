"""Reviewers' changes to published data: merge organisations, record that two are not
the same, withdraw a relationship. Each publishes at once and is audited."""

from __future__ import annotations

from typing import Any

from registry.config import Settings
from registry.rules import limits
from registry.services.approval import ReviewError, publishing
from registry.store import curation, lookups, private
from registry.store import submissions as submission_store


def merge(settings: Settings, survivor_id: int, other_id: int, user: dict[str, Any], reason: str) -> None:
    """Merge `other` into `survivor`; its relationships, breaches, responses and figures
    move and its id keeps resolving."""
    if survivor_id == other_id:
        raise ReviewError("Choose two different organisations.")
    ids = (survivor_id, other_id)
    with publishing(settings, erase=True) as db:
        survivor, other = lookups.organisation(db, survivor_id), lookups.organisation(db, other_id)
        for number, found in ((survivor_id, survivor), (other_id, other)):
            _must_be_current(number, found)
        assert survivor is not None and other is not None  # _must_be_current raised otherwise
        for rel in curation.relationships_of(db, other_id):
            if {rel["vendor_id"], rel["client_id"]} == {survivor_id, other_id}:
                raise ReviewError(f"They are vendor and client of each other (relationship {rel['id']}): not merged.")
        if crossed := curation.breaches_between(db, survivor_id, other_id):
            raise ReviewError(f"One is the vendor whose breach exposed the other (breach {crossed[0]}): not merged.")
        before = {
            i: {**(submission_store.row(db, "organisations", i) or {}), **curation.organisation_links(db, i)}
            for i in ids
        }
        moved = curation.relationships_of(db, other_id)
        curation.merge_organisation(db, survivor, other)
        curation.record_decision(db, survivor_id, other_id, "merge", user["id"], reason)
        for org_id, old in before.items():
            new = {
                **(submission_store.row(db, "organisations", org_id) or {}),
                **curation.organisation_links(db, org_id),
            }
            submission_store.audit(db, "organisations", org_id, "merge", user, old, new, reason)
        for rel in moved:
            joined = curation.move_relationship(db, rel, other_id, survivor_id)
            why = reason if joined is None else f"{reason} (joined relationship {joined})"
            submission_store.audit(
                db,
                "relationships",
                rel["id"],
                "merge",
                user,
                rel,
                submission_store.row(db, "relationships", rel["id"]),
                why,
            )


def not_same(settings: Settings, org_id: int, other_id: int, user: dict[str, Any], reason: str) -> None:
    """Record that two organisations are different, so they are not proposed again."""
    if org_id == other_id:
        raise ReviewError("Choose two different organisations.")
    with publishing(settings) as db:
        for number in (org_id, other_id):
            _must_be_current(number, lookups.organisation(db, number))
        curation.record_decision(db, org_id, other_id, "not-same", user["id"], reason)


def _must_be_current(number: int, found: dict[str, Any] | None) -> None:
    """`lookups.organisation` follows merges: an id merged meanwhile (a stale page) would
    otherwise stand for its survivor, and the survivor would be merged instead."""
    if found is None:
        raise ReviewError(f"No published organisation has number {number}.")
    if found["id"] != number:
        raise ReviewError(f"Organisation {number} was merged into {found['id']} ({found['name']}): reload the page.")


def withdraw(settings: Settings, rel_id: int, user: dict[str, Any], reason: str, public_reason: str) -> None:
    """Take a relationship out of registry.db; it stays in intake.db with its history.

    `reason` is the reviewer's, kept in the audit log; `public_reason` is the notice
    readers see at the relationship's old address (published, with the date)."""
    reason, public_reason = reason.strip(), public_reason.strip()
    if not public_reason:
        raise ReviewError("Give the public notice readers will see at the relationship's address.")
    if len(public_reason) > limits.longest("relationship_withdrawals", "public_reason"):
        raise ReviewError(
            f"The public notice is too long: at most {limits.longest('relationship_withdrawals', 'public_reason')} "
            "characters."
        )
    if len(reason) >= private.shortest("audit_log", "reason") and reason.casefold() in public_reason.casefold():
        # `registry check` would rightly find the private reason in registry.db
        raise ReviewError("The public notice repeats the private reason: write it for readers, without review notes.")
    with publishing(settings, erase=True) as db:
        before = submission_store.row(db, "relationships", rel_id)
        if before is None or before["status"] != "approved":
            raise ReviewError(f"No published relationship has number {rel_id}.")
        curation.set_relationship_status(db, rel_id, "withdrawn")
        curation.record_withdrawal(db, rel_id, public_reason)
        submission_store.audit(
            db,
            "relationships",
            rel_id,
            "withdraw",
            user,
            before,
            submission_store.row(db, "relationships", rel_id),
            reason,
        )
