"""A reviewer checks a breach import against its source in Chromium: the real HHS 2014 file
imported with `registry import` (no --approve, so it waits for review), its review page opened
at 390 px with JavaScript and without. The breaches table reads as the file does (the first
row's organisation, its date in words, its count as '1,000 people'), the nine-column tables
scroll inside their own boxes and never the page, and axe finds no serious or critical
violation. Screenshots are left in test-artifacts/ for a person to look at."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from registry.web.filters import amount, moment, number, partial_date
from tests.conftest import ROOT, invoke, query
from tests.site import PHONE, axe_violations, sideways_overflow
from tests.test_browser import PASSWORD, REVIEWER, TIMEOUT_MS, browser, js_errors, page, reviewer, servers  # noqa: F401
from tests.test_import_breaches import FILES, MAPPINGS
from tests.test_import_review_breaches import first_rows

SHOTS = Path(os.environ.get("REGISTRY_SHOTS", ROOT / "test-artifacts"))


def test_counts_and_dates_read_as_words():
    assert amount(1000, 5000, "people") == "1,000 to 5,000 people"
    assert amount(1000.0, 1000.0, "records") == "1,000 records"  # a float from SQLite, no '.0'
    assert amount(None, None, "people") == ""
    assert number(2.5) == "2.5"
    assert moment("2026-12-03T19:11:57Z") == "3 December 2026, 19:11 UTC"
    assert moment("2026-12-03") == "3 December 2026"
    assert partial_date("2020-03") == "March 2020"
    assert partial_date("2020-00") == "2020-00" and partial_date("2020-13") == "2020-13"  # no month 0 or 13


def check_page(tab: Page, name: str) -> None:
    """What the reviewer must see on the review page as it is now, in `tab`."""
    first = first_rows(2014, 1)[0]  # Brooke Army Medical Center, 1000 affected, 10/16/2009
    table = tab.locator("#preview-breaches")
    expect(tab.get_by_role("heading", name="Breaches it would publish: the first 20")).to_be_visible()
    expect(tab.get_by_role("table", name="Breaches it would publish")).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(20)
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    wanted = ["Organisation breached", "Vendor (business associate)", "When", "People or records affected"]
    assert headers[2:6] == wanted
    cells = [c.strip() for c in table.locator("tbody tr").first.locator("td").all_inner_texts()]
    assert re.sub(r"\s+", " ", cells[2]) == f"{first['Name_of_Covered_Entity']} (new), United States"
    assert cells[4] == "16 October 2009"
    assert int(first["Individuals_Affected"]) == 1000 and cells[5] == "1,000 people"
    # The wide tables scroll inside their boxes, which a keyboard can reach; the page does not.
    region = tab.get_by_role("region", name="Breaches it would publish: the first 20")
    assert region.evaluate("e => e.scrollWidth > e.clientWidth"), "the table fits: nothing to scroll"
    assert region.get_attribute("tabindex") == "0"
    assert sideways_overflow(tab) == 0, name
    tab.screenshot(path=SHOTS / f"review-breaches-{name}.png", full_page=True)


@pytest.mark.slow
def test_a_reviewer_reads_an_hhs_breach_import_on_a_phone(servers, seeded, browser: Browser, page: Page, js_errors):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    result = invoke("import", str(FILES[2014]), "--mapping", str(MAPPINGS[2014]))
    assert result.exit_code == 0, result.output
    reference = re.search(r"S-[0-9A-Z]{10}", result.output).group(0)  # type: ignore[union-attr]
    [(submission_id,)] = query(seeded.intake_db, "select id from submissions where reference = ?", [reference])
    url = f"{servers.intake}/review/submissions/{submission_id}"

    page.set_viewport_size(PHONE)
    page.goto(f"{servers.intake}/login")
    page.locator("#name").fill(REVIEWER)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{servers.intake}/review")
    page.goto(url)
    check_page(page, "390-js")
    assert axe_violations(page) == []
    assert js_errors.found == []

    # The same page with JavaScript off, in the same session.
    bare_context = browser.new_context(
        viewport=PHONE, java_script_enabled=False, storage_state=page.context.storage_state()
    )
    bare_context.set_default_timeout(TIMEOUT_MS)
    try:
        bare = bare_context.new_page()
        bare.goto(url)
        check_page(bare, "390-nojs")
    finally:
        bare_context.close()
