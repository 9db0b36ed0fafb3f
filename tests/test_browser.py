"""A contributor, a reviewer and a reader in a real browser against `registry serve`.

Chromium comes from the system ($REGISTRY_CHROMIUM, default /usr/bin/chromium) or Playwright's own
download (tests/conftest.py:chromium_executable); the test fails, not skips, without one."""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from registry.config import Settings
from registry.services.accounts import create_user
from registry.store.connection import connect
from tests.conftest import Served, chromium_executable, serving

pytestmark = pytest.mark.slow

CHROMIUM = chromium_executable()  # None: Playwright's own, which scripts/ensure-browser installed
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 15_000
REVIEWER, PASSWORD = "rita.reviewer", "correct horse battery staple"
CLIENT = "Wells Fargo Advisors"
SOURCE_URL = "https://example.org/leaked-list"


@dataclass
class JsErrors:
    """Uncaught exceptions and console errors, with the page they happened on."""

    found: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("pageerror", lambda e: self.found.append(f"{page.url}: uncaught {e}"))

        def on_console(message: ConsoleMessage) -> None:
            # Neither app serves a favicon; the browser's own request for it is not the page's error.
            if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
                self.found.append(f"{page.url}: console error: {message.text} ({message.location})")

        page.on("console", on_console)


@pytest.fixture
def reviewer(seeded: Settings) -> tuple[str, str]:
    db = connect(seeded.intake_db)
    try:
        create_user(db, REVIEWER, PASSWORD, "reviewer")
    finally:
        db.close()
    return REVIEWER, PASSWORD


@pytest.fixture
def servers(seeded: Settings, reviewer: tuple[str, str]) -> Iterator[Served]:
    """Both servers of `registry serve` on free ports, stopped with SIGTERM whatever happens."""
    with serving(seeded) as served:
        yield served
    assert served.process.returncode == 0, served.output


@contextlib.contextmanager
def launched() -> Iterator[Browser]:
    """Headless Chromium (CHROMIUM, with the flags this machine's closed network needs), closed afterwards."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser() -> Iterator[Browser]:
    with launched() as browser:
        yield browser


@pytest.fixture
def js_errors() -> JsErrors:
    return JsErrors()


@pytest.fixture
def page(browser: Browser, js_errors: JsErrors) -> Iterator[Page]:
    expect.set_options(timeout=TIMEOUT_MS)
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    page = context.new_page()
    js_errors.watch(page)
    try:
        yield page
    finally:
        context.close()


def submit_relationship(page: Page, servers: Served) -> str:
    """Fill the relationship form as a contributor would; return the reference shown."""
    page.goto(f"{servers.intake}/submit/relationship")
    expect(page.get_by_role("heading", level=1)).to_have_text("Submit a vendor-client relationship")

    vendor = page.locator("#vendor-name")
    vendor.press_sequentially("Clearview", delay=30)
    suggestion = page.locator("#vendor-suggestions button.suggestion", has_text="Clearview AI").first
    expect(suggestion).to_be_visible()
    suggestion.click()
    expect(page.locator("#vendor-suggestions button.suggestion")).to_have_count(0)
    expect(vendor).to_have_value("Clearview AI")
    expect(page.locator("#vendor-id")).to_have_value(re.compile(r"^\d+$"))
    # suggest.js marks the new-organisation fields hidden once an existing one is picked.
    expect(page.locator(".field", has=page.locator("#vendor-kind"))).to_have_attribute("hidden", "")

    client = page.locator("#client-name")
    client.press_sequentially("Wells Fargo", delay=30)
    existing = page.locator("#client-suggestions button.suggestion", has_text="Wells Fargo")
    expect(existing.first).to_be_visible()
    client.press_sequentially(CLIENT.removeprefix("Wells Fargo"), delay=30)
    expect(client).to_have_value(CLIENT)
    expect(page.locator("#client-id")).to_have_value("")
    page.locator("#client-is_new").check()
    page.locator("#client-kind").select_option("company")
    page.locator("#client-sector").select_option("banking-finance")
    page.locator("#client-country").fill("États-Unis")

    page.locator("#arrangement").select_option("unknown")
    page.locator("#start_date").fill("2020-02")
    page.locator("#summary").fill(f"{CLIENT} appears on Clearview AI's leaked client list.")
    page.locator("#source-title").fill("Clearview AI's leaked client list (browser test)")
    page.locator("#source-url").fill(SOURCE_URL)
    page.locator("#source-publisher").fill("Example News")
    page.locator("#source-language").fill("en")
    page.locator("#source-published_date").fill("2020-02-27")
    page.locator("#locator").fill("row 1312")
    page.locator("#quote").fill("Wells Fargo Advisors: 12 searches")

    page.get_by_role("button", name="Send for review").click()
    reference = page.locator("#reference")
    expect(reference).to_have_text(re.compile(r"^S-[0-9A-Z]{10}$"))
    return reference.inner_text()


def review_and_approve(page: Page, servers: Served, reference: str, screenshot: Path) -> None:
    """Log in as a reviewer, check the preview and duplicates, approve."""
    page.goto(f"{servers.intake}/login")
    page.locator("#name").fill(REVIEWER)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{servers.intake}/review")
    expect(page.get_by_role("heading", level=1)).to_have_text("Review queue")

    row = page.locator(f'#queue tr[data-reference="{reference}"]')
    expect(row).to_contain_text(f"Clearview AI → {CLIENT}")
    row.get_by_role("link", name=reference).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Submission {reference}")

    duplicates = page.locator("#duplicates")
    expect(duplicates).to_contain_text(CLIENT)
    expect(duplicates.locator("li").filter(has_text=re.compile(r"^\s*Wells Fargo\b(?! Advisors)"))).not_to_have_count(0)

    preview = page.locator("#preview")
    expect(preview.locator("tr", has=page.locator("th", has_text="Vendor")).locator("td")).to_have_text("Clearview AI")
    expect(preview.locator("tr", has=page.locator("th", has_text=re.compile(r"^Client$"))).locator("td")).to_have_text(
        f"{CLIENT} (new)"
    )
    expect(preview.locator("tr", has=page.locator("th", has_text="Client country")).locator("td")).to_have_text(
        "United States"
    )
    expect(preview.locator("tr", has=page.locator("th", has_text="Client sector")).locator("td")).to_have_text(
        "Banking and finance"
    )
    expect(preview.locator("tr", has=page.locator("th", has_text="Arrangement")).locator("td")).to_have_text("Unknown")
    page.screenshot(path=str(screenshot), full_page=True)

    page.get_by_role("button", name="Approve and publish").click()
    expect(page).to_have_url(f"{servers.intake}/review")
    expect(page.locator(".flash")).to_have_text("Approved and published.")
    expect(page.locator(f'#queue tr[data-reference="{reference}"]')).to_have_count(0)


def check_datasette(page: Page, servers: Served) -> None:
    """The new relationship is public, with labels, in the HTML table and the CSV."""
    page.goto(f"{servers.datasette}/registry/relationships")
    expect(page.locator("#facet-client_country a", has_text=re.compile(r"^United States$"))).to_have_count(1)
    page.locator("#facet-vendor a", has_text=re.compile(r"^Clearview AI$")).click()
    expect(page).to_have_url(re.compile(r"[?&]vendor=Clearview\+AI(&|$)"))
    expect(page.locator("#facet-vendor li", has_text="Clearview AI")).to_be_visible()

    page.goto(f"{page.url}&client=Wells+Fargo+Advisors")
    rows = page.locator("table.rows-and-columns tbody tr")
    expect(rows).to_have_count(1)
    for column, value in (
        ("vendor", "Clearview AI"),
        ("client", CLIENT),
        ("arrangement", "Unknown"),
        ("client_sector", "Banking and finance"),
        ("client_country", "United States"),
        ("start_date", "2020-02"),
    ):
        expect(rows.locator(f"td.col-{column}")).to_have_text(value)

    response = page.request.get(f"{servers.datasette}/registry/relationships.csv?client=Wells+Fargo+Advisors")
    assert response.status == 200, response.text()
    found = [r for r in csv.DictReader(io.StringIO(response.text())) if r["client"] == CLIENT]
    assert len(found) == 1, response.text()
    labels = {k: found[0][k] for k in ("vendor", "arrangement", "client_sector", "client_country", "start_date")}
    assert labels == {
        "vendor": "Clearview AI",
        "arrangement": "Unknown",
        "client_sector": "Banking and finance",
        "client_country": "United States",
        "start_date": "2020-02",
    }


def test_contributor_reviewer_and_reader_journey(
    servers: Served, page: Page, js_errors: JsErrors, tmp_path: Path
) -> None:
    screenshot = tmp_path / "review.png"
    try:
        reference = submit_relationship(page, servers)
        review_and_approve(page, servers, reference, screenshot)
        check_datasette(page, servers)
    except Exception:
        # The page's JavaScript errors may be the cause of a failure: show them with it.
        if js_errors.found:
            print("JavaScript errors:", *js_errors.found, sep="\n  ")
        raise
    assert screenshot.stat().st_size > 0
    assert js_errors.found == []
