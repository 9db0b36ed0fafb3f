"""Breaches, responses to a disclosure or a breach, and figures about an organisation or a
breach: the forms, the review page, approval with its scoped publication, merges, the
seed loader and `registry check`."""

from __future__ import annotations

import json
import re
import shutil

import pytest
import yaml

from registry.services.seed import SeedError, read_seed
from registry.store import vocabulary as vocabulary_store
from registry.store.connection import connect
from tests.conftest import ROOT, dump, invoke, post_form, query, text
from tests.test_review import assert_rebuild_matches, check_passes, submit_relationship
from tests.test_scoped_publication import approve, approved_in_turn, full_sync_changes, submit
from tests.test_submit import count_submissions, one, org_id

__all__ = ["approved_in_turn"]  # a fixture, used by name

NOT_SEEDED = "slug <> 'clearview-ai-client-list-breach-2020'"  # the seed's own breach (seed/breaches.yml)


def disclosure_id(settings, slug: str) -> int:
    return one(settings.intake_db, "select id from disclosures where slug = ?", [slug])[0]


def breach_data(seeded, **changes) -> dict:
    """A breach of Clearview AI's client list, as a contributor would type it."""
    data = {
        "organisation-id": str(org_id(seeded, "clearview-ai")),
        "organisation-name": "Clearview AI",
        "title": "Theft of Clearview AI's client list",
        "start_date": "2020-02",
        "discovered_date": "2020-02",
        "notified_date": "2020-02-26",
        "affected_low": "2,200",
        "affected_unit": "records",
        "breach_types": ["unauthorised-access"],
        "data_kinds": ["client-list", "usage-records"],
        "media": ["network-server"],
        "verified": "y",
        "description": "An intruder gained access to Clearview AI's list of clients.",
        "disclosures": [str(disclosure_id(seeded, "clearview-client-list-2020"))],
        "source-title": "Clearview AI's entire client list stolen",
        "source-language": "en",
        "source-publisher": "The Daily Beast",
        "locator": "paragraph 1",
        "quote": "an intruder gained unauthorized access",
    }
    return {**data, **changes}


def test_breach_form_shows_checkbox_groups_and_stores_a_pending_submission(client, seeded):
    page = text(client.get("/submit/breach"))
    assert "<legend>Kinds of data exposed</legend>" in page
    assert 'type="checkbox"' in page and 'value="client-list"' in page
    response = post_form(client, "/submit/breach", breach_data(seeded))
    assert response.status_code == 303, text(response)
    payload = json.loads(one(seeded.intake_db, "select payload from submissions")[0])
    breach = payload["breaches"][0]
    assert (breach["organisation"], breach["affected_low"], breach["affected_high"]) == ("clearview-ai", 2200, 2200)
    assert breach["data_kinds"] == ["client-list", "usage-records"]
    assert breach["disclosures"] == ["clearview-client-list-2020"]
    assert breach["verified"] is True and breach["sensitive"] is False
    assert one(seeded.intake_db, f"select count(*) from breaches where {NOT_SEEDED}") == (0,)  # nothing before approval


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"start_date": "2020-03", "end_date": "2020-01"}, "end_date", "2020-01 is before start_date 2020-03"),
        ({"affected_low": "500", "affected_high": "100"}, "affected_high", "100 is below the lowest number affected"),
        ({"data_kinds": ["passwords"]}, "data_kinds", "'passwords' is not a valid choice"),
        ({"breach_types": ["burglary"]}, "breach_types", "'burglary' is not a valid choice"),
        ({"vendor-name": "Clearview AI"}, "vendor-name", "cannot be the organisation itself"),
        ({"affected_low": "12", "affected_unit": ""}, "affected_unit", "required"),
        ({"notified_date": "2019-12"}, "notified_date", "2019-12 is before discovered_date 2020-02"),
        ({"disclosures": ["999999"]}, "disclosures", "not a valid choice"),
        ({"locator": ""}, "locator", "Say where in the source"),
    ],
)
def test_breach_form_refuses_bad_input_naming_the_field(client, seeded, changes, field, message):
    if "vendor-name" in changes:
        changes = {**changes, "vendor-id": str(org_id(seeded, "clearview-ai"))}
    before = count_submissions(seeded)
    response = post_form(client, "/submit/breach", breach_data(seeded, **changes))
    assert response.status_code == 422
    assert message in text(response)
    assert f'id="{field}-errors"' in response.get_data(as_text=True)
    assert count_submissions(seeded) == before


def test_breach_form_lists_every_problem_at_once(client, seeded):
    bad = {"start_date": "2020-03", "end_date": "2020-01", "affected_low": "9", "affected_high": "3"}
    response = post_form(client, "/submit/breach", breach_data(seeded, **bad))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="end_date-errors"' in page and 'id="affected_high-errors"' in page


def test_approved_breach_is_published_with_its_links_and_only_what_it_changed(
    reviewer_client, seeded, approved_in_turn, tmp_path
):
    submission = submit(reviewer_client, "breach", breach_data(seeded))
    page = text(reviewer_client.get(f"/review/submissions/{submission}"))
    assert "Theft of Clearview AI's client list" in page
    assert "Client list; Usage records" in page  # labels, not codes
    assert "2,200 records" in page and "Clearview AI's client list (February 2020)" in page
    assert "New breach: Theft of Clearview AI's client list (Clearview AI)" in page
    approved_in_turn(submission)
    row = query(
        seeded.registry_db,
        "select organisation, breach_types, data_kinds, media, affected_low, verified, citation_count, "
        "start_year from breaches where " + NOT_SEEDED,
    )
    assert row == [("Clearview AI", '["Unauthorised access or disclosure"]', '["Client list","Usage records"]',
                    '["Network server"]', 2200, 1, 1, 2020)]  # fmt: skip
    breach = query(seeded.registry_db, "select id from breaches where " + NOT_SEEDED)[0][0]
    assert query(
        seeded.registry_db, "select disclosure_id from breaches_disclosures where breach_id = ?", [breach]
    ) == [(disclosure_id(seeded, "clearview-client-list-2020"),)]
    assert query(
        seeded.registry_db, "select data_kind from breaches_data_kinds where breach_id = ? order by 1", [breach]
    ) == [
        ("client-list",),
        ("usage-records",),
    ]
    assert query(seeded.registry_db, "select locator from breach_citations where breach_id = ?", [breach]) == [
        ("paragraph 1",)
    ]
    assert_rebuild_matches(seeded, tmp_path)
    check_passes()


def test_a_breach_of_a_new_organisation_through_a_new_vendor_publishes_both(
    reviewer_client, seeded, approved_in_turn, tmp_path
):
    new = {"organisation-id": "", "organisation-name": "Example Health Clinic", "organisation-kind": "company",
           "organisation-sector": "health", "organisation-country": "US", "vendor-name": "Example Billing LLC",
           "vendor-kind": "company", "vendor-sector": "technology", "vendor-country": "US", "disclosures": [],
           "title": "Example Billing's server breach", "data_kinds": ["health", "names"], "sensitive": "y"}  # fmt: skip
    submission = submit(reviewer_client, "breach", breach_data(seeded, **new))
    page = text(reviewer_client.get(f"/review/submissions/{submission}"))
    assert "Example Health Clinic <em>(new)</em>" in page and "Example Billing LLC <em>(new)</em>" in page
    approved_in_turn(submission)
    published = "select organisation, vendor, organisation_country, sensitive, relationship_id from breaches where "
    published += NOT_SEEDED
    assert query(seeded.registry_db, published) == [
        ("Example Health Clinic", "Example Billing LLC", "United States", 1, None)
    ]
    assert query(seeded.registry_db, "select count(*) from organisations where name like 'Example %'") == [(2,)]
    assert_rebuild_matches(seeded, tmp_path)


def test_a_vendor_links_the_one_relationship_it_has_with_the_organisation(reviewer_client, seeded):
    walmart, clearview = org_id(seeded, "walmart"), org_id(seeded, "clearview-ai")
    relationships = query(
        seeded.intake_db, "select id from relationships where vendor_id = ? and client_id = ?", [clearview, walmart]
    )
    assert len(relationships) == 1
    data = breach_data(
        seeded, **{"organisation-id": str(walmart), "organisation-name": "Walmart", "vendor-id": str(clearview),
                   "vendor-name": "Clearview AI", "title": "Walmart's use exposed by Clearview's breach"}
    )  # fmt: skip
    approve(reviewer_client, submit(reviewer_client, "breach", data))
    assert query(seeded.registry_db, "select vendor, relationship_id from breaches where " + NOT_SEEDED) == [
        ("Clearview AI", relationships[0][0])
    ]
    # With no relationship between them, the breach names the vendor and links none.
    data |= {"organisation-id": str(org_id(seeded, "amazon")), "organisation-name": "Amazon", "title": "Other"}
    approve(reviewer_client, submit(reviewer_client, "breach", data))
    assert query(seeded.intake_db, "select relationship_id from breaches where title = 'Other'") == [(None,)]


def response_to_disclosure(seeded, **changes) -> dict:
    data = {
        "disclosure_id": str(disclosure_id(seeded, "clearview-client-list-2020")),
        "responder-id": str(org_id(seeded, "clearview-ai")),
        "author": "Tor Ekeland, Clearview AI's lawyer",
        "kind": "clarified",
        "summary": "Clearview's lawyer said security was its top priority.",
        "source-title": "Clearview AI says its entire client list was stolen",
        "source-language": "en",
        "locator": "paragraph 3",
    }
    return {**data, **changes}


def figure_data(seeded, **changes) -> dict:
    data = {
        "organisation-id": str(org_id(seeded, "amazon")),
        "metric": "lobbying spend",
        "low": "14,200,000",
        "unit": "USD",
        "period_start": "2018",
        "period_end": "2018",
        "source-title": "Amazon's lobbying",
        "source-language": "en",
        "locator": "paragraph 18",
    }
    return {**data, **changes}


def test_responses_to_a_disclosure_and_a_breach_and_figures_publish_all_they_changed(
    reviewer_client, seeded, approved_in_turn, tmp_path
):
    client = reviewer_client
    response_kinds = dict(query(seeded.intake_db, "select code, label from response_kinds"))
    assert "clarified" in response_kinds
    to_disclosure = submit(client, "response", response_to_disclosure(seeded))
    page = text(client.get(f"/review/submissions/{to_disclosure}"))
    assert "Clearview AI, speaking: Tor Ekeland, Clearview AI's lawyer" in page
    assert "disclosure " in page and "Clearview AI's client list (February 2020)" in page
    approved_in_turn(to_disclosure)
    newest = "select author, relationship_id, breach_id from responses where disclosure_id is not null "
    newest += "order by id desc limit 1"  # the seed has its own response to this disclosure
    assert query(seeded.registry_db, newest) == [("Tor Ekeland, Clearview AI's lawyer", None, None)]

    approved_in_turn(submit(client, "breach", breach_data(seeded)))
    breach = query(seeded.intake_db, "select id from breaches where " + NOT_SEEDED)[0][0]
    to_breach = response_to_disclosure(seeded, disclosure_id="", breach_id=str(breach),
                                       organisation="client", locator="paragraph 4")  # fmt: skip
    approved_in_turn(submit(client, "response", to_breach))
    assert query(seeded.registry_db, "select response_count from breaches where " + NOT_SEEDED) == [(1,)]

    on_amazon = submit(client, "figure", figure_data(seeded))
    page = text(client.get(f"/review/submissions/{on_amazon}"))
    assert "lobbying spend, 14,200,000 USD" in page
    approved_in_turn(on_amazon)
    on_breach = figure_data(seeded, **{"organisation-id": ""}, breach_id=str(breach), metric="searches", low="500000",
                            high="600000", unit="searches", locator="paragraph 5")  # fmt: skip
    approved_in_turn(submit(client, "figure", on_breach))
    assert query(seeded.registry_db, "select metric, low, high, organisation_id is not null, breach_id from "
                 "observations where relationship_id is null and metric in ('lobbying spend', 'searches') "
                 "order by metric") == [
        ("lobbying spend", 14200000.0, 14200000.0, 1, None), ("searches", 500000.0, 600000.0, 0, breach)
    ]  # fmt: skip
    assert_rebuild_matches(seeded, tmp_path)
    check_passes()


@pytest.mark.parametrize(
    ("kind", "changes", "field", "message"),
    [
        ("response", {"disclosure_id": ""}, "relationship_id", "Give the number of the published relationship"),
        ("response", {"relationship_id": "1"}, "disclosure_id", "Give one relationship, disclosure or breach"),
        ("response", {"responder-id": ""}, "responder-name", "Give the name of the organisation that responded"),
        ("response", {"disclosure_id": "999999"}, "disclosure_id", "No published disclosure has number 999999"),
        ("response", {"disclosure_id": "", "breach_id": "999999"}, "breach_id", "No published breach has number"),
        ("figure", {"low": "10", "high": "5"}, "high", "5.0 is below low 10.0"),
        ("figure", {"organisation-id": ""}, "organisation-name", "Give the name of the organisation, or the number"),
        ("figure", {"organisation-id": "999999"}, "organisation-name", "No published organisation has number 999999"),
        ("figure", {"period_start": "2019", "period_end": "2018"}, "period_end", "2018 is before period_start"),
        ("figure", {"unit": ""}, "unit", "Give the unit."),
    ],
)
def test_response_and_figure_forms_refuse_bad_input(client, seeded, kind, changes, field, message):
    data = response_to_disclosure(seeded, **changes) if kind == "response" else figure_data(seeded, **changes)
    before = dump(seeded.intake_db)
    response = post_form(client, f"/submit/{kind}", data)
    assert response.status_code == 422
    assert message in text(response)
    assert f'id="{field}-errors"' in response.get_data(as_text=True)
    assert dump(seeded.intake_db) == before


def test_merge_moves_breaches_figures_and_refuses_a_vendor_into_its_client(reviewer_client, seeded, tmp_path):
    approve(reviewer_client, submit(reviewer_client, "breach", breach_data(seeded)))
    approve(reviewer_client, submit(reviewer_client, "figure", figure_data(seeded, **{"organisation-id": str(
        org_id(seeded, "clearview-ai"))}, metric="accounts")))  # fmt: skip
    organisation = {"name": "Clearview AI Inc.", "kind": "company", "sector": "technology", "is_new": "y"}
    approve(reviewer_client, submit(reviewer_client, "organisation", organisation))
    duplicate = one(seeded.intake_db, "select id from organisations where name = 'Clearview AI Inc.'")[0]
    clearview = org_id(seeded, "clearview-ai")
    response = post_form(
        reviewer_client,
        "/review/organisations/merge",
        {"survivor_id": duplicate, "other_id": clearview, "decision": "merge", "reason": "Same company."},
    )
    assert response.status_code == 303, text(response)
    assert query(seeded.registry_db, "select organisation_id, organisation from breaches where " + NOT_SEEDED) == [
        (duplicate, "Clearview AI Inc.")
    ]
    assert query(seeded.registry_db, "select organisation_id from observations where metric = 'accounts'") == [
        (duplicate,)
    ]
    assert full_sync_changes(seeded) == {}
    assert_rebuild_matches(seeded, tmp_path)
    check_passes()

    # A vendor whose breach exposed its client cannot be merged into that client.
    amazon = org_id(seeded, "amazon")  # no relationship with Clearview AI
    data = breach_data(
        seeded,
        **{
            "organisation-id": str(amazon),
            "organisation-name": "Amazon",
            "vendor-id": str(duplicate),
            "vendor-name": "Clearview AI Inc.",
            "title": "W",
        },
    )
    approve(reviewer_client, submit(reviewer_client, "breach", data))  # fmt: skip
    before = dump(seeded.intake_db)
    response = post_form(
        reviewer_client,
        "/review/organisations/merge",
        {"survivor_id": amazon, "other_id": duplicate, "decision": "merge", "reason": "Wrong."},
    )
    assert "whose breach exposed the other" in text(response)
    assert dump(seeded.intake_db) == before


SMALL_BREACH = {
    "slug": "clearview-client-list-theft",
    "organisation": "clearview-ai",
    "title": "Theft of Clearview AI's client list",
    "description": "An intruder gained access to Clearview AI's list of clients.",
    "start_date": "2020-02",
    "notified_date": "2020-02-26",
    "affected_low": 2200,
    "affected_high": 2200,
    "affected_unit": "records",
    "breach_types": ["unauthorised-access"],
    "data_kinds": ["client-list"],
    "media": ["network-server"],
    "verified": True,
    "disclosures": ["clearview-client-list-2020"],
    "citations": [{"source": "daily-beast-clearview-breach-2020", "locator": "paragraph 1"}],
    "responses": [{"organisation": "clearview-ai", "kind": "clarified", "summary": "Security is our top priority.",
                   "source": "daily-beast-clearview-breach-2020", "locator": "paragraph 3"}],
    "observations": [{"metric": "searches", "low": 500000, "high": 500000, "unit": "searches",
                      "source": "daily-beast-clearview-breach-2020", "locator": "paragraph 5"}],
}  # fmt: skip


@pytest.fixture
def seed_folder(tmp_path, monkeypatch):
    """A copy of seed/ with one small breach, a response to a disclosure and a figure on an
    organisation; REGISTRY_SEED points at it."""
    folder = tmp_path / "seed"
    shutil.copytree(ROOT / "seed", folder)
    disclosures = yaml.safe_load((folder / "disclosures.yml").read_text())
    for d in disclosures:
        if d["slug"] == "clearview-client-list-2020":
            d["responses"] = [{"organisation": "clearview-ai", "kind": "clarified", "author": "Tor Ekeland",
                               "summary": "Clearview's lawyer said security was its top priority.",
                               "source": "daily-beast-clearview-breach-2020", "locator": "paragraph 3"}]  # fmt: skip
    (folder / "disclosures.yml").write_text(yaml.safe_dump(disclosures, allow_unicode=True))
    organisations = yaml.safe_load((folder / "organisations.yml").read_text())
    for o in organisations:
        if o["slug"] == "amazon":
            o["observations"] = [{"metric": "lobbying spend", "low": 14200000, "unit": "USD",
                                  "source": "pogo-amazon-ice-foia-2018", "locator": "paragraph 18"}]  # fmt: skip
    (folder / "organisations.yml").write_text(yaml.safe_dump(organisations, allow_unicode=True))
    (folder / "breaches.yml").write_text(yaml.safe_dump([SMALL_BREACH], allow_unicode=True))
    monkeypatch.setenv("REGISTRY_SEED", str(folder))
    return folder


def run(*command: str) -> None:
    result = invoke(*command)
    assert result.exit_code == 0, result.output


def test_seed_loads_breaches_responses_to_disclosures_and_figures_on_organisations(seed_folder, instance):
    run("init")
    result = invoke("seed")
    assert result.exit_code == 0 and result.output.rstrip().endswith(", 1 breaches"), result.output
    run("publish")
    assert query(instance.registry_db, "select slug, organisation, data_kinds, response_count from breaches") == [
        ("clearview-client-list-theft", "Clearview AI", '["Client list"]', 1)
    ]
    assert query(instance.registry_db, "select author from responses where disclosure_id is not null") == [
        ("Tor Ekeland",)
    ]
    amazon = "(select id from organisations where slug = 'amazon')"
    figures = query(instance.registry_db, f"select metric, low from observations where organisation_id = {amazon}")
    assert figures == [("lobbying spend", 14200000.0)]
    assert query(instance.registry_db, "select metric from observations where breach_id is not null") == [("searches",)]
    before = dump(instance.intake_db)
    run("seed")  # again: nothing changes
    assert [line for line in dump(instance.intake_db) if "audit" not in line] == [
        line for line in before if "audit" not in line
    ]
    run("check")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"data_kinds": ["passwords"]}, "row 1 (clearview-client-list-theft): data_kinds: 'passwords' is not one of"),
        ({"end_date": "2019"}, "end_date: 2019 is before start_date 2020-02"),
        ({"affected_low": 5000}, "affected_high: 2,200 is below the lowest number affected, 5,000"),
        ({"vendor": "clearview-ai"}, "vendor: the vendor whose breach exposed the data cannot be the organisation"),
        ({"breach_types": ["burglary"]}, "breach_types: 'burglary' is not one of"),
        ({"organisation": "nobody"}, "organisation: no organisation 'nobody'"),
        ({"disclosures": ["nothing"]}, "disclosures[0]: no disclosure 'nothing'"),
        ({"responses": [{"organisation": "clearview-ai", "kind": "clarified", "summary": "x", "source": "none"}]},
         "responses[0].source: no source 'none'"),
    ],
)  # fmt: skip
def test_seed_refuses_a_bad_breach_naming_the_row_and_field(seed_folder, instance, changes, expected):
    (seed_folder / "breaches.yml").write_text(yaml.safe_dump([{**SMALL_BREACH, **changes}]))
    run("init")
    db = connect(instance.intake_db)
    try:
        with pytest.raises(SeedError) as caught:
            read_seed(seed_folder, vocabulary_store.load_vocabulary(db))
    finally:
        db.close()
    assert expected in str(caught.value)
    assert "breaches.yml" in str(caught.value)
    result = invoke("seed")
    assert result.exit_code != 0 and expected in result.output
    assert query(instance.intake_db, "select count(*) from organisations") == [(0,)]  # nothing stored


def test_a_figure_with_low_above_high_on_an_organisation_in_the_seed_is_refused(seed_folder, instance):
    organisations = yaml.safe_load((seed_folder / "organisations.yml").read_text())
    organisations[0]["observations"] = [{"metric": "m", "low": 5, "high": 1, "unit": "u", "source": "x"}]
    (seed_folder / "organisations.yml").write_text(yaml.safe_dump(organisations, allow_unicode=True))
    run("init")
    result = invoke("seed")
    assert result.exit_code != 0
    assert "organisations.yml: row 1" in result.output and "observations[0].high: 1.0 is below low 5.0" in result.output


def test_an_absent_or_empty_breaches_file_is_no_breaches(seed_folder, instance):
    (seed_folder / "breaches.yml").write_text("")
    run("init")
    run("seed")
    (seed_folder / "breaches.yml").unlink()
    run("seed")
    assert query(instance.intake_db, "select count(*) from breaches") == [(0,)]


def test_check_fails_on_a_published_breach_without_a_citation(seed_folder, instance):
    for command in (("init",), ("seed",), ("publish",)):
        run(*command)
    db = connect(instance.registry_db)
    try:
        db.execute("DELETE FROM breach_citations")
        db.conn.commit()
    finally:
        db.close()
    result = invoke("check")
    assert result.exit_code != 0
    assert "has no citation" in result.output


def test_check_fails_on_a_private_column_in_a_breach_table(seed_folder, instance):
    for command in (("init",), ("seed",), ("publish",)):
        run(*command)
    run("check")
    db = connect(instance.registry_db)
    try:
        db.execute("ALTER TABLE breaches ADD COLUMN submission_id INTEGER")
        db.conn.commit()
    finally:
        db.close()
    result = invoke("check")
    assert result.exit_code != 0
    assert "registry.db holds an undeclared column: breaches.submission_id" in result.output


def test_a_reviewer_edits_a_breach_before_approving(reviewer_client, seeded):
    submission = submit(reviewer_client, "breach", breach_data(seeded))
    page = f"/review/submissions/{submission}"
    shown = reviewer_client.get(page).get_data(as_text=True)
    ticked = r'<input checked id="data_kinds-\d+" name="data_kinds" type="checkbox" value="client-list">'
    assert re.search(ticked, shown)
    bad = post_form(reviewer_client, f"{page}/edit", breach_data(seeded, end_date="2019"), page)
    assert bad.status_code == 422 and "2019 is before start_date 2020-02" in text(bad)
    good = post_form(reviewer_client, f"{page}/edit", breach_data(seeded, data_kinds=["biometric"]), page)
    assert good.status_code == 303
    payload = json.loads(one(seeded.intake_db, "select payload from submissions where id = ?", [submission])[0])
    assert payload["breaches"][0]["data_kinds"] == ["biometric"]
    approve(reviewer_client, submission)
    assert query(seeded.registry_db, "select data_kinds from breaches where " + NOT_SEEDED) == [('["Biometric data"]',)]


def test_a_disclosure_or_organisation_page_link_fills_in_the_number_and_says_what_it_is(client, seeded):
    disclosure = disclosure_id(seeded, "clearview-client-list-2020")
    page = text(client.get(f"/submit/response?disclosure={disclosure}"))
    assert f'name="disclosure_id" type="number" value="{disclosure}"' in page
    assert f"About disclosure {disclosure}: Clearview AI's client list (February 2020)." in page
    amazon = org_id(seeded, "amazon")
    assert f"About organisation {amazon}: Amazon." in text(client.get(f"/submit/figure?organisation={amazon}"))
    assert "About" not in text(client.get("/submit/figure?organisation=999999")).split("<main")[1].split("<form")[0]


def test_a_relationship_approved_after_the_breach_is_linked_to_it(reviewer_client, seeded, approved_in_turn):
    amazon, clearview = org_id(seeded, "amazon"), org_id(seeded, "clearview-ai")
    parties = {"organisation-id": str(amazon), "organisation-name": "Amazon", "vendor-id": str(clearview)}
    data = breach_data(seeded, **parties, **{"vendor-name": "Clearview AI", "disclosures": []})
    approved_in_turn(submit(reviewer_client, "breach", data))
    assert query(seeded.registry_db, "select relationship_id from breaches where " + NOT_SEEDED) == [(None,)]
    relationship = submit_relationship(
        reviewer_client, seeded, **{"client-id": str(amazon), "client-name": "Amazon", "source-title": "Amazon list"}
    )
    approved_in_turn(relationship)  # the breach's published row changes with it
    rel_id = one(seeded.intake_db, "select id from relationships where vendor_id = ? and client_id = ?",
                 [clearview, amazon])[0]  # fmt: skip
    assert query(seeded.registry_db, "select relationship_id from breaches where " + NOT_SEEDED) == [(rel_id,)]
    breach = one(seeded.intake_db, "select id from breaches where " + NOT_SEEDED)[0]
    audit = "select action from audit_log where table_name = 'breaches' and row_id = ? order by id"
    assert query(seeded.intake_db, audit, [breach]) == [("insert",), ("update",)]


def test_the_vendor_fieldset_asks_for_the_name_first(client):
    page = client.get("/submit/breach").get_data(as_text=True)
    vendor = page[page.index('<fieldset id="vendor"') : page.index("</fieldset>", page.index('<fieldset id="vendor"'))]
    assert vendor.index('id="vendor-name"') < vendor.index('id="vendor-is_new"') < vendor.index('id="vendor-kind"')


def test_an_error_report_on_a_breach_reaches_the_reviewers_and_publishes_nothing(seeded, client, reviewer_client):
    """The breach page's "Report an error" opens /submit/correction?breach=N."""
    breach = one(seeded.intake_db, "select id from breaches where slug = 'clearview-ai-client-list-breach-2020'")[0]
    page = text(client.get(f"/submit/correction?breach={breach}"))
    field = re.search(r'<input[^>]*name="breach_id"[^>]*>', page).group(0)
    assert f'value="{breach}"' in field  # the form comes filled with the breach's number
    public_before = dump(seeded.registry_db)
    report = {"breach_id": str(breach), "problem": "The intrusion was in January.", "evidence": "A later article."}
    response = post_form(client, "/submit/correction", report, form_url=f"/submit/correction?breach={breach}")
    assert response.status_code == 303, text(response)
    (submission,) = one(seeded.intake_db, "select id from submissions where kind = 'correction'")
    assert f"Error report on breach {breach}" in text(reviewer_client.get("/review"))
    assert f"/registry/breaches/{breach}" in text(reviewer_client.get(f"/review/submissions/{submission}"))
    assert dump(seeded.registry_db) == public_before


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"breach_id": "999999"}, "No published breach has number 999999."),
        ({"relationship_id": "1"}, "Report on one record: a relationship or a breach, not both."),
    ],
)
def test_an_error_report_on_a_breach_with_bad_input_is_refused(seeded, client, changes, message):
    breach = one(seeded.intake_db, "select id from breaches where slug = 'clearview-ai-client-list-breach-2020'")[0]
    before = dump(seeded.intake_db)
    report = {"breach_id": str(breach), "problem": "Wrong date.", "evidence": "An article.", **changes}
    response = post_form(client, "/submit/correction", report)
    assert response.status_code == 422
    assert message in text(response)
    assert dump(seeded.intake_db) == before
