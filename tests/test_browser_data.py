"""In Chromium: a reader keeps to US federal agencies with the level facet, searches the
organisations by an alias, and a contributor sees the level the name shows. Each page
passes axe (no serious or critical violation), fits a phone and stays on its own hosts.
Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ROOT, serving
from tests.site import DESKTOP, PHONE, Requests, axe_violations, sideways_overflow
from tests.test_browser import JsErrors, browser, js_errors, page  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow

ARTIFACTS = ROOT / "test-artifacts"


# Datasette 0.65's own page furniture (no lang, unlabelled filter inputs, the Apply button's
# contrast, the facet's cross link) is the table pages' redesign's (issue 13), not this file's:
# left out here until that lands, every other rule holds. So is its table wider than a phone
# (3,318 px on site-base), which that work puts in a box of its own.
DATASETTE_FURNITURE = ("html-has-lang", "label", "select-name", "color-contrast", "link-in-text-block")


def looked_at(shown: Page, name: str, tolerated: tuple[str, ...] = (), *, fits_phone: bool = True) -> None:
    """Screenshots at both sizes; no serious axe violation; no sideways scroll on a phone."""
    ARTIFACTS.mkdir(exist_ok=True)
    for size, label in ((DESKTOP, "desktop"), (PHONE, "phone")):
        shown.set_viewport_size(size)
        shown.screenshot(path=Path(ARTIFACTS / f"data-{name}-{label}.png"), full_page=True)
        found = [v for v in axe_violations(shown) if not v.startswith(tolerated)]
        assert found == [], (name, label)
        if size == PHONE and fits_phone:
            assert sideways_overflow(shown) <= 0, name


def test_level_facet_organisation_search_and_form(seeded, page: Page, js_errors: JsErrors):  # noqa: F811
    with serving(seeded) as served:
        hosts = {urlsplit(served.datasette).netloc, urlsplit(served.intake).netloc}
        requests = Requests(page, hosts)

        page.goto(f"{served.datasette}/registry/relationships?client_country=United+States")
        page.locator('a[href*="client_government_level=National"]').first.click()
        expect(page).to_have_url(re.compile(r"client_government_level=National"))
        rows = page.locator("table.rows-and-columns tbody")
        expect(rows).to_contain_text("Federal Bureau of Investigation")
        expect(rows).not_to_contain_text("Walmart")
        looked_at(page, "relationships-federal", DATASETTE_FURNITURE, fits_phone=False)

        page.goto(f"{served.datasette}/registry/organisations")
        page.locator('input[name="_search"]').fill("DoJ")
        page.locator('input[name="_search"]').press("Enter")
        expect(page).to_have_url(re.compile(r"_search=DoJ"))
        expect(page.locator("table.rows-and-columns tbody tr")).to_have_count(1)
        expect(page.locator("table.rows-and-columns tbody")).to_contain_text("United States Department of Justice")
        looked_at(page, "organisations-search", DATASETTE_FURNITURE, fits_phone=False)

        page.goto(f"{served.intake}/submit/organisation")
        page.locator("#name").fill("Pinellas County Sheriff's Office")
        page.locator("#kind").select_option("public-agency")
        page.locator("button[type=submit]").click()  # no sector: the form comes back, level filled in
        expect(page.locator("#government_level")).to_have_value("local")
        looked_at(page, "organisation-form")

        assert requests.elsewhere == []
        # The form sent back with its errors answers 422, which Chromium logs as a failed load.
        assert [e for e in js_errors.found if "status of 422" not in e] == []
