"""Contributor forms: valid submissions are stored pending; bad input is answered next to
its field and stores nothing."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest

from tests.conftest import dump, hidden_fields, post_form, text


def one(path, sql, params=()):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchone()
    finally:
        conn.close()


def org_id(settings, slug):
    return one(settings.intake_db, "select id from organisations where slug = ?", [slug])[0]


def count_submissions(settings):
    return one(settings.intake_db, "select count(*) from submissions")[0]


@pytest.fixture
def relationship_data(seeded):
    """A valid relationship: an existing vendor, a new client, a new source."""
    return {
        "vendor-id": str(org_id(seeded, "clearview-ai")),
        "vendor-name": "Clearview AI",
        "client-name": "Sylvania Police Department",
        "client-kind": "public-agency",
        "client-sector": "law-enforcement",
        "client-country": "États-Unis",
        "arrangement": "trial",
        "trial_days": "30",
        "start_date": "2019-11",
        "end_date": "2019-12",
        "summary": "The Sylvania Police Department had a 30-day trial of Clearview AI.",
        "source-title": "Clearview AI client list",
        "source-url": "https://example.org/clearview-list",
        "source-publisher": "Example News",
        "source-language": "en",
        "source-published_date": "2020-02-27",
        "locator": "row 1312",
        "quote": "Sylvania Police Department, trial, 30 days",
        "submitter_name": "Anna Source",
        "submitter_contact": "anna.source@example.org",
    }


def test_valid_relationship_is_stored_pending_and_not_published(client, seeded, relationship_data):
    before_registry = dump(seeded.registry_db)
    relationships_before = one(seeded.intake_db, "select count(*) from relationships")[0]
    response = post_form(client, "/submit/relationship", relationship_data)
    assert response.status_code == 303
    reference = response.headers["Location"].rsplit("/", 1)[1]
    row = one(
        seeded.intake_db,
        "select kind, status, submitter_name, submitter_contact, payload from submissions where reference = ?",
        [reference],
    )
    assert row[:4] == ("relationship", "pending", "Anna Source", "anna.source@example.org")
    payload = json.loads(row[4])
    assert payload["relationships"][0]["client"] == "sylvania-police-department"
    assert payload["organisations"][0]["country"] == "US"  # typed "États-Unis"
    assert payload["relationships"][0]["trial_days"] == 30
    assert "anna.source@example.org" not in row[4]  # the contact stays out of the payload
    assert one(seeded.intake_db, "select count(*) from relationships")[0] == relationships_before
    assert dump(seeded.registry_db) == before_registry
    confirmation = client.get(response.headers["Location"])
    assert reference in confirmation.get_data(as_text=True)
    assert "anna.source" not in confirmation.get_data(as_text=True)


def test_double_submission_stores_one(client, seeded, relationship_data):
    page = client.get("/submit/relationship").get_data(as_text=True)
    data = {**hidden_fields(page), **relationship_data}
    first = client.post("/submit/relationship", data=data)
    second = client.post("/submit/relationship", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert count_submissions(seeded) == 1


def test_post_without_csrf_token_is_refused(client, seeded, relationship_data):
    response = client.post("/submit/relationship", data=relationship_data)
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert count_submissions(seeded) == 0


def test_post_with_forged_csrf_token_is_refused(client, seeded, relationship_data):
    response = client.post("/submit/relationship", data={**relationship_data, "csrf_token": "forged"})
    assert response.status_code == 400
    assert count_submissions(seeded) == 0


RELATIONSHIP_ERRORS = [
    ("client-name", "", "Give the organisation's name."),
    ("client-name", "x" * 301, "At most 300 characters."),
    ("client-country", "Atlantis", "'Atlantis' is not a known country code or name (English or French)"),
    ("client-sector", "piracy", "Not a valid choice."),
    ("client-kind", "", "This field is required."),
    ("arrangement", "", "Choose what the sources show."),
    ("arrangement", "rumour", "Not a valid choice."),
    ("trial_days", "thirty", "Not a valid integer value."),
    ("trial_days", "0", "A number of days from 1 to 3650."),
    ("start_date", "2020-02-30", "'2020-02-30' is not a date (tried: YYYY-MM-DD, YYYY-MM, YYYY)"),
    ("start_date", "Feb 2020", "'Feb 2020' is not a date (tried: YYYY-MM-DD, YYYY-MM, YYYY)"),
    ("start_date", "2099-01", "2099-01 is in the future"),
    ("start_date", "2999-01", "'2999-01' is not a date"),
    ("end_date", "2019-01", "2019-01 is before start_date 2019-11"),
    ("summary", "", "Say in one sentence what the sources show."),
    ("summary", "s" * 1001, "At most 1000 characters."),
    ("summary", "bell\x07 in text", "contains control or direction-override characters"),
    ("summary", "evil \u202e override", "contains control or direction-override characters"),
    (
        "source-url",
        "javascript:alert(1)",
        "'javascript:alert(1)' is not a web address starting with http:// or https://",
    ),
    ("source-url", "ftp://example.org/x", "is not a web address starting with http:// or https://"),
    ("source-language", "english", "At most 3 characters."),
    ("source-language", "e1", "'e1' is not an ISO 639 language code"),
    ("source-title", "", "Give the source's title (or pick an existing source)."),
    ("source-published_date", "2020-13", "'2020-13' is not a date"),
    ("locator", "", "Say where in the source: page, paragraph or row."),
    ("quote", "q" * 501, "At most 500 characters."),
    ("vendor-id", "999999", "No published organisation has number 999999."),
    ("vendor-id", "1 OR 1=1", "Not a valid integer value."),
    ("source-id", "424242", "No published source has number 424242."),
    ("disclosure", "999", "Not a valid choice."),
    ("submitter_contact", "not-an-email", "Give an email address such as name@example.org, or leave it empty."),
]


@pytest.mark.parametrize(("field", "value", "message"), RELATIONSHIP_ERRORS)
def test_relationship_form_rejects_bad_input(client, seeded, relationship_data, field, value, message):
    before = dump(seeded.intake_db)
    response = post_form(client, "/submit/relationship", {**relationship_data, field: value})
    assert response.status_code == 422
    page = text(response)
    assert message in page
    where = field
    if message.startswith("No published"):  # a forged id is answered at the name the contributor sees
        where = {"vendor-id": "vendor-name", "source-id": "source-title"}[field]
    assert f'id="{where}-errors"' in response.get_data(as_text=True)  # shown next to its field
    assert dump(seeded.intake_db) == before


def test_existing_name_must_be_picked_or_declared_different(client, seeded, relationship_data):
    data = {**relationship_data, "client-name": "Wells Fargo"}
    response = post_form(client, "/submit/relationship", data)
    assert response.status_code == 422
    assert "Already in the registry: Wells Fargo (US)" in text(response)
    assert count_submissions(seeded) == 0
    # "Wells Fargo" also looks like a person's name (tests/test_persons.py): the contributor goes on.
    accepted = post_form(client, "/submit/relationship", {**data, "client-is_new": "y", "person_name_confirmed": "y"})
    assert accepted.status_code == 303


def test_alias_spelling_counts_as_existing(client, seeded, relationship_data):
    response = post_form(client, "/submit/relationship", {**relationship_data, "client-name": "Justice  Dept."})
    assert response.status_code == 422
    assert "Already in the registry: United States Department of Justice" in text(response)


def test_vendor_cannot_be_its_own_client(client, seeded, relationship_data):
    clearview = str(org_id(seeded, "clearview-ai"))
    response = post_form(client, "/submit/relationship", {**relationship_data, "client-id": clearview})
    assert response.status_code == 422
    assert "a vendor cannot be its own client" in text(response)


def test_html_is_stored_as_typed_and_rendered_escaped(client, seeded, relationship_data, reviewer_client):
    summary = '<script>alert("x")</script> <img src=x onerror=alert(1)>'
    response = post_form(client, "/submit/relationship", {**relationship_data, "summary": summary})
    assert response.status_code == 303
    payload = json.loads(one(seeded.intake_db, "select payload from submissions")[0])
    assert payload["relationships"][0]["summary"] == summary
    submission_id = one(seeded.intake_db, "select id from submissions")[0]
    page = reviewer_client.get(f"/review/submissions/{submission_id}").get_data(as_text=True)
    assert "<script>alert(" not in page
    assert "&lt;script&gt;alert(" in page
    assert "<img src=x" not in page


ORGANISATION = {"name": "Orlando Airport Police", "kind": "public-agency", "sector": "law-enforcement"}


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": ""}, "name", "Give the organisation's name."),
        ({"country": "Belgique", "subdivision": "US-FL"}, "subdivision", "US-FL is not in country BE"),
        ({"country": "US", "subdivision": "US-XX"}, "subdivision", "'US-XX' is not a known subdivision of US"),
        ({"sector": ""}, "sector", "Choose a sector."),
        ({"name": "Walmart"}, "name", "Already in the registry: Walmart (US)"),
        ({"aliases": "fine\nbad\x00alias"}, "aliases", "contains control or direction-override characters"),
    ],
)
def test_organisation_form_rejects_bad_input(client, seeded, data, field, message):
    response = post_form(client, "/submit/organisation", {**ORGANISATION, **data})
    assert response.status_code == 422
    assert message in text(response)
    assert f'id="{field}-errors"' in response.get_data(as_text=True)
    assert count_submissions(seeded) == 0


def test_valid_organisation_keeps_country_and_aliases(client, seeded):
    data = {**ORGANISATION, "country": "United States", "subdivision": "us-fl", "aliases": "OAP\nOrlando Airport PD"}
    response = post_form(client, "/submit/organisation", data)
    assert response.status_code == 303
    payload = json.loads(one(seeded.intake_db, "select payload from submissions")[0])
    assert payload["organisations"][0]["subdivision"] == "US-FL"
    assert [a["alias"] for a in payload["organisations"][0]["aliases"]] == ["OAP", "Orlando Airport PD"]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"source-title": ""}, "source-title", "Give the source's title"),
        ({"source-url": "data:text/html,hi"}, "source-url", "is not a web address"),
        ({"source-language": ""}, "source-language", "This field is required."),
    ],
)
def test_source_form_rejects_bad_input(client, seeded, data, field, message):
    base = {"source-title": "Emails between Microsoft and the DEA", "source-language": "en"}
    response = post_form(client, "/submit/source", {**base, **data})
    assert response.status_code == 422
    assert message in text(response)
    assert count_submissions(seeded) == 0


def test_valid_source_is_stored_pending(client, seeded):
    data = {"source-title": "DEA emails", "source-language": "EN", "source-published_date": "2020-06", "notes": "PDF"}
    assert post_form(client, "/submit/source", data).status_code == 303
    payload = json.loads(one(seeded.intake_db, "select payload from submissions where kind = 'source'")[0])
    assert payload["sources"][0]["language"] == "en"
    assert payload["sources"][0]["notes"] == "PDF"


DISCLOSURE = {
    "title": "Flock Safety transparency portals (2024)",
    "kind": "transparency-portal",
    "disclosed_date": "2024-04-26",
    "disclosed_by": "The News & Observer",
    "description": "Agencies publish their Flock usage.",
    "completeness_note": "Only agencies with a portal appear.",
}


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"disclosed_date": ""}, "disclosed_date", "Give the date it became public."),
        ({"disclosed_date": "2024-02-31"}, "disclosed_date", "is not a date"),
        ({"reported_count": "-5"}, "reported_count", "-5 is outside 0 to 100000000"),
        ({"reported_count": "many"}, "reported_count", "'many' is not a whole number"),
        ({"period_start": "2024", "period_end": "2023"}, "period_end", "2023 is before period_start 2024"),
        ({"kind": "rumour"}, "kind", "Not a valid choice."),
        ({"completeness_note": ""}, "completeness_note", "Say what the disclosure does not tell."),
    ],
)
def test_disclosure_form_rejects_bad_input(client, seeded, data, field, message):
    response = post_form(client, "/submit/disclosure", {**DISCLOSURE, **data})
    assert response.status_code == 422
    assert message in text(response)
    assert f'id="{field}-errors"' in response.get_data(as_text=True)
    assert count_submissions(seeded) == 0


def test_valid_disclosure_is_stored_pending(client, seeded):
    assert post_form(client, "/submit/disclosure", {**DISCLOSURE, "reported_count": "5,152"}).status_code == 303
    payload = json.loads(one(seeded.intake_db, "select payload from submissions")[0])
    assert payload["disclosures"][0]["reported_count"] == 5152


def response_data(seeded):
    rel_id = one(
        seeded.intake_db,
        "select r.id from relationships r join organisations c on c.id = r.client_id where c.slug = 'walmart'",
    )[0]
    return {
        "relationship_id": str(rel_id),
        "organisation": "client",
        "kind": "declined-to-comment",
        "summary": "Walmart declined to comment.",
        "source-title": "Walmart and Clearview",
        "source-language": "en",
        "locator": "paragraph 4",
    }


def test_valid_response_is_stored_pending(client, seeded):
    assert post_form(client, "/submit/response", response_data(seeded)).status_code == 303
    payload = json.loads(one(seeded.intake_db, "select payload from submissions")[0])
    assert payload["responses"][0]["organisation"] == "walmart"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"relationship_id": "99999"}, "relationship_id", "No published relationship has number 99999."),
        ({"relationship_id": ""}, "relationship_id", "Give the number of the published relationship, disclosure or"),
        ({"kind": "outraged"}, "kind", "Not a valid choice."),
        ({"response_date": "2020-00"}, "response_date", "is not a date"),
        ({"summary": ""}, "summary", "Summarise the response in one sentence."),
    ],
)
def test_response_form_rejects_bad_input(client, seeded, data, field, message):
    response = post_form(client, "/submit/response", {**response_data(seeded), **data})
    assert response.status_code == 422
    assert message in text(response)
    assert count_submissions(seeded) == 0


def test_every_field_says_what_it_wants(client, seeded):
    for kind in ("relationship", "organisation", "source", "disclosure", "response"):
        page = client.get(f"/submit/{kind}").get_data(as_text=True)
        fields = re.findall(r'<div class="field[^"]*" data-field="([^"]+)">', page)
        helps = re.findall(r'<small id="([^"]+)-help" class="help">', page)
        assert len(fields) >= 5, kind
        assert len(helps) == len(fields), (kind, fields, helps)


def test_suggestions_find_names_and_aliases_after_normalisation(client, seeded):
    def names(q):
        return [o["name"] for o in client.get("/organisations/suggest", query_string={"q": q}).get_json()]

    assert names("ICE") == ["U.S. Immigration and Customs Enforcement"]
    assert "United States Department of Justice" in names("justice dept")
    assert "Kohl's" in names("Kohls")
    assert names("Clearview")[0] == "Clearview AI"
    assert "Wells Fargo" in names("Wells Fargo Advisors")  # the first words of what is typed
    assert names("x") == []


def test_wildcards_typed_in_a_suggestion_box_are_taken_literally(client, seeded):
    assert client.get("/sources/suggest", query_string={"q": "___"}).get_json() == []
    assert client.get("/sources/suggest", query_string={"q": "%%%"}).get_json() == []
    found = client.get("/sources/suggest", query_string={"q": "BuzzFeed"}).get_json()
    assert found and all("buzzfeed" in (s["title"] + (s["publisher"] or "")).lower() for s in found)
