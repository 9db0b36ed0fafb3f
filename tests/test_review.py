"""Reviewers: access, approve (publishes at once), reject, edit, merge, withdraw, audit."""

from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner

from registry.cli import cli
from registry.services import approval, curation, publisher
from registry.services.approval import ReviewError
from registry.store.connection import connect
from registry.store.schema import declared_columns, table_rows
from tests.conftest import dump, invoke, post_form, query, text
from tests.test_submit import org_id


def submit_relationship(client, seeded, **changes):
    data = {
        "vendor-id": str(org_id(seeded, "clearview-ai")),
        "vendor-name": "Clearview AI",
        "client-name": "Sylvania Police Department",
        "client-kind": "public-agency",
        "client-sector": "law-enforcement",
        "client-country": "US",
        "arrangement": "unknown",
        "start_date": "2019",
        "summary": "The Sylvania Police Department appears on the client list.",
        "source-title": "Client list as published",
        "source-language": "en",
        "locator": "row 1312",
        "submitter_contact": "private.person@example.org",
        **changes,
    }
    response = post_form(client, "/submit/relationship", data)
    assert response.status_code == 303, text(response)
    return query(seeded.intake_db, "select id from submissions order by id desc limit 1")[0][0]


def assert_rebuild_matches(settings, tmp_path):
    snapshot = tmp_path / "rebuilt.db"
    publisher.rebuild(settings, snapshot)
    live, fresh = connect(settings.registry_db), connect(snapshot)
    for table in declared_columns("registry"):
        assert table_rows(live, table) == table_rows(fresh, table), table


def check_passes():
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/review"),
        ("get", "/review/submissions/1"),
        ("post", "/review/submissions/1/approve"),
        ("post", "/review/submissions/1/reject"),
        ("post", "/review/submissions/1/edit"),
        ("get", "/review/organisations/merge"),
        ("get", "/review/relationships"),
        ("post", "/review/relationships/1"),
        ("get", "/review/audit"),
    ],
)
def test_anonymous_contributors_cannot_reach_review_pages(client, seeded, method, url):
    submit_relationship(client, seeded)
    before = dump(seeded.intake_db), dump(seeded.registry_db)
    response = getattr(client, method)(url)
    assert response.status_code in (302, 400)  # sent to log in, or refused for want of a CSRF token
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/login?next=")
    assert (dump(seeded.intake_db), dump(seeded.registry_db)) == before


def test_anonymous_post_with_a_valid_token_still_cannot_approve(client, seeded):
    submission_id = submit_relationship(client, seeded)
    response = post_form(client, f"/review/submissions/{submission_id}/approve", {}, form_url="/submit/relationship")
    assert response.status_code == 302
    assert query(seeded.intake_db, "select status from submissions") == [("pending",)]


def test_wrong_password_is_refused(client, reviewer):
    response = post_form(client, "/login", {"name": "alice", "password": "wrong password!"})
    assert response.status_code == 200
    assert "Wrong account name or password." in text(response)
    assert client.get("/review").status_code == 302


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"]
)
def test_login_never_redirects_off_site(client, reviewer, target):
    page = client.get("/login").get_data(as_text=True)
    from tests.conftest import hidden_fields

    response = client.post(
        f"/login?next={target}", data={**hidden_fields(page), "name": "alice", "password": reviewer["password"]}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/review"


def test_queue_shows_pending_oldest_first_with_duplicates(reviewer_client, seeded):
    first = submit_relationship(reviewer_client, seeded)
    submit_relationship(
        reviewer_client, seeded, **{"client-name": "Wells Fargo Advisors", "client-sector": "banking-finance"}
    )
    page = text(reviewer_client.get("/review"))
    assert page.index("Sylvania Police Department") < page.index("Wells Fargo Advisors")
    detail = text(reviewer_client.get(f"/review/submissions/{first + 1}"))
    assert f'data-organisation-id="{org_id(seeded, "wells-fargo")}"' in detail
    assert "New organisation: Wells Fargo Advisors (Public agency, Banking and finance)" in detail
    assert "private.person@example.org" in detail  # reviewers may see the contact; it is never published


def test_approve_publishes_at_once_and_matches_a_rebuild(reviewer_client, seeded, tmp_path):
    submission_id = submit_relationship(reviewer_client, seeded)
    response = post_form(reviewer_client, f"/review/submissions/{submission_id}/approve", {"note": "checked row 1312"},
                         form_url=f"/review/submissions/{submission_id}")  # fmt: skip
    assert response.status_code == 303
    rows = query(
        seeded.registry_db,
        "select vendor, client_sector, client_country, arrangement from relationships where client = ?",
        ["Sylvania Police Department"],
    )
    assert rows == [("Clearview AI", "Law enforcement", "United States", "Unknown")]
    assert query(seeded.intake_db, "select status from submissions") == [("approved",)]
    audited = query(seeded.intake_db, "select table_name, action, actor from audit_log order by id")
    assert ("relationships", "insert", "alice") in audited
    assert ("organisations", "insert", "alice") in audited
    assert_rebuild_matches(seeded, tmp_path)
    check_passes()
    assert "private.person" not in "".join(dump(seeded.registry_db))
    assert "checked row 1312" not in "".join(dump(seeded.registry_db))


def test_approving_twice_changes_nothing_more(reviewer_client, seeded):
    submission_id = submit_relationship(reviewer_client, seeded)
    url, page = f"/review/submissions/{submission_id}/approve", f"/review/submissions/{submission_id}"
    assert post_form(reviewer_client, url, {}, form_url=page).status_code == 303
    before = dump(seeded.intake_db), dump(seeded.registry_db)
    with pytest.raises(approval.ReviewError, match="was already approved"):
        approval.approve(seeded, submission_id, {"id": 1, "name": "alice"})
    assert (dump(seeded.intake_db), dump(seeded.registry_db)) == before


def test_failed_approval_leaves_both_databases_as_they_were(reviewer_client, seeded):
    submission_id = submit_relationship(reviewer_client, seeded)
    # Meanwhile another reviewer approved an organisation with the same slug.
    conn = sqlite3.connect(seeded.intake_db)
    conn.execute(
        "insert into organisations (slug, name, name_key, kind, sector, status, created_at, updated_at) "
        "values ('sylvania-police-department', 'Sylvania PD', 'sylvania police department', 'public-agency', "
        "'law-enforcement', 'approved', '2026-01-01', '2026-01-01')"
    )
    conn.commit()
    conn.close()
    before = dump(seeded.intake_db), dump(seeded.registry_db)
    response = post_form(reviewer_client, f"/review/submissions/{submission_id}/approve", {},
                         form_url=f"/review/submissions/{submission_id}")  # fmt: skip
    assert response.status_code == 303
    assert "Not approved" in text(reviewer_client.get(response.headers["Location"]))
    assert (dump(seeded.intake_db), dump(seeded.registry_db)) == before


def test_reject_needs_a_reason_and_publishes_nothing(reviewer_client, seeded):
    submission_id = submit_relationship(reviewer_client, seeded)
    before = dump(seeded.registry_db)
    url, page = f"/review/submissions/{submission_id}/reject", f"/review/submissions/{submission_id}"
    post_form(reviewer_client, url, {"reason": ""}, form_url=page)
    assert query(seeded.intake_db, "select status from submissions") == [("pending",)]
    post_form(reviewer_client, url, {"reason": "The source does not name Sylvania."}, form_url=page)
    assert query(seeded.intake_db, "select status from submissions") == [("rejected",)]
    assert query(seeded.intake_db, "select decision, note from reviews") == [
        ("reject", "The source does not name Sylvania.")
    ]
    assert dump(seeded.registry_db) == before


def test_edit_before_approving_changes_the_payload(reviewer_client, seeded):
    submission_id = submit_relationship(reviewer_client, seeded)
    page = f"/review/submissions/{submission_id}"
    payload = json.loads(query(seeded.intake_db, "select payload from submissions")[0][0])
    form = {k: "" if v is None else v for k, v in payload["form"].items() if not isinstance(v, dict)}
    for group in ("vendor", "client", "source"):
        form |= {f"{group}-{k}": "" if v is None else v for k, v in payload["form"][group].items()}
    form["client-is_new"] = "y" if form.pop("client-is_new") else ""
    bad = post_form(reviewer_client, f"{page}/edit", {**form, "arrangement": "contract", "trial_days": "30"}, page)
    assert bad.status_code == 422
    assert "a trial length only applies to a trial" in text(bad)
    good = post_form(reviewer_client, f"{page}/edit", {**form, "arrangement": "pitch"}, page)
    assert good.status_code == 303
    payload = json.loads(query(seeded.intake_db, "select payload from submissions")[0][0])
    assert payload["relationships"][0]["arrangement"] == "pitch"
    assert query(seeded.intake_db, "select decision from reviews") == [("edit",)]


def approve_new_client(client, seeded, name="Sylvania Police Department"):
    submission_id = submit_relationship(client, seeded, **{"client-name": name})
    page = f"/review/submissions/{submission_id}"
    assert post_form(client, f"{page}/approve", {}, form_url=page).status_code == 303
    return query(seeded.intake_db, "select id from organisations where name = ?", [name])[0][0]


def test_merge_moves_relationships_adds_alias_and_redirects(reviewer_client, seeded, tmp_path):
    duplicate = approve_new_client(reviewer_client, seeded, "Walmart Inc.")
    walmart = org_id(seeded, "walmart")
    response = post_form(
        reviewer_client,
        "/review/organisations/merge",
        {"survivor_id": walmart, "other_id": duplicate, "decision": "merge", "reason": "Same retailer."},
    )
    assert response.status_code == 303
    assert query(
        seeded.registry_db, "select organisation_id from organisation_redirects where old_id = ?", [duplicate]
    ) == [(walmart,)]
    assert ("Walmart Inc.",) in query(
        seeded.registry_db, "select alias from organisation_aliases where organisation_id = ?", [walmart]
    )
    assert query(seeded.registry_db, "select count(*) from organisations where id = ?", [duplicate]) == [(0,)]
    # Walmart had a Clearview relationship from the breach; the merged one (no disclosure) moved over.
    assert query(seeded.registry_db, "select count(*) from relationships where client_id = ?", [walmart]) == [(2,)]
    assert query(seeded.intake_db, "select decision, reason from organisation_decisions") == [
        ("merge", "Same retailer.")
    ]
    assert ("organisations", duplicate, "merge") in query(
        seeded.intake_db, "select table_name, row_id, action from audit_log"
    )
    assert_rebuild_matches(seeded, tmp_path)
    check_passes()


def test_not_same_is_recorded(reviewer_client, seeded):
    response = post_form(
        reviewer_client,
        "/review/organisations/merge",
        {"survivor_id": org_id(seeded, "wells-fargo"), "other_id": org_id(seeded, "walmart"), "decision": "not-same",
         "reason": "Different companies."},
    )  # fmt: skip
    assert response.status_code == 303
    assert query(seeded.intake_db, "select decision from organisation_decisions") == [("not-same",)]
    check_passes()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"other_id": "999999"}, "No published organisation has number 999999."),
        ({"reason": ""}, "Say why, for the record."),
        ({"decision": ""}, "Choose merge or not the same."),
    ],
)
def test_merge_rejects_bad_input(reviewer_client, seeded, data, message):
    base = {"survivor_id": org_id(seeded, "walmart"), "other_id": org_id(seeded, "kohls"), "decision": "merge",
            "reason": "Test."}  # fmt: skip
    before = dump(seeded.intake_db), dump(seeded.registry_db)
    response = post_form(reviewer_client, "/review/organisations/merge", {**base, **data})
    assert response.status_code == 422
    assert message in text(response)
    assert (dump(seeded.intake_db), dump(seeded.registry_db)) == before


def test_withdraw_leaves_registry_keeps_history(reviewer_client, seeded, tmp_path):
    rel_id = query(
        seeded.intake_db,
        "select r.id from relationships r join organisations c on c.id = r.client_id where c.slug = 'equinox'",
    )[0][0]
    url = f"/review/relationships/{rel_id}"
    assert post_form(reviewer_client, url, {"reason": ""}).status_code == 422
    assert post_form(reviewer_client, url, {"reason": "Not on the list.", "public_reason": ""}).status_code == 422
    notice = {"public_reason": "The list does not name this client."}
    response = post_form(reviewer_client, url, {"reason": "Equinox is not on the list after all.", **notice})
    assert response.status_code == 303
    assert query(seeded.registry_db, "select count(*) from relationships where id = ?", [rel_id]) == [(0,)]
    assert query(seeded.intake_db, "select status from relationships where id = ?", [rel_id]) == [("withdrawn",)]
    audit = text(reviewer_client.get(f"/review/audit?table=relationships&row_id={rel_id}"))
    assert "Equinox is not on the list after all." in audit
    assert "withdraw" in audit
    assert_rebuild_matches(seeded, tmp_path)
    check_passes()
    assert invoke("publish", "--rebuild").exit_code == 0
    assert query(seeded.registry_db, "select count(*) from relationships where id = ?", [rel_id]) == [(0,)]


def test_create_user_command(instance):
    invoke("init")
    result = CliRunner().invoke(
        cli, ["create-user", "bob", "--role", "reviewer"], input="a long enough password\na long enough password\n"
    )
    assert result.exit_code == 0, result.output
    (stored,) = query(instance.intake_db, "select password_hash from users where name = 'bob'")[0]
    assert stored.startswith("$argon2id$")
    assert "a long enough password" not in stored
    again = CliRunner().invoke(cli, ["create-user", "bob", "--role", "admin", "--password", "another long password"])
    assert again.exit_code == 1
    assert "an account called 'bob' exists already" in again.output
    short = CliRunner().invoke(cli, ["create-user", "carol", "--role", "admin", "--password", "short"])
    assert "password: at least 12 characters" in short.output


def test_session_cookie_is_httponly_and_samesite(client, reviewer):
    response = post_form(client, "/login", {"name": "alice", "password": reviewer["password"]})
    # the session's cookie (login also sets a device cookie: tests/test_sessions.py)
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_logout_ends_the_session(reviewer_client):
    assert reviewer_client.get("/review").status_code == 200
    response = post_form(reviewer_client, "/logout", {}, form_url="/review")
    assert response.status_code == 303
    assert reviewer_client.get("/review").status_code == 302


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/review/submissions/{id}/reject", {"reason": "spam"}),
        ("/review/submissions/{id}/edit", {"summary": "changed"}),
        ("/review/relationships/1", {"reason": "withdrawn by a stranger", "public_reason": "Withdrawn."}),
        ("/review/organisations/merge", {"survivor_id": "1", "other_id": "2", "decision": "merge", "reason": "x"}),
    ],
)
def test_anonymous_posts_with_valid_tokens_change_nothing(client, seeded, url, data):
    submission_id = submit_relationship(client, seeded)
    before = dump(seeded.intake_db), dump(seeded.registry_db)
    response = post_form(client, url.format(id=submission_id), data, form_url="/submit/relationship")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert (dump(seeded.intake_db), dump(seeded.registry_db)) == before


def test_a_response_never_overwrites_a_published_one(reviewer_client, seeded):
    rel_id, source_id = query(
        seeded.intake_db,
        "select re.relationship_id, re.source_id from responses re join organisations o on o.id = re.organisation_id "
        "where o.slug = 'coinbase'",
    )[0]
    data = {"relationship_id": rel_id, "organisation": "client", "kind": "denied", "summary": "Coinbase denied it.",
            "source-id": source_id, "source-title": "existing", "locator": "paragraph 1"}  # fmt: skip
    assert post_form(reviewer_client, "/submit/response", data).status_code == 303
    submission_id = query(seeded.intake_db, "select max(id) from submissions")[0][0]
    before = dump(seeded.registry_db)
    page = f"/review/submissions/{submission_id}"
    response = post_form(reviewer_client, f"{page}/approve", {}, form_url=page)
    assert "published already" in text(reviewer_client.get(response.headers["Location"]))
    assert dump(seeded.registry_db) == before
    assert query(seeded.registry_db, "select kind from responses where relationship_id = ?", [rel_id]) == [
        ("confirmed",)
    ]


def test_merge_never_folds_a_published_relationship_into_a_withdrawn_one(reviewer_client, seeded):
    clearview_list = query(seeded.intake_db, "select id from disclosures where slug = 'clearview-client-list-2020'")[0][
        0
    ]
    duplicate = approve_new_client(reviewer_client, seeded, "Walmart Stores")
    conn = sqlite3.connect(seeded.intake_db)
    conn.execute("update relationships set disclosure_id = ? where client_id = ?", [clearview_list, duplicate])
    conn.commit()
    conn.close()
    invoke("publish")
    walmart = org_id(seeded, "walmart")
    rel = query(seeded.intake_db, "select id from relationships where client_id = ?", [walmart])[0][0]
    withdrawal = {"reason": "Wrong row.", "public_reason": "Withdrawn."}
    assert post_form(reviewer_client, f"/review/relationships/{rel}", withdrawal).status_code == 303
    post_form(reviewer_client, "/review/organisations/merge",
              {"survivor_id": walmart, "other_id": duplicate, "decision": "merge", "reason": "Same."})  # fmt: skip
    assert query(seeded.registry_db, "select count(*) from relationships where client_id = ?", [walmart]) == [(1,)]
    check_passes()


def test_an_old_id_resolves_to_the_surviving_organisation(reviewer_client, seeded):
    kohls, walmart = org_id(seeded, "kohls"), org_id(seeded, "walmart")
    post_form(reviewer_client, "/review/organisations/merge",
              {"survivor_id": walmart, "other_id": kohls, "decision": "merge", "reason": "Test."})  # fmt: skip
    submission_id = submit_relationship(
        reviewer_client, seeded, **{"vendor-id": str(org_id(seeded, "amazon")), "client-id": str(kohls)}
    )
    payload = json.loads(query(seeded.intake_db, "select payload from submissions where id = ?", [submission_id])[0][0])
    assert payload["relationships"][0]["client"] == "walmart"
    page = f"/review/submissions/{submission_id}"
    post_form(reviewer_client, f"{page}/approve", {}, form_url=page)
    assert query(seeded.registry_db, "select count(*) from relationships where vendor = 'Amazon' and client_id = ?",
                 [walmart]) == [(1,)]  # fmt: skip


def test_merging_a_parent_into_its_child_leaves_no_loop(reviewer_client, seeded):
    doj, dea = org_id(seeded, "us-department-of-justice"), org_id(seeded, "dea")
    post_form(reviewer_client, "/review/organisations/merge",
              {"survivor_id": dea, "other_id": doj, "decision": "merge", "reason": "Test."})  # fmt: skip
    assert query(seeded.intake_db, "select parent_id from organisations where id = ?", [dea]) == [(None,)]
    check_passes()


def test_seed_after_a_merge_changes_nothing_published(reviewer_client, seeded):
    post_form(reviewer_client, "/review/organisations/merge",
              {"survivor_id": org_id(seeded, "nba"), "other_id": org_id(seeded, "ice"), "decision": "merge",
               "reason": "Test."})  # fmt: skip
    before = published(seeded.registry_db)
    assert invoke("seed").exit_code == 0
    assert invoke("publish").exit_code == 0
    assert published(seeded.registry_db) == before
    check_passes()


def published(path) -> list[str]:
    """The registry's dump less the planner's statistics, which a publication may refresh
    (PRAGMA optimize analyses organisation_redirects once a merge has given it a row)."""
    return [line for line in dump(path) if not line.startswith('INSERT INTO "sqlite_stat1"')]


@pytest.mark.parametrize("big", ["9" * 25, str(2**63)])
def test_huge_numbers_are_answered_not_crashed(reviewer_client, seeded, big):
    response = post_form(reviewer_client, "/submit/relationship", {"vendor-id": big, "vendor-name": "x"})
    assert response.status_code == 422
    assert reviewer_client.get(f"/review/submissions/{big}").status_code == 404
    assert reviewer_client.get(f"/review/relationships/{big}").status_code == 404
    assert reviewer_client.get(f"/review/audit?table=relationships&row_id={big}").status_code == 200
    assert reviewer_client.get(f"/review/organisations/merge?survivor_id={big}").status_code == 200


def test_names_in_other_scripts_are_accepted(client, seeded):
    data = {"name": "Полиция Москвы", "kind": "public-agency", "sector": "law-enforcement", "country": "RU"}
    assert post_form(client, "/submit/organisation", data).status_code == 303
    payload = json.loads(query(seeded.intake_db, "select payload from submissions")[0][0])
    assert payload["organisations"][0]["name"] == "Полиция Москвы"
    assert payload["organisations"][0]["slug"] == "org"


def test_a_one_word_submitter_name_does_not_fail_the_check(client, seeded):
    submit_relationship(client, seeded, submitter_name="Jordan")
    check_passes()


def test_approval_without_registry_db_is_refused_cleanly(reviewer_client, seeded):
    submission_id = submit_relationship(reviewer_client, seeded)
    seeded.registry_db.unlink()
    page = f"/review/submissions/{submission_id}"
    response = post_form(reviewer_client, f"{page}/approve", {}, form_url=page)
    assert response.status_code == 303
    assert not seeded.registry_db.exists()
    assert query(seeded.intake_db, "select status from submissions") == [("pending",)]


def test_an_approved_relationship_is_found_by_search_at_once(reviewer_client, seeded, tmp_path):
    submission_id = submit_relationship(reviewer_client, seeded)
    page = f"/review/submissions/{submission_id}"
    assert post_form(reviewer_client, f"{page}/approve", {}, form_url=page).status_code == 303
    found = query(
        seeded.registry_db,
        "select r.client from relationships_fts f join relationships r on r.id = f.rowid "
        "where relationships_fts match 'sylvania'",
    )
    assert found == [("Sylvania Police Department",)]
    assert_rebuild_matches(seeded, tmp_path)
    check_passes()


def test_a_long_queue_is_shown_a_page_at_a_time_oldest_first(reviewer_client, seeded):
    conn = sqlite3.connect(seeded.intake_db)
    with conn:
        conn.executemany(
            "insert into submissions (reference, kind, status, payload, created_at) values (?, 'organisation', "
            "'pending', ?, ?)",
            [
                (f"S-{n:010X}", json.dumps({"organisations": [{"name": f"Queued Agency {n:03d}"}]}),
                 f"2026-01-01T00:{n // 60:02d}:{n % 60:02d}Z")
                for n in range(230)
            ],
        )  # fmt: skip
    conn.close()
    first = text(reviewer_client.get("/review"))
    assert "230 pending submissions, oldest first; showing 1 to 100." in first
    assert "Queued Agency 000" in first and "Queued Agency 099" in first and "Queued Agency 100" not in first
    assert "Page 1 of 3" in first and 'rel="next" href="/review?page=2"' in first
    last = text(reviewer_client.get("/review?page=3"))
    assert "showing 201 to 230." in last and "Queued Agency 229" in last and "Queued Agency 199" not in last
    assert 'rel="prev"' in last and 'rel="next"' not in last
    for wild in ("0", "-5", "abc", "99999999999999999999"):
        assert reviewer_client.get(f"/review?page={wild}").status_code == 200, wild


def test_a_merge_from_a_stale_page_is_refused(reviewer_client, seeded, reviewer):
    """After Kohl's is merged into Walmart, a merge naming Kohl's' old number must not
    merge Walmart (which the old number now resolves to)."""
    walmart, kohls, wells = (org_id(seeded, s) for s in ("walmart", "kohls", "wells-fargo"))
    user = {"id": reviewer["id"], "name": "alice"}
    curation.merge(seeded, walmart, kohls, user, "Same test.")
    before = dump(seeded.intake_db)
    with pytest.raises(ReviewError, match=f"Organisation {kohls} was merged into {walmart}"):
        curation.merge(seeded, wells, kohls, user, "Stale page.")
    with pytest.raises(ReviewError, match=f"Organisation {kohls} was merged into {walmart}"):
        curation.not_same(seeded, wells, kohls, user, "Stale page.")
    assert dump(seeded.intake_db) == before
    assert query(seeded.intake_db, "select status from organisations where id = ?", [walmart]) == [("approved",)]
