"""The public site's frame in Chromium: the front door, About and overview at 1280 and 390
px (no sideways scroll, no serious axe violation, no console error, no other host), the
front door's search finding a seeded client, and screenshots of each for a person to look at."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ROOT, serving
from tests.site import DESKTOP, PHONE, Requests, axe_violations, sideways_overflow
from tests.test_browser import JsErrors, browser, js_errors, page  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow

SHOTS = Path(os.environ.get("REGISTRY_SHOTS", ROOT / "test-artifacts"))


def test_front_door_about_and_overview_work_on_desktop_and_phone(seeded, page: Page, js_errors: JsErrors):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    with serving(seeded) as served:
        requests = Requests(page, {urlsplit(served.datasette).netloc, urlsplit(served.intake).netloc})
        pages = {
            "front-door": "/",
            "about": "/about",
            "overview": "/overview",
            "relationships": "/registry/relationships",
        }
        for size_name, size in [("1280", DESKTOP), ("390", PHONE)]:
            page.set_viewport_size(size)
            for name, path in pages.items():
                page.goto(served.datasette + path)
                page.screenshot(path=SHOTS / f"{name}-{size_name}.png", full_page=True)
                if name == "relationships":
                    continue  # another part of issue 13 lays out the table pages
                assert sideways_overflow(page) == 0, (name, size_name)
                assert axe_violations(page) == [], (name, size_name)
            page.goto(served.intake + "/submit/relationship")
            page.screenshot(path=SHOTS / f"intake-{size_name}.png", full_page=True)
            assert sideways_overflow(page) == 0, ("intake", size_name)

        # The front door's search finds a client by an alias.
        page.goto(served.datasette + "/")
        page.locator("#front-search").fill("DoJ")
        page.locator("#front-search").press("Enter")
        expect(page).to_have_url(f"{served.datasette}/registry/relationships?_search=DoJ")
        expect(page.locator("table.rows-and-columns tbody")).to_contain_text("United States Department of Justice")

        # The skip link and the navigation are reachable from the keyboard, each app linking to the other.
        page.goto(served.datasette + "/about")
        page.keyboard.press("Tab")
        expect(page.locator(".skip-link")).to_be_focused()
        page.locator(".site-nav a", has_text="Contribute").click()
        expect(page).to_have_url(f"{served.intake}/submit")
        page.locator(".site-nav a", has_text="About").click()
        expect(page).to_have_url(f"{served.datasette}/about")

        # A country on the map leads to its rows (Belgium is small: by the keyboard).
        page.goto(served.datasette + "/overview")
        page.locator('#map a:has(path[data-code="BE"])').focus()
        page.keyboard.press("Enter")
        expect(page.locator("table.rows-and-columns tbody")).to_contain_text("Police fédérale")
    assert requests.elsewhere == []
    assert js_errors.found == []
