"""A contributor submits a breach in Chromium (suggestions, tick boxes) and a reviewer
approves it, against `registry serve`; the form passes axe."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import Served, query
from tests.site import axe_violations
from tests.test_browser import PASSWORD, REVIEWER, browser, js_errors, page, reviewer, servers  # noqa: F401

pytestmark = pytest.mark.slow
TITLE = "Theft of Clearview AI's client list (browser test)"


def fill_breach(tab: Page, served: Served) -> str:
    tab.goto(f"{served.intake}/submit/breach")
    expect(tab.get_by_role("heading", level=1)).to_have_text("Submit a breach")
    organisation = tab.locator("#organisation-name")
    organisation.press_sequentially("Clearview", delay=30)
    suggestion = tab.locator("#organisation-suggestions button.suggestion", has_text="Clearview AI").first
    expect(suggestion).to_be_visible()
    suggestion.click()
    expect(tab.locator("#organisation-id")).to_have_value(re.compile(r"^\d+$"))
    tab.locator("#title").fill(TITLE)
    tab.locator("#start_date").fill("2020-02")
    tab.locator("#affected_low").fill("2,200")
    tab.locator("#affected_unit").select_option("records")
    tab.get_by_label("Unauthorised access or disclosure").check()
    tab.get_by_label("Client list").check()
    tab.get_by_label("Usage records").check()
    tab.locator("#verified").check()
    tab.locator("#description").fill("An intruder gained access to Clearview AI's list of clients.")
    tab.locator("#source-title").fill("Clearview AI's client list stolen (browser test)")
    tab.locator("#source-language").fill("en")
    tab.locator("#locator").fill("paragraph 1")
    tab.get_by_role("button", name="Send for review").click()
    reference = tab.locator("#reference")
    expect(reference).to_have_text(re.compile(r"^S-[0-9A-Z]{10}$"))
    return reference.inner_text()


def test_a_breach_is_submitted_reviewed_and_published_in_a_browser(page, servers, seeded, js_errors):  # noqa: F811
    page.goto(f"{servers.intake}/submit/breach")
    assert axe_violations(page) == []
    reference = fill_breach(page, servers)

    page.goto(f"{servers.intake}/login")
    page.locator("#name").fill(REVIEWER)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    row = page.locator(f'#queue tr[data-reference="{reference}"]')
    expect(row).to_contain_text(f"Breach: {TITLE}")
    row.get_by_role("link", name=reference).click()
    preview = page.locator('table[data-preview="breach"]')
    expect(preview).to_contain_text("Client list; Usage records")
    expect(preview).to_contain_text("2,200 records")
    page.get_by_role("button", name="Approve and publish").click()
    expect(page).to_have_url(f"{servers.intake}/review")
    assert query(seeded.registry_db, "select title, data_kinds from breaches where title = ?", [TITLE]) == [
        (TITLE, '["Client list","Usage records"]')
    ]
    assert js_errors.found == []
