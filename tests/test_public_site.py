"""Every kind of public page, as a reader meets it in Chromium: at 1280x800 and on a 390 px
phone, with axe-core in the page, and a crawl of every kind of link from the front door.

The pages are those of the seeded registry, served by a real `registry serve`; which
relationship, vendor, client and disclosure to open is read from registry.db."""

from __future__ import annotations

import re
import shutil
import sqlite3
from collections import deque
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page

from registry.config import Settings, load_settings
from tests.conftest import ROOT, Served, serving
from tests.site import DESKTOP, PHONE, Requests, axe_violations, sideways_overflow
from tests.test_browser import TIMEOUT_MS, JsErrors, launched

pytestmark = pytest.mark.slow

SHOTS = ROOT / "test-artifacts" / "public-site"
SITE = "Exposure registry"
CRAWL_LIMIT = 400  # distinct kinds of link (path shape and query keys) fetched by the crawl


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, seeded_template: Path) -> Iterator[tuple[Served, Settings]]:
    folder = tmp_path_factory.mktemp("public-site") / "instance"
    shutil.copytree(seeded_template, folder)
    settings = load_settings({"REGISTRY_INSTANCE": str(folder)})
    with serving(settings) as served:
        yield served, settings


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with launched() as browser:  # one browser for the module's tests
        yield browser


def one(settings: Settings, sql: str) -> int:
    conn = sqlite3.connect(f"file:{settings.registry_db}?mode=ro", uri=True)
    try:
        found = conn.execute(sql).fetchone()
    finally:
        conn.close()
    assert found is not None and found[0] is not None, sql
    return int(found[0])


def page_types(settings: Settings) -> dict[str, str]:
    """Each kind of public page, by a name, at a path of the seeded registry."""
    vendor = one(settings, "select id from organisations where name = 'Clearview AI'")
    client = one(settings, "select client_id from relationships where response_count > 0 order by id limit 1")
    relationship = one(
        settings, "select id from relationships where response_count > 0 and citation_count > 0 order by id limit 1"
    )
    disclosure = one(settings, "select disclosure_id from relationships where disclosure_id is not null limit 1")
    return {
        "front door": "/",
        "relationships table": "/registry/relationships",
        "organisations table": "/registry/organisations",
        "disclosures table": "/registry/disclosures",
        "sources table": "/registry/sources",
        "citations table": "/registry/citations",
        "responses table": "/registry/responses",
        "relationship": f"/registry/relationships/{relationship}",
        "organisation": f"/registry/organisations/{client}",
        "vendor": f"/registry/organisations/{vendor}",
        "disclosure": f"/registry/disclosures/{disclosure}",
        "overview": "/overview",
        "about": "/about",
        "downloads": "/downloads",
        "search results": "/registry/relationships?_search=police",
        "canned query": "/registry/clients_of_vendor?vendor=Clearview+AI",
    }


@pytest.fixture
def browsing(chromium: Browser, site: tuple[Served, Settings]) -> Iterator[tuple[Page, JsErrors, Requests]]:
    served, _ = site
    context = chromium.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors = JsErrors()
    errors.watch(page)
    hosts = {urlsplit(served.datasette).netloc, urlsplit(served.intake).netloc}
    requests = Requests(page, hosts)
    try:
        yield page, errors, requests
    finally:
        context.close()


def headings_in_order(page: Page) -> list[str]:
    """Problems with the page's headings: not exactly one h1, or a level skipped going down."""
    levels = page.eval_on_selector_all("h1, h2, h3, h4, h5, h6", "hs => hs.map(h => Number(h.tagName[1]))")
    problems = [] if levels.count(1) == 1 else [f"{levels.count(1)} h1 elements"]
    for before, after in zip([0, *levels], levels, strict=False):
        if after > before + 1:
            problems.append(f"h{after} after h{before}")
    return problems


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_every_page_type_reads_well(site, browsing, viewport):
    served, settings = site
    page, errors, requests = browsing
    page.set_viewport_size(viewport)
    SHOTS.mkdir(parents=True, exist_ok=True)
    titles: dict[str, str] = {}
    problems: list[str] = []
    for name, path in page_types(settings).items():
        response = page.goto(served.datasette + path)
        assert response is not None
        if response.status != 200:
            problems.append(f"{name} {path}: HTTP {response.status}")
            continue
        page.screenshot(path=SHOTS / f"{name.replace(' ', '-')}-{viewport['width']}.png", full_page=True)
        if page.get_attribute("html", "lang") != "en":
            problems.append(f"{name}: html lang is {page.get_attribute('html', 'lang')!r}")
        title = page.title()
        titles[name] = title
        if not title.endswith(SITE) or (name != "front door" and title == SITE):
            problems.append(f"{name}: title {title!r} does not name its subject and the site")
        problems += [f"{name}: {p}" for p in headings_in_order(page)]
        if viewport is PHONE and (overflow := sideways_overflow(page)) > 0:
            problems.append(f"{name}: the page scrolls {overflow} px sideways at 390 px")
        problems += [f"{name}: {v}" for v in axe_violations(page)]
    repeated = {t for t in titles.values() if list(titles.values()).count(t) > 1}
    problems += [f"the title {t!r} is shared by several kinds of page" for t in repeated]
    problems += errors.found
    problems += [f"request to another host: {url}" for url in requests.elsewhere]
    assert not problems, "\n".join(problems)


def test_the_relationships_table_shows_search_and_five_rows_on_the_first_screen(site, browsing):
    served, _ = site
    page, errors, _ = browsing
    page.set_viewport_size(DESKTOP)
    page.goto(f"{served.datasette}/registry/relationships")
    search = page.locator('input[name="_search"]').first.bounding_box()
    rows = page.locator("table.rows-and-columns tbody tr")
    assert rows.count() >= 5
    fifth = rows.nth(4).bounding_box()
    assert search is not None and fifth is not None
    assert search["y"] + search["height"] <= DESKTOP["height"], search
    assert fifth["y"] + fifth["height"] <= DESKTOP["height"], fifth
    assert errors.found == []


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"a": "href", "link": "href", "img": "src", "script": "src", "form": "action"}.get(tag)
        for key, value in attrs:
            if key == wanted and value and not value.startswith(("#", "mailto:", "javascript:", "data:")):
                self.found.append(value)


def kind_of(url: str) -> tuple[str, str, frozenset[str]]:
    """A link's kind: its host, its path with numbers as N, and its query's keys."""
    parts = urlsplit(url)
    return parts.netloc, re.sub(r"\d+", "N", parts.path), frozenset(k for k, _ in parse_qsl(parts.query))


def test_a_crawl_from_the_front_door_meets_no_broken_link(site):
    """Every kind of link reachable from the front door, on both apps, answers below 400
    (a withdrawn relationship's 410 is the one intended exception). Links to other hosts
    are not followed; the public site's own pages are followed, the intake app's fetched."""
    served, _ = site
    own = urlsplit(served.datasette).netloc
    intake = urlsplit(served.intake).netloc
    queue: deque[tuple[str, str]] = deque([(served.datasette + "/", "(start)")])
    seen: set[tuple[str, str, frozenset[str]]] = {kind_of(served.datasette + "/")}
    broken: list[str] = []
    fetched = 0
    with httpx.Client(timeout=30, follow_redirects=True) as client:
        while queue and fetched < CRAWL_LIMIT:
            url, found_on = queue.popleft()
            fetched += 1
            with client.stream("GET", url) as response:
                type_ = response.headers.get("content-type", "")
                body = response.read().decode("utf-8", "replace") if "text/html" in type_ else ""
            gone = response.status_code == 410 and re.search(r"/registry/relationships/\d+$", urlsplit(url).path)
            if response.status_code >= 400 and not gone:
                broken.append(f"{url} (linked from {found_on}): HTTP {response.status_code}")
                continue
            if urlsplit(str(response.url)).netloc != own:
                continue  # the intake app's pages are checked, not crawled
            parser = Links()
            parser.feed(body)
            for link in parser.found:
                target = urljoin(str(response.url), link).split("#")[0]
                parts = urlsplit(target)
                if parts.netloc not in (own, intake) or "_stream" in parts.query:
                    continue
                if (kind := kind_of(target)) not in seen:
                    seen.add(kind)
                    queue.append((target, url))
    assert fetched > 30, f"the crawl found only {fetched} pages"
    assert not broken, "\n".join(broken)
