"""A reader's journey in Chromium through Datasette: facet, search, organisation page,
source, CSV, overview. Screenshots of the main pages are kept in test-artifacts/."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ROOT, serving
from tests.test_browser import JsErrors, browser, js_errors, page  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow

ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture
def shots() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def test_reader_journey(seeded, page: Page, js_errors: JsErrors, shots: Path):  # noqa: F811 - fixtures
    with serving(seeded) as served:
        table = f"{served.datasette}/registry/relationships"
        page.goto(table)
        expect(page.locator("h1")).to_contain_text("Vendor-client relationships")
        page.screenshot(path=shots / "relationships.png", full_page=True)

        # A facet: the client country Belgium.
        page.locator('a[href*="client_country=Belgium"]').first.click()
        expect(page).to_have_url(re.compile(r"client_country=Belgium"))
        expect(page.locator("table.rows-and-columns tbody tr")).to_have_count(1)
        expect(page.locator("table.rows-and-columns tbody")).to_contain_text("Police fédérale")

        # Search by an alias.
        page.goto(table)
        page.locator('input[name="_search"]').fill("DoJ")
        page.locator('input[name="_search"]').press("Enter")
        expect(page.locator("table.rows-and-columns tbody tr")).to_have_count(1)
        expect(page.locator("table.rows-and-columns tbody")).to_contain_text("United States Department of Justice")

        # The organisation page, then a source it cites.
        page.locator("table.rows-and-columns tbody a", has_text="United States Department of Justice").first.click()
        expect(page.locator("h1")).to_have_text("United States Department of Justice")
        expect(page.locator("#vendors")).to_contain_text("Clearview AI")
        page.screenshot(path=shots / "organisation.png", full_page=True)
        page.locator("#vendors .citations a[href*='/registry/sources/']").first.click()
        expect(page).to_have_url(re.compile(r"/registry/sources/\d+"))
        expect(page.locator(".row-kind")).to_contain_text("sources table")
        expect(page.locator("body")).to_contain_text("Clearview")  # the cited article's title
        page.screenshot(path=shots / "source.png", full_page=True)

        # A CSV download of a filtered view.
        download = page.request.get(f"{table}.csv?client_country=Belgium")
        assert download.ok
        (row,) = list(csv.DictReader(io.StringIO(download.text())))
        assert (row["client"], row["client_country"]) == ("Police fédérale", "Belgium")

        # The overview's charts render.
        page.goto(f"{served.datasette}/overview")
        expect(page.locator("figure.chart")).to_have_count(5)
        expect(page.locator('figure[data-chart="vendor"]')).to_contain_text("Clearview AI")
        page.screenshot(path=shots / "overview.png", full_page=True)
    assert js_errors.found == []
