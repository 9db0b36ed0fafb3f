"""Breaches as readers meet them on the public site: the breaches table with its facets,
search and downloads; a page per breach; the breaches and figures on an organisation's
page; the responses and breaches on a disclosure's page; the Atom feed of breaches and
where it is announced; and the same pages in Chromium at 1280 and 390 px, with and without
JavaScript, under axe-core.

The breaches are real rows of the HHS breach portal and the theft of Clearview AI's client
list, written into a seeded instance's intake.db and published with `registry publish`
(tests/breaches.py)."""

from __future__ import annotations

import asyncio
import csv
import html
import io
import json
import re
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
from playwright.sync_api import Browser, Page, expect

from datasette.plugins import pm
from tests.breaches import Breaches, add_breaches
from tests.conftest import invoke, query, serving
from tests.site import DESKTOP, PHONE, Requests, axe_violations, sideways_overflow
from tests.test_browser import JsErrors, browser, js_errors, page  # noqa: F401 - fixtures
from tests.test_datasette import ours

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def breaches(seeded) -> Breaches:
    return add_breaches(seeded)


@pytest.fixture
async def ds(breaches):
    datasette = ours(breaches.settings.registry_db)
    await datasette.invoke_startup()
    return datasette


def page_text(response) -> str:
    """What a reader sees: the page without tags, its spaces folded."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.text)))


def facet(data: dict, name: str) -> dict:
    return {r["value"]: r["count"] for r in data["facet_results"][name]["results"]}


async def test_the_breaches_table_has_its_facets_with_counts(ds, breaches):
    response = await ds.client.get("/registry/breaches.json?_facet_size=max")
    assert response.status_code == 200
    data = response.json()
    assert data["filtered_table_rows_count"] == 5
    assert facet(data, "breach_types") == {"Theft": 4, "Unauthorised access or disclosure": 1}
    assert facet(data, "data_kinds")["Health information"] == 3
    assert facet(data, "data_kinds")["Client list"] == 1
    assert facet(data, "media") == {"Paper or films": 3, "Network server": 1, "Other": 1, "Other portable device": 1}
    assert facet(data, "organisation_sector") == {"Health": 4, "Technology": 1}
    assert facet(data, "organisation_country") == {"United States": 5}
    assert facet(data, "start_year") == {2009: 4, 2020: 1}
    assert facet(data, "vendor") == {
        "Merkle Direct Marketing": 1,
        "Service Benefits Plan Administrative Services Corp": 1,
    }
    assert data["facet_results"]["breach_types"]["type"] == "array"


async def test_an_array_facet_value_filters_the_rows(ds):
    response = await ds.client.get("/registry/breaches.json?data_kinds__arraycontains=Client+list&_shape=array")
    assert [r["title"] for r in response.json()] == ["Clearview AI: client list taken by an intruder"]
    response = await ds.client.get("/registry/breaches.json?_facet_size=max&organisation_sector=Health")
    data = response.json()
    assert facet(data, "breach_types") == {"Theft": 4}
    assert facet(data, "start_year") == {2009: 4}


async def test_an_international_body_counts_as_international(breaches):
    """An international body with no country is "International" in the country facet, not a
    country's (Interpol was counted as French)."""
    conn = sqlite3.connect(breaches.settings.intake_db)
    with conn:
        conn.execute("UPDATE organisations SET country = NULL WHERE slug = 'interpol'")
        interpol = conn.execute("SELECT id FROM organisations WHERE slug = 'interpol'").fetchone()[0]
        conn.execute(
            "UPDATE breaches SET organisation_id = ? WHERE slug = 'clearview-client-list-theft-2020'", [interpol]
        )
    conn.close()
    assert invoke("publish").exit_code == 0
    datasette = ours(breaches.settings.registry_db)
    data = (await datasette.client.get("/registry/breaches.json?_facet_size=max")).json()
    assert facet(data, "organisation_country") == {"United States": 4, "International": 1}
    rows = (
        await datasette.client.get("/registry/breaches.json?organisation_country=International&_shape=array")
    ).json()
    assert [r["organisation"] for r in rows] == ["Interpol"]


async def test_search_finds_breaches_by_organisation_vendor_and_words(ds):
    for words, expected in (
        ("merkle", {"BlueCross BlueShield Association: health information mailed by Merkle Direct Marketing"}),
        ("intruder", {"Clearview AI: client list taken by an intruder"}),
        ("binder", {"Brooke Army Medical Center: binder of treatment notes stolen from a car"}),
    ):
        response = await ds.client.get(f"/registry/breaches.json?_search={words}&_shape=array")
        assert {r["title"] for r in response.json()} == expected, words
    answer = await ds.client.get("/registry/breaches?_search=merkle")
    assert answer.status_code == 200 and "Merkle Direct Marketing" in page_text(answer)


async def test_the_table_page_reads_as_the_relationships_table(ds, breaches):
    response = await ds.client.get("/registry/breaches")
    assert response.status_code == 200
    body, shown = response.text, page_text(response)
    assert "Breaches" in shown and "Data exposed" in shown  # headings from metadata
    merkle = breaches.breach["hhs-2014-21-bcbsa-merkle"]
    assert f'href="/registry/breaches/{merkle}"' in body  # titles link to their pages
    bcbsa = breaches.organisation["bluecross-blueshield-association"]
    assert f'href="/registry/organisations/{bcbsa}"' in body
    assert 'href="/registry/breaches.csv' in body and 'href="/registry/breaches.json' in body
    assert 'href="/registry/new_breaches.atom"' in body  # its feed, announced


async def test_csv_and_json_carry_every_breach(ds):
    response = await ds.client.get("/registry/breaches.csv?_stream=on&_size=max")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 5
    brooke = next(r for r in rows if r["organisation"] == "Brooke Army Medical Center")
    assert (brooke["affected_low"], brooke["affected_high"], brooke["affected_unit"]) == ("1000", "1272", "people")
    assert brooke["breach_types"] == '["Theft"]'


async def test_a_breach_page_says_what_happened_to_whom_when_and_how_we_know(ds, breaches):
    merkle = breaches.breach["hhs-2014-21-bcbsa-merkle"]
    response = await ds.client.get(f"/registry/breaches/{merkle}")
    assert response.status_code == 200
    body, shown = response.text, page_text(response)
    assert "<title>BlueCross BlueShield Association: health information mailed by Merkle Direct Marketing" in body
    assert f'href="/registry/organisations/{breaches.organisation["bluecross-blueshield-association"]}"' in body
    assert f'href="/registry/organisations/{breaches.organisation["merkle-direct-marketing"]}"' in body
    assert f'href="/registry/relationships/{breaches.relationship}"' in body  # the relationship it revealed
    assert "Merkle Direct Marketing and BlueCross BlueShield Association (Contract)" in shown
    assert "Happened 7 October 2009" in shown  # day precision
    assert "Disclosed or notified April 2014" in shown  # month precision kept
    assert "Affected 15,000 people" in shown
    assert "Theft : A device, a file or papers holding the data were stolen." in shown
    assert "Health information" in shown and "Paper or films" in shown
    assert "Confirmed by the organisation, a regulator or a court." in shown
    assert "Sensitive data" not in shown  # a flag not set is not said
    assert "row 22 (Number 21)" in shown  # the citation's place in the HHS file
    assert "Breaches affecting 500 or more individuals (HHS OCR breach portal, 2014 snapshot)" in shown
    assert f"breach {merkle}, added 2026-01-05" in shown  # the suggested citation
    assert f"/submit/response?breach={merkle}" in body


async def test_a_range_and_the_disclosure_response_and_sensitive_flag(ds, breaches):
    brooke = await ds.client.get(f"/registry/breaches/{breaches.breach['hhs-2014-0-brooke-army-medical-center']}")
    assert "Affected 1,000–1,272 people" in page_text(brooke)
    assert "Sensitive data was exposed" in page_text(brooke)
    clearview = breaches.breach["clearview-client-list-theft-2020"]
    response = await ds.client.get(f"/registry/breaches/{clearview}")
    body, shown = response.text, page_text(response)
    assert "Happened February 2020" in shown and "The sources give no number." in shown
    assert f'href="/registry/disclosures/{breaches.disclosure}"' in body  # made known by
    assert "Clearview AI : Clarified — Tor Ekeland (February 2020)" in shown  # the response, with its author
    assert '<blockquote lang="fr">Malheureusement, les violations' in html.unescape(body)
    assert "Client list" in shown and "Usage records" in shown


async def test_an_unknown_breach_is_a_404(ds):
    assert (await ds.client.get("/registry/breaches/999999")).status_code == 404
    assert (await ds.client.get("/registry/breaches/abc")).status_code == 404


async def test_an_organisation_page_lists_its_breaches_as_breached_and_as_vendor_and_its_figures(ds, breaches):
    bcbsa = await ds.client.get(f"/registry/organisations/{breaches.organisation['bluecross-blueshield-association']}")
    shown = page_text(bcbsa)
    assert "Breaches of BlueCross BlueShield Association (2)" in shown
    for slug in ("hhs-2014-21-bcbsa-merkle", "hhs-2014-20-bcbsa-sbpas"):
        assert f'href="/registry/breaches/{breaches.breach[slug]}"' in bcbsa.text
    assert "15,000 people" in shown and "3,400 people" in shown
    merkle = await ds.client.get(f"/registry/organisations/{breaches.organisation['merkle-direct-marketing']}")
    assert "Its breaches that exposed clients' data (1)" in page_text(merkle)
    assert f'href="/registry/breaches?vendor_id={breaches.organisation["merkle-direct-marketing"]}"' in merkle.text
    amazon = await ds.client.get(f"/registry/organisations/{breaches.organisation['amazon']}")
    assert "3,630,000 US dollars (lobbying spend, 2018-07-01–2018-09-30)" in page_text(amazon)
    assert "Breaches of Amazon" not in page_text(amazon)


async def test_a_disclosure_page_shows_the_responses_to_it_and_the_breaches_it_made_known(ds, breaches):
    response = await ds.client.get(f"/registry/disclosures/{breaches.disclosure}")
    body, shown = response.text, page_text(response)
    assert "Breaches it made known (1)" in shown
    assert f'href="/registry/breaches/{breaches.breach["clearview-client-list-theft-2020"]}"' in body
    assert "What they said about it" in shown
    assert "Clearview AI : Clarified — Tor Ekeland" in shown
    assert "its servers were never accessed, and the flaw was fixed" in shown
    assert f"/submit/response?disclosure={breaches.disclosure}" in body


async def test_the_breach_feed_lists_breaches_with_its_filters(ds, breaches):
    response = await ds.client.get("/registry/new_breaches.atom")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/atom+xml")
    feed = ElementTree.fromstring(response.text)
    assert feed.find(f"{ATOM}title").text == "New breaches — Exposure registry"
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 5
    links = {e.find(f"{ATOM}link").get("href") for e in entries}
    assert f"http://localhost/registry/breaches/{breaches.breach['hhs-2014-2-alaska-dhss']}" in links
    for params, title, count in (
        ("organisation=bluecross-blueshield-association",
         "New breaches: of BlueCross BlueShield Association, as breached organisation or vendor", 2),
        ("organisation=merkle-direct-marketing",
         "New breaches: of Merkle Direct Marketing, as breached organisation or vendor", 1),
        ("vendor=Merkle+Direct+Marketing", "New breaches: through Merkle Direct Marketing", 1),
        ("country=US", "New breaches: in United States", 5),
        ("country=Belgique", "New breaches: in Belgium", 0),
        (f"disclosure={breaches.disclosure}", "New breaches: made known by Clearview AI's client list (February 2020)",
         1),
    ):  # fmt: skip
        feed = ElementTree.fromstring((await ds.client.get(f"/registry/new_breaches.atom?{params}")).text)
        assert feed.find(f"{ATOM}title").text == f"{title} — Exposure registry", params
        assert len(feed.findall(f"{ATOM}entry")) == count, params


async def test_pages_announce_the_breach_feed(ds, breaches):
    bcbsa = breaches.organisation["bluecross-blueshield-association"]
    for path, href in (
        ("/", "/registry/new_breaches.atom"),
        ("/registry/breaches", "/registry/new_breaches.atom"),
        (f"/registry/breaches?organisation_id={bcbsa}", f"/registry/new_breaches.atom?organisation={bcbsa}"),
        (f"/registry/organisations/{bcbsa}", f"/registry/new_breaches.atom?organisation={bcbsa}"),
        (
            f"/registry/disclosures/{breaches.disclosure}",
            f"/registry/new_breaches.atom?disclosure={breaches.disclosure}",
        ),
    ):
        body = (await ds.client.get(path)).text
        links = re.findall(r'<link rel="alternate" type="application/atom\+xml" title="[^"]*" href="([^"]*)">', body)
        assert href in links, (path, links)
    organisation = (await ds.client.get(f"/registry/organisations/{bcbsa}")).text
    assert "Atom feed of relationships" in organisation and "Atom feed of breaches" in organisation


async def test_front_door_and_overview_mention_breaches(ds):
    front = await ds.client.get("/")
    assert '<strong data-count="breaches">5</strong> breaches' in front.text
    assert 'id="breaches-way"><a href="/registry/breaches">All breaches</a>' in front.text
    overview = await ds.client.get("/overview")
    assert '<a href="/registry/breaches">5 breaches</a>' in overview.text


async def test_nothing_unpublished_reaches_the_pages(breaches):
    """A pending breach (as the intake holds one before review) has no page, row or feed entry."""
    conn = sqlite3.connect(breaches.settings.intake_db)
    with conn:
        conn.execute("UPDATE breaches SET status = 'pending' WHERE slug = 'hhs-2014-2-alaska-dhss'")
    conn.close()
    assert invoke("publish").exit_code == 0
    datasette = ours(breaches.settings.registry_db)
    gone = breaches.breach["hhs-2014-2-alaska-dhss"]
    assert (await datasette.client.get(f"/registry/breaches/{gone}")).status_code == 404
    assert query(breaches.settings.registry_db, "select count(*) from breaches") == [(4,)]
    assert f"breaches/{gone}" not in (await datasette.client.get("/registry/new_breaches.atom")).text


SHOTS = Path("/tmp/shots-breaches")


def reader_checks(page: Page, name: str, width: int) -> None:  # noqa: F811 - not the fixture
    """What every public page must pass, at this width: no sideways scroll, axe, a screenshot."""
    assert sideways_overflow(page) == 0, f"{name} at {width}px scrolls sideways"
    problems = axe_violations(page)
    assert problems == [], f"{name} at {width}px: {problems}"
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}-{width}.png", full_page=True)


@pytest.mark.slow
def test_breach_pages_in_chromium(breaches, browser: Browser, page: Page, js_errors: JsErrors):  # noqa: F811
    """The breach pages at 1280 and 390 px, with JavaScript and without: axe finds nothing
    serious, nothing scrolls sideways, nothing loads from elsewhere, and a reader can go from
    the table's facet to a breach, its organisation and back."""
    merkle = breaches.breach["hhs-2014-21-bcbsa-merkle"]
    bcbsa = breaches.organisation["bluecross-blueshield-association"]
    paths = {
        "breaches-table": "/registry/breaches",
        "breach": f"/registry/breaches/{merkle}",
        "clearview-breach": f"/registry/breaches/{breaches.breach['clearview-client-list-theft-2020']}",
        "organisation": f"/registry/organisations/{bcbsa}",
        "disclosure": f"/registry/disclosures/{breaches.disclosure}",
    }
    with serving(breaches.settings) as served:
        hosts = {urlsplit(served.datasette).netloc, urlsplit(served.intake).netloc}
        requests = Requests(page, hosts)
        for size in (DESKTOP, PHONE):
            page.set_viewport_size(size)
            for name, path in paths.items():
                answer = page.goto(f"{served.datasette}{path}")
                assert answer is not None and answer.status == 200, path
                reader_checks(page, name, size["width"])
        # A reader follows the table's "Theft" facet, then a breach, then its organisation.
        page.set_viewport_size(DESKTOP)
        page.goto(f"{served.datasette}/registry/breaches")
        page.locator(".facet-info[data-column='breach_types'] a", has_text="Theft").first.click()
        expect(page.locator("body")).to_contain_text("4 rows")
        page.locator(f"a[href='/registry/breaches/{merkle}']").first.click()
        expect(page.locator("h1")).to_have_text(
            "BlueCross BlueShield Association: health information mailed by Merkle Direct Marketing"
        )
        page.locator("#organisation a").click()
        expect(page.locator("#breaches-heading")).to_contain_text("Breaches of BlueCross BlueShield Association (2)")
        assert requests.elsewhere == []
        # Without JavaScript the pages say the same, and the facets are plain links. (axe and the
        # sideways measure run as scripts in the page: Playwright's evaluate waits forever on a
        # page whose scripts are off, so these pages are read through locators and screenshots.)
        context = browser.new_context(java_script_enabled=False)
        context.set_default_timeout(15_000)
        try:
            bare = context.new_page()
            for size in (DESKTOP, PHONE):
                bare.set_viewport_size(size)
                for name, path in paths.items():
                    answer = bare.goto(f"{served.datasette}{path}")
                    assert answer is not None and answer.status == 200, path
                    expect(bare.locator("h1")).to_be_visible()
                    bare.screenshot(path=SHOTS / f"{name}-nojs-{size['width']}.png", full_page=True)
            bare.goto(f"{served.datasette}/registry/breaches")
            bare.locator(".facet-info[data-column='data_kinds'] a", has_text="Client list").first.click()
            expect(bare.locator("body")).to_contain_text("Clearview AI: client list taken by an intruder")
            bare.goto(f"{served.datasette}/registry/breaches/{merkle}")
            expect(bare.locator("#affected")).to_have_text("15,000 people")
            expect(bare.locator("#relationship a")).to_have_attribute(
                "href", f"/registry/relationships/{breaches.relationship}"
            )
        finally:
            context.close()
    assert js_errors.found == []


def expected_counts(path: Path, column: str, keep) -> dict:
    """Each value of a JSON-array or plain column counted over the breaches `keep` accepts, in Python."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    counted: dict = {}
    for row in conn.execute("SELECT * FROM breaches"):
        if keep(row):
            values = json.loads(row[column]) if column in ("breach_types", "data_kinds", "media") else [row[column]]
            for value in values:
                if value is not None:
                    counted[value] = counted.get(value, 0) + 1
    conn.close()
    return counted


async def test_array_facets_count_the_same_from_the_cube_and_from_sql(breaches):
    """counted_facets.py's array cube and its json_each query give what counting the rows gives, for
    the unfiltered table, a column facet value, an array value, and a search."""
    path = breaches.settings.registry_db
    contains = lambda column, value: lambda row: value in json.loads(row[column])  # noqa: E731
    cases = [
        ("", lambda row: True),
        ("organisation_sector=Health", lambda row: row["organisation_sector"] == "Health"),
        ("breach_types__arraycontains=Theft", contains("breach_types", "Theft")),
        ("data_kinds__arraycontains=Names&organisation_sector=Health", contains("data_kinds", "Names")),
        ("media__arraycontains=Paper+or+films", contains("media", "Paper or films")),
        ("breach_types__arraynotcontains=Theft", lambda row: "Theft" not in json.loads(row["breach_types"])),
        ("_search=merkle", lambda row: row["vendor"] == "Merkle Direct Marketing"),
    ]
    datasette = ours(path)
    plugin = next(p for p in pm.get_plugins() if getattr(p, "__name__", "") == "counted_facets.py")
    plugin.ARRAY_CUBES.clear()
    for built in (False, True):  # before the cube is built (SQL), then from it
        if built:
            await datasette.invoke_startup()
            while plugin.BUILDING_ARRAYS:
                await asyncio.sleep(0.05)
            assert plugin.ARRAY_CUBES, "the array cube was not built"
        for query_string, keep in cases:
            data = (await datasette.client.get(f"/registry/breaches.json?_facet_size=max&{query_string}")).json()
            assert not data.get("facets_timed_out"), query_string
            for column in ("breach_types", "data_kinds", "media", "organisation_sector", "start_year", "vendor"):
                assert facet(data, column) == expected_counts(path, column, keep), (built, query_string, column)
