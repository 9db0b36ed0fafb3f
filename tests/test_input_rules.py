"""One character rule for every free-text field of every form (published or private), and
source addresses that approval can always publish (issue 18, finding 9)."""

from __future__ import annotations

import re

import pytest

from registry.rules.fields import normal_url
from tests.conftest import dump, post_form, query, text
from tests.test_hostile_forms import FORMS
from tests.test_upload import upload

# NUL, bell, a bidi override, a bidi isolate, U+FFFE, a noncharacter of the U+FDD0 block,
# one of plane 1, and a C1 control (CSI).
REFUSED = [("a\x00b", "U+0000"), ("bell\x07", "U+0007"), ("x\u202ey", "U+202E"), ("\u2067isolated", "U+2067"),
           ("\ufffe", "U+FFFE"), ("\ufdd0", "U+FDD0"), ("\U0001fffe", "U+1FFFE"), ("\x9b31m", "U+009B")]  # fmt: skip
ALLOWED = ["Zoë Müller-Ødegård", "名前 の 人", "O'Brien & Sons <b>"]


def every_text_field() -> list[tuple[str, str, bool]]:
    """(form, field, free) for each field a contributor types into: free text, or text with a
    shape (a date, a code, an address). The relationship form's vendor is picked by number
    in these posts, so its typed name is ignored and left out."""
    return [
        (kind, field, field in free)
        for kind, (_, free, _, shaped) in FORMS.items()
        for field in [*free, *shaped]
        if field != "vendor-name"
    ]


def error_at(page: str, field: str) -> str:
    found = re.search(rf'id="{re.escape(field)}-errors"><li>([^<]*)</li>', page)
    return found.group(1) if found else ""


@pytest.mark.parametrize(("kind", "field", "free"), every_text_field())
def test_every_text_field_refuses_control_bidi_and_noncharacters(app, seeded, kind, field, free):
    base_of = FORMS[kind][0]
    client = app.test_client()
    before = dump(seeded.intake_db)
    values = REFUSED if field == "submitter_name" else [REFUSED[0], REFUSED[2], REFUSED[4]]
    for value, code in values:
        typed = f"Text {value} here" if free else value
        response = post_form(client, f"/submit/{kind}", {**base_of(seeded), field: typed})
        assert response.status_code == 422, (field, repr(value))
        message = error_at(response.get_data(as_text=True), field)
        if free and field != "submitter_contact":
            assert message == f"contains control or direction-override characters ({code})", (field, repr(value))
        else:  # a shaped field may first find the shape wrong: refused, with the reason next to it
            assert message, (field, repr(value))
    assert dump(seeded.intake_db) == before  # nothing stored


def test_tab_and_newline_stay_allowed_in_long_text_and_letters_anywhere(app, seeded):
    client = app.test_client()
    data = {**FORMS["correction"][0](seeded), "problem": "Line one\n\tLine two", "submitter_name": ALLOWED[0]}
    assert post_form(client, "/submit/correction", data).status_code == 303
    for name in ALLOWED:
        organisation = {**FORMS["organisation"][0](seeded), "name": f"{name} Agency", "submitter_name": name}
        assert post_form(client, "/submit/organisation", organisation).status_code == 303, name


@pytest.mark.parametrize("value", ["Anna\x07", "\u202eanna", "anna\ufffe"])
def test_the_upload_refuses_the_same_characters_in_the_submitters_name(client, seeded, value):
    response = upload(client, "list.csv", b"client,vendor\nOrlando PD,Clearview AI\n", submitter_name=value)
    assert response.status_code == 422
    assert "Contains control or direction-override characters" in error_at(
        response.get_data(as_text=True), "submitter_name"
    )
    assert not list((seeded.instance / "uploads").glob("*.meta.json"))


ODD_ADDRESSES = [
    ("HTTPS://Example.ORG/Path?Q=1", "https://example.org/Path?Q=1"),
    ("Http://EXAMPLE.org:8080/A#Frag", "http://example.org:8080/A#Frag"),
    ("https://[2001:DB8::1]/x", "https://[2001:db8::1]/x"),
    ("https://例え.テスト/パス", "https://例え.テスト/パス"),
    ("https://User:Pass@Example.org/", "https://User:Pass@example.org/"),
    ("https://example.org/" + "a" * 1970, "https://example.org/" + "a" * 1970),
    ("https://example.org/?q=<x>&y='z'", "https://example.org/?q=<x>&y='z'"),
]


@pytest.mark.parametrize(("typed", "stored"), ODD_ADDRESSES)
def test_an_address_the_form_accepts_is_approved_and_published_normalised(reviewer_client, seeded, typed, stored):
    """`HTTPS://` was acknowledged, then approval failed with a 500 on schema.sql's CHECK."""
    title = f"A source at {typed[:40]}"
    data = {"source-title": title, "source-language": "en", "source-url": typed}
    assert post_form(reviewer_client, "/submit/source", data).status_code == 303
    submission_id = query(seeded.intake_db, "select id from submissions order by id desc limit 1")[0][0]
    page = f"/review/submissions/{submission_id}"
    response = post_form(reviewer_client, f"{page}/approve", {}, form_url=page)
    assert response.status_code == 303, text(response)[:500]
    assert query(seeded.registry_db, "select url from sources where title = ?", [title]) == [(stored,)]


def test_a_relationship_with_an_upper_case_source_address_is_approved(reviewer_client, seeded):
    from tests.test_review import submit_relationship

    submission_id = submit_relationship(reviewer_client, seeded, **{"source-url": "HTTPS://WWW.Example.ORG/List"})
    page = f"/review/submissions/{submission_id}"
    assert post_form(reviewer_client, f"{page}/approve", {}, form_url=page).status_code == 303
    assert query(seeded.registry_db, "select url from sources where title = 'Client list as published'") == [
        ("https://www.example.org/List",)
    ]


@pytest.mark.parametrize("bad", ["https://", "https://user@/x", "HTTPS://:80/", "ftp://example.org/", "https://a b"])
def test_addresses_without_a_host_are_refused_by_the_form(app, seeded, bad):
    client = app.test_client()
    data = {"source-title": "A source", "source-language": "en", "source-url": bad}
    response = post_form(client, "/submit/source", data)
    assert response.status_code == 422
    assert "is not a web address" in error_at(response.get_data(as_text=True), "source-url").replace("&#39;", "'")


def test_normal_url_keeps_path_query_and_fragment_as_typed():
    assert normal_url("HTTPS://Example.ORG:443/A/B?C=D#E") == "https://example.org:443/A/B?C=D#E"
