"""Links that never break: a merged organisation's old address redirects to the one
kept; a withdrawn relationship's address answers 410 Gone with its public notice, and
nothing private about the withdrawal reaches registry.db."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from registry.services import curation
from registry.services.approval import ReviewError
from registry.store.connection import connect
from registry.store.schema import text_cells
from tests.conftest import dump, invoke, post_form, query, text
from tests.test_datasette import ours
from tests.test_relationship_page import relationship_id
from tests.test_submit import org_id

PRIVATE_REASON = "Reviewer's note: the leak's row 1312 was misread, per Sam's call"
PUBLIC_NOTICE = "The source does not name this client: it was listed in error."


def every_text(path) -> str:
    db = connect(path, readonly=True)
    try:
        return "\n".join(cell for table in db.table_names() for _, cell in text_cells(db, table))
    finally:
        db.close()


async def test_a_merged_organisations_old_address_redirects_to_the_one_kept(seeded, reviewer):
    walmart, kohls = org_id(seeded, "walmart"), org_id(seeded, "kohls")
    curation.merge(seeded, walmart, kohls, reviewer, "Test: the same company.")
    assert invoke("publish").exit_code == 0
    client = ours(seeded.registry_db).client
    old = await client.get(f"/registry/organisations/{kohls}")
    assert old.status_code == 301
    assert old.headers["location"] == f"/registry/organisations/{walmart}"
    as_json = await client.get(f"/registry/organisations/{kohls}.json?_shape=objects")
    assert as_json.status_code == 301
    assert as_json.headers["location"] == f"/registry/organisations/{walmart}.json?_shape=objects"
    kept = await client.get(as_json.headers["location"])
    assert kept.status_code == 200 and kept.json()["rows"][0]["name"] == "Walmart"
    assert invoke("check").exit_code == 0


async def test_addresses_that_never_existed_stay_404_and_found_rows_pass_through(seeded):
    client = ours(seeded.registry_db).client
    for path in ("/registry/organisations/999999", "/registry/relationships/999999",
                 "/registry/relationships/999999.json", "/registry/organisations/999999999999999999"):  # fmt: skip
        assert (await client.get(path)).status_code == 404, path
    walmart = org_id(seeded, "walmart")
    assert (await client.get(f"/registry/organisations/{walmart}")).status_code == 200


@pytest.fixture
def withdrawn(seeded, reviewer):
    rel = relationship_id(seeded, "clearview-ai", "coinbase")
    curation.withdraw(seeded, rel, reviewer, PRIVATE_REASON, PUBLIC_NOTICE)
    return rel


async def test_a_withdrawn_relationship_answers_410_with_its_notice(seeded, withdrawn):
    client = ours(seeded.registry_db).client
    today = datetime.now(UTC).date()
    response = await client.get(f"/registry/relationships/{withdrawn}")
    assert response.status_code == 410
    assert f"<title>Relationship {withdrawn} withdrawn — Exposure registry</title>" in response.text
    assert PUBLIC_NOTICE in response.text.replace("&#39;", "'")
    assert f'<time datetime="{today.isoformat()}">{today.day} {today.strftime("%B")} {today.year}</time>' in (
        response.text
    )
    as_json = await client.get(f"/registry/relationships/{withdrawn}.json")
    assert as_json.status_code == 410
    data = as_json.json()
    assert (data["id"], data["public_reason"], data["withdrawn_at"][:10]) == (
        withdrawn,
        PUBLIC_NOTICE,
        today.isoformat(),
    )


def test_a_withdrawal_publishes_only_its_number_date_and_notice(seeded, withdrawn, reviewer):
    rows = query(seeded.registry_db, "select * from withdrawn_relationships")
    assert [(r[0], r[2]) for r in rows] == [(withdrawn, PUBLIC_NOTICE)]
    public = every_text(seeded.registry_db)
    assert PRIVATE_REASON not in public and "Sam's call" not in public
    assert reviewer["name"] not in public
    assert query(seeded.registry_db, "select count(*) from relationships where id = ?", [withdrawn]) == [(0,)]
    assert invoke("check").exit_code == 0  # incremental == rebuild, nothing private
    assert invoke("publish", "--rebuild").exit_code == 0
    assert query(seeded.registry_db, "select * from withdrawn_relationships") == rows


@pytest.mark.parametrize(
    ("private", "public", "message"),
    [
        (PRIVATE_REASON, "  ", "Give the public notice"),
        (PRIVATE_REASON, "x" * 1001, "at most 1000 characters"),
        (PRIVATE_REASON, f"Withdrawn. {PRIVATE_REASON.upper()}.", "repeats the private reason"),
    ],
)
def test_a_withdrawal_without_a_proper_public_notice_changes_nothing(seeded, reviewer, private, public, message):
    rel = relationship_id(seeded, "clearview-ai", "coinbase")
    before = dump(seeded.intake_db), dump(seeded.registry_db)
    with pytest.raises(ReviewError, match=message):
        curation.withdraw(seeded, rel, reviewer, private, public)
    assert (dump(seeded.intake_db), dump(seeded.registry_db)) == before


def test_a_short_private_reason_may_appear_in_the_notice(seeded, reviewer):
    """'Retracted' as the private reason does not forbid 'The source was retracted.' (too
    short to be told apart from ordinary words, `registry check` does not look for it)."""
    rel = relationship_id(seeded, "clearview-ai", "coinbase")
    curation.withdraw(seeded, rel, reviewer, "Retracted", "The source was retracted.")
    assert invoke("check").exit_code == 0


def test_the_review_page_withdraws_with_a_public_notice(seeded, reviewer_client):
    rel = relationship_id(seeded, "clearview-ai", "coinbase")
    url = f"/review/relationships/{rel}"
    missing = post_form(reviewer_client, url, {"reason": PRIVATE_REASON, "public_reason": ""})
    assert missing.status_code == 422
    assert "Give the notice readers will see" in text(missing)
    done = post_form(reviewer_client, url, {"reason": PRIVATE_REASON, "public_reason": PUBLIC_NOTICE})
    assert done.status_code == 303
    shown = text(reviewer_client.get(url))
    assert PUBLIC_NOTICE in shown and PRIVATE_REASON in shown  # the reviewer sees both
    conn = sqlite3.connect(seeded.intake_db)
    try:
        stored = conn.execute("select public_reason from relationship_withdrawals where relationship_id = ?", [rel])
        assert stored.fetchall() == [(PUBLIC_NOTICE,)]
    finally:
        conn.close()
