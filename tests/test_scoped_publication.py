"""An approval publishes only what it changed (registry/store/scoped_sync.py): after every
kind of approval, a full comparison of every public table finds nothing left to publish.
Breaches, responses to a disclosure or a breach and figures on an organisation or a breach
are approved the same way in tests/test_breaches.py (with `approved_in_turn` from here)."""

from __future__ import annotations

import pytest

from registry.store import public
from registry.store.connection import connect
from tests.conftest import post_form, query, text
from tests.test_review import assert_rebuild_matches, check_passes, submit_relationship
from tests.test_submit import DISCLOSURE, ORGANISATION, org_id, response_data


def full_sync_changes(settings) -> dict[str, dict[str, int]]:
    """What a full `public.sync` would still change (run in a transaction rolled back)."""
    db = connect(settings.intake_db)
    public.attach(db, settings.registry_db, "pub")
    try:
        db.execute("BEGIN IMMEDIATE")
        changes = public.sync(db, public="pub", intake="main")
        db.execute("ROLLBACK")
    finally:
        db.close()
    return {table: counts for table, counts in changes.items() if any(counts.values())}


def submit(client, kind: str, data: dict) -> int:
    response = post_form(client, f"/submit/{kind}", data)
    assert response.status_code == 303, text(response)
    return query_last_submission(client)


def query_last_submission(client) -> int:
    settings = client.application.config["SETTINGS"]
    return query(settings.intake_db, "select id from submissions order by id desc limit 1")[0][0]


def approve(client, submission_id: int) -> None:
    url = f"/review/submissions/{submission_id}"
    response = post_form(client, f"{url}/approve", {}, form_url=url)
    assert response.status_code == 303, text(response)
    assert response.headers["Location"].endswith("/review"), text(client.get(response.headers["Location"]))


@pytest.fixture
def approved_in_turn(reviewer_client, seeded):
    """Approve a submission, then prove a full comparison finds nothing more to publish."""

    def run(submission_id: int) -> None:
        assert full_sync_changes(seeded) == {}  # nothing pending before
        approve(reviewer_client, submission_id)
        assert full_sync_changes(seeded) == {}

    return run


def test_every_kind_of_approval_publishes_all_it_changed_and_no_more(
    reviewer_client, seeded, approved_in_turn, tmp_path
):
    client = reviewer_client
    # An organisation with aliases, an identifier-free parent link to nothing: its own rows.
    approved_in_turn(submit(client, "organisation", {**ORGANISATION, "aliases": "OAP\nOrlando Airport PD"}))
    assert query(seeded.registry_db, "select count(*) from organisation_aliases a join organisations o "
                 "on o.id = a.organisation_id where o.name = 'Orlando Airport Police'") == [(2,)]  # fmt: skip

    # A disclosure, then a relationship it revealed with an existing, busy client (Walmart):
    # the disclosure's published count, the client's row and its relationships are derived.
    approved_in_turn(submit(client, "disclosure", {**DISCLOSURE, "reported_count": "5,152"}))
    disclosure_id = query(seeded.intake_db, "select id from disclosures where title = ?", [DISCLOSURE["title"]])[0][0]
    before = query(seeded.registry_db, "select published_count from disclosures where id = ?", [disclosure_id])
    assert before == [(0,)]
    walmart = org_id(seeded, "walmart")
    relationship = submit_relationship(
        client,
        seeded,
        **{
            "client-id": str(walmart),
            "client-name": "Walmart",
            "client-kind": "company",
            "client-sector": "retail",
            "disclosure": str(disclosure_id),
            "product": "Flock Falcon",
            "source-title": "Walmart's Flock portal",
        },
    )
    approved_in_turn(relationship)
    after = query(seeded.registry_db, "select published_count from disclosures where id = ?", [disclosure_id])
    assert after == [(1,)]

    # A relationship with a new client and a new source.
    approved_in_turn(submit_relationship(client, seeded))
    assert query(seeded.registry_db, "select count(*) from relationships where client = ?",
                 ["Sylvania Police Department"]) == [(1,)]  # fmt: skip

    # A source alone, then a response by Walmart citing a new source: the relationship's
    # response count changes with it.
    approved_in_turn(submit(client, "source", {"source-title": "DEA emails", "source-language": "en"}))
    counts = "select response_count from relationships r where r.id = ?"
    rel_id = int(response_data(seeded)["relationship_id"])
    responses_before = query(seeded.registry_db, counts, [rel_id])[0][0]
    approved_in_turn(submit(client, "response", response_data(seeded)))
    assert query(seeded.registry_db, counts, [rel_id]) == [(responses_before + 1,)]

    assert_rebuild_matches(seeded, tmp_path)
    check_passes()
