"""The figure form and the response form name an existing organisation by its name (or an
alias), with the relationship form's suggestions; without JavaScript the server resolves
the name, and offers the near matches as a choice when it cannot. Links from the public
pages fill the form in. Real app over a seeded instance; the browser tests drive
`registry serve` in Chromium at 390 px, with and without JavaScript."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from registry.rules.names import key_prefixes, name_key
from tests.breaches import add_breaches
from tests.conftest import Served, dump, post_form, query, serving, text
from tests.site import DESKTOP, PHONE, axe_violations
from tests.test_breach_pages import page_text
from tests.test_breaches import disclosure_id, figure_data, response_to_disclosure
from tests.test_browser import JsErrors, browser, js_errors  # noqa: F401 - fixtures
from tests.test_datasette import ours
from tests.test_scoped_publication import approve, submit
from tests.test_submit import count_submissions, one, org_id


@pytest.fixture
def servers(seeded) -> Iterator[Served]:
    """`registry serve` on free ports (no reviewer needed: these tests only contribute)."""
    with serving(seeded) as served:
        yield served
    assert served.process.returncode == 0, served.output


def by_name(name: str, picker: str = "organisation") -> dict[str, str]:
    return {f"{picker}-id": "", f"{picker}-name": name}


def test_near_matches_are_looked_up_by_the_beginning_and_the_longest_words_of_the_name():
    assert key_prefixes(name_key("Sheriff of Orange County Fla.")) == [
        "sheriffs of orange county", "sheriffs of orange", "sheriffs of", "sheriffs", "county", "orange", "fla"
    ]  # fmt: skip
    assert key_prefixes("amazon") == ["amazon"]
    assert key_prefixes("") == []


def stored_payload(seeded) -> dict:
    return json.loads(one(seeded.intake_db, "select payload from submissions order by id desc limit 1")[0])


def errors_of(response, field: str) -> str:
    """The messages shown under one field."""
    found = re.search(rf'<ul class="errors" id="{field}-errors">(.*?)</ul>', text(response), re.S)
    return re.sub(r"<[^>]+>", " ", found.group(1)) if found else ""


@pytest.mark.parametrize(
    ("typed", "slug"),
    [("Amazon", "amazon"), ("  amazon ", "amazon"), ("Amazon Web Services", "amazon"), ("Amazon.com, Inc.", "amazon")],
)
def test_a_figure_names_its_organisation_by_name_or_alias(client, seeded, typed, slug):
    response = post_form(client, "/submit/figure", figure_data(seeded, **by_name(typed)))
    assert response.status_code == 303, errors_of(response, "organisation-name")
    assert stored_payload(seeded)["observations"][0]["organisation_id"] == org_id(seeded, slug)


def test_a_response_to_a_disclosure_names_the_responder_by_alias(client, seeded):
    data = response_to_disclosure(seeded, **by_name("ClearView AI", "responder"))
    assert post_form(client, "/submit/response", data).status_code == 303
    assert stored_payload(seeded)["responses"][0]["organisation"] == "clearview-ai"


@pytest.mark.parametrize(
    ("kind", "picker", "typed", "message"),
    [
        ("figure", "organisation", "Zyxwvut Holdings", "No published organisation is called 'Zyxwvut Holdings'. "),
        ("figure", "organisation", "Amazon Incorporated", "No published organisation is called 'Amazon Incorporated'. "
         "Near: Amazon"),
        ("response", "responder", "Clearview AI Corp", "Near: Clearview AI"),
        ("figure", "organisation", "Department of Justice USA", "Near: United States Department of Justice (also "
         "known as Department of Justice)"),
        ("figure", "organisation", "The Interpol Organisation", "Near: Interpol."),  # by a word not its first
        ("response", "responder", "", "Give the name of the organisation that responded."),
        ("figure", "organisation", "", "Give the name of the organisation, or the number of the breach"),
    ],
)  # fmt: skip
def test_an_unknown_or_near_name_is_refused_on_its_field_and_nothing_stored(client, seeded, kind, picker, typed,
                                                                           message):  # fmt: skip
    data = figure_data(seeded) if kind == "figure" else response_to_disclosure(seeded)
    before, submissions = dump(seeded.intake_db), count_submissions(seeded)
    response = post_form(client, f"/submit/{kind}", {**data, **by_name(typed, picker)})
    assert response.status_code == 422
    assert message in errors_of(response, f"{picker}-name")
    assert dump(seeded.intake_db) == before and count_submissions(seeded) == submissions
    offered = f'name="{picker}-choice"' in response.get_data(as_text=True)
    assert offered == ("Near:" in message)  # the near matches become choices, only when there are some


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"organisation-id": "999999"}, "No published organisation has number 999999."),
        ({"organisation-id": "", "organisation-choice": "999999"}, "No published organisation has number 999999."),
        ({"organisation-id": "abc"}, "Not a valid integer value."),
        ({"organisation-id": "99999999999999999999"}, "No published record has this number."),
    ],
)
def test_a_number_that_is_no_organisation_is_refused_without_a_500(client, seeded, changes, message):
    before = dump(seeded.intake_db)
    response = post_form(client, "/submit/figure", figure_data(seeded, **changes))
    assert response.status_code == 422
    assert message in text(response)
    assert dump(seeded.intake_db) == before


def test_a_number_stands_while_the_name_is_that_organisations(client, seeded):
    """The number a link or a suggestion left stands with its organisation's name or an alias; a
    name retyped without JavaScript is what the contributor means: another organisation's name
    picks it, a name of none is refused (never the number left behind)."""
    amazon, clearview = org_id(seeded, "amazon"), org_id(seeded, "clearview-ai")
    for name in ("Amazon", "Amazon Web Services"):
        data = figure_data(seeded, **{"organisation-id": str(amazon), "organisation-name": name})
        assert post_form(client, "/submit/figure", data).status_code == 303
        assert stored_payload(seeded)["observations"][0]["organisation_id"] == amazon
    data = figure_data(seeded, **{"organisation-id": str(amazon), "organisation-name": "Clearview AI"})
    assert post_form(client, "/submit/figure", data).status_code == 303
    assert stored_payload(seeded)["observations"][0]["organisation_id"] == clearview
    before = dump(seeded.intake_db)
    data = figure_data(seeded, **{"organisation-id": str(amazon), "organisation-name": "whatever was typed"})
    response = post_form(client, "/submit/figure", data)
    assert response.status_code == 422 and "whatever was typed" in errors_of(response, "organisation-name")
    assert dump(seeded.intake_db) == before


@pytest.mark.parametrize("link", ["/submit/figure?organisation=%C2%B2", "/submit/figure?breach=%C2%B2",
                                  "/submit/response?organisation=%C2%B9%C2%B2&disclosure=%C2%B3"])  # fmt: skip
def test_a_link_with_a_superscript_digit_is_not_a_number_and_no_500(client, link):
    assert client.get(link).status_code == 200  # "²".isdigit() is true, int("²") fails


def test_a_figure_names_an_organisation_or_a_breach_not_both(client, seeded):
    breach = add_breaches(seeded).breach["hhs-2014-21-bcbsa-merkle"]
    response = post_form(client, "/submit/figure", figure_data(seeded, breach_id=str(breach)))
    assert response.status_code == 422
    assert "Give one organisation or breach, not both." in errors_of(response, "breach_id")
    on_breach = figure_data(seeded, **by_name(""), breach_id=str(breach))
    assert post_form(client, "/submit/figure", on_breach).status_code == 303
    assert stored_payload(seeded)["observations"][0]["breach_id"] == breach


def test_two_organisations_of_one_name_are_offered_and_the_choice_is_kept(reviewer_client, seeded):
    client = reviewer_client
    approve(client, submit(client, "organisation", {"name": "Walmart", "kind": "company", "sector": "retail",
                                                    "country": "Mexico", "is_new": "y"}))  # fmt: skip
    walmarts = [
        r[0] for r in query(seeded.intake_db, "select id from organisations where name = 'Walmart' order by id")
    ]
    assert len(walmarts) == 2
    before = dump(seeded.intake_db)
    response = post_form(client, "/submit/figure", figure_data(seeded, **by_name("Walmart")))
    assert response.status_code == 422
    assert "Several published organisations are called 'Walmart': Walmart (MX); Walmart (US)" in errors_of(
        response, "organisation-name"
    )
    offered = re.findall(r'<input type="radio" id="organisation-choice-\d" name="organisation-choice" value="(\d+)">',
                         response.get_data(as_text=True))  # fmt: skip
    assert sorted(int(v) for v in offered) == walmarts
    assert dump(seeded.intake_db) == before
    chosen = figure_data(seeded, **by_name("Walmart"), **{"organisation-choice": str(walmarts[1])})
    assert post_form(client, "/submit/figure", chosen).status_code == 303
    assert stored_payload(seeded)["observations"][0]["organisation_id"] == walmarts[1]


def test_a_link_by_number_or_name_fills_the_form_with_the_name(client, seeded):
    amazon, clearview = org_id(seeded, "amazon"), org_id(seeded, "clearview-ai")
    page = text(client.get(f"/submit/figure?organisation={amazon}"))
    assert re.search(r'id="organisation-name"[^>]*value="Amazon"', page)
    assert re.search(rf'id="organisation-id" name="organisation-id" value="{amazon}"', page)
    assert f"About organisation {amazon}: Amazon." in page
    by_alias = text(client.get("/submit/figure?organisation=Amazon+Web+Services"))
    assert re.search(rf'id="organisation-id" name="organisation-id" value="{amazon}"', by_alias)
    unknown = text(client.get("/submit/figure?organisation=Nobody+Known"))
    assert re.search(r'id="organisation-name"[^>]*value="Nobody Known"', unknown)
    assert re.search(r'id="organisation-id" name="organisation-id" value=""', unknown)
    assert text(client.get("/submit/figure?organisation=999999")).count("About organisation") == 0
    disclosure = disclosure_id(seeded, "clearview-client-list-2020")
    response = text(client.get(f"/submit/response?disclosure={disclosure}&organisation={clearview}"))
    assert re.search(r'id="responder-name"[^>]*value="Clearview AI"', response)
    assert f'name="disclosure_id" type="number" value="{disclosure}"' in response


def test_a_submission_stored_with_a_number_only_opens_with_the_name(app, seeded):
    """Submissions stored before the picker hold `organisation_id`: a reviewer's edit form shows the name."""
    from registry.web.views.submit import build_form

    amazon = org_id(seeded, "amazon")
    with app.test_request_context("/"):
        form = build_form("figure", data={"organisation_id": amazon, "metric": "m"})
        assert (form.organisation.form.id.data, form.organisation.form.name.data) == (amazon, "Amazon")


async def test_the_organisation_and_breach_pages_link_to_the_filled_forms(seeded):
    breaches = add_breaches(seeded)
    ds = ours(breaches.settings.registry_db)
    await ds.invoke_startup()
    amazon = org_id(seeded, "amazon")
    organisation = await ds.client.get(f"/registry/organisations/{amazon}")
    assert f'id="add-figure" href="http://127.0.0.1:5000/submit/figure?organisation={amazon}"' in organisation.text
    assert "Add a figure about Amazon" in page_text(organisation)
    merkle = breaches.breach["hhs-2014-21-bcbsa-merkle"]
    breach = await ds.client.get(f"/registry/breaches/{merkle}")
    assert f'id="add-figure" href="http://127.0.0.1:5000/submit/figure?breach={merkle}"' in breach.text
    disclosure = breaches.disclosure
    shown = await ds.client.get(f"/registry/disclosures/{disclosure}")
    assert f"/submit/response?disclosure={disclosure}" in shown.text


def fill_figure(tab, served: Served, metric: str) -> None:
    tab.locator("#metric").fill(metric)
    tab.locator("#low").fill("14,200,000")
    tab.locator("#unit").fill("USD")
    tab.locator("#source-title").fill("Amazon's lobbying (browser test)")
    tab.locator("#source-language").fill("en")
    tab.locator("#locator").fill("paragraph 18")
    tab.get_by_role("button", name="Send for review").click()
    expect(tab.locator("#reference")).to_have_text(re.compile(r"^S-[0-9A-Z]{10}$"))


@pytest.mark.slow
@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_contributor_picks_the_organisation_by_name_in_a_phone_browser(
    browser: Browser,  # noqa: F811
    servers: Served,
    seeded,
    js_errors: JsErrors,  # noqa: F811
    javascript,
    tmp_path,
):
    context = browser.new_context(viewport=PHONE, java_script_enabled=javascript, bypass_csp=True)
    tab = context.new_page()
    js_errors.watch(tab)
    try:
        tab.goto(f"{servers.intake}/submit/figure")
        metric = f"lobbying spend ({'js' if javascript else 'no js'})"
        if javascript:
            tab.locator("#organisation-name").press_sequentially("Amaz", delay=30)
            suggestion = tab.locator("#organisation-suggestions button.suggestion", has_text="Amazon").first
            expect(suggestion).to_be_visible()
            tab.screenshot(path=tmp_path / "figure-390-suggestions.png", full_page=True)
            suggestion.click()
            expect(tab.locator("#organisation-name")).to_have_value("Amazon")
            expect(tab.locator("#organisation-id")).to_have_value(str(org_id(seeded, "amazon")))
        else:
            tab.locator("#organisation-name").fill("Amazon Incorporated")  # near, not exact: offered
            fill_figure_fields_only(tab)
            tab.get_by_role("button", name="Send for review").click()
            expect(tab.locator("#organisation-name-errors")).to_contain_text("Near: Amazon")
            tab.get_by_label("Amazon", exact=True).check()
        fill_figure(tab, servers, metric)
        assert scroll_width(tab) <= PHONE["width"]
    finally:
        context.close()
    stored = query(seeded.intake_db, "select payload from submissions order by id desc limit 1")
    assert json.loads(stored[0][0])["observations"][0]["organisation_id"] == org_id(seeded, "amazon")
    if javascript:  # without it, Chromium logs the refused post's 422 as a console error: that is the point
        assert js_errors.found == []


def fill_figure_fields_only(tab) -> None:
    """The fields other than the organisation, so that only the organisation is refused."""
    tab.locator("#metric").fill("x")
    tab.locator("#low").fill("1")
    tab.locator("#unit").fill("USD")
    tab.locator("#source-title").fill("Amazon's lobbying (browser test)")
    tab.locator("#source-language").fill("en")


def scroll_width(tab) -> int:
    return tab.evaluate("() => document.documentElement.scrollWidth")


@pytest.mark.slow
def test_the_pickers_look_right_and_pass_axe_at_both_widths(browser: Browser, servers: Served, seeded, tmp_path):  # noqa: F811 - browser
    shots = []
    for viewport in (DESKTOP, PHONE):
        for javascript in (True, False):
            context = browser.new_context(viewport=viewport, java_script_enabled=javascript, bypass_csp=True)
            tab = context.new_page()
            try:
                for kind, picker, typed in (
                    ("figure", "organisation", "Walmart Stores"),
                    ("response", "responder", "Clearview Corp"),
                ):
                    tab.goto(f"{servers.intake}/submit/{kind}?disclosure=1")
                    tab.locator(f"#{picker}-name").fill(typed)
                    if kind == "figure":
                        fill_figure_fields_only(tab)
                    else:
                        tab.locator("#kind").select_option("clarified")
                        tab.locator("#summary").fill("x")
                        tab.locator("#source-title").fill("A statement (browser test)")
                    tab.get_by_role("button", name="Send for review").click()
                    expect(tab.locator(f"#{picker}-name-errors")).to_be_visible()
                    assert scroll_width(tab) <= viewport["width"], (kind, viewport)
                    shot = tmp_path / f"{kind}-{viewport['width']}-{'js' if javascript else 'nojs'}.png"
                    tab.screenshot(path=shot, full_page=True)
                    shots.append(shot)
                    if javascript:
                        assert axe_violations(tab) == [], (kind, viewport)
            finally:
                context.close()
    assert all(s.stat().st_size > 0 for s in shots)
