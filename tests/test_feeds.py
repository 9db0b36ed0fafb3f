"""The Atom feeds a reporter follows, read with feedparser from a real `registry serve`:
entries link to their relationship's page, titles name the filter, feeds per organisation
(as vendor or client), per disclosure and per country (code, English or French name), an
empty feed stays valid, and pages announce their feed with <link rel="alternate">."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import feedparser
import httpx
import pytest

from registry.config import Settings, load_settings
from tests.conftest import Served, query, serving

pytestmark = pytest.mark.slow

FEED = "/registry/new_relationships.atom"
NEWEST = "order by published_at desc, id desc limit 100"


@pytest.fixture(scope="module")
def site(seeded_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Served]]:
    folder = tmp_path_factory.mktemp("feeds") / "instance"
    shutil.copytree(seeded_template, folder)
    settings = load_settings({"REGISTRY_INSTANCE": str(folder)})
    with serving(settings) as served:
        yield settings, served


def read(served: Served, path: str) -> feedparser.FeedParserDict:
    response = httpx.get(f"{served.datasette}{path}", timeout=30)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    return feed


def ids(feed: feedparser.FeedParserDict) -> list[int]:
    return [int(e.id.rsplit(":", 1)[1]) for e in feed.entries]


def expected(settings: Settings, where: str, params: tuple = ()) -> list[int]:
    return [i for (i,) in query(settings.registry_db, f"select id from relationships where {where} {NEWEST}", params)]


def test_every_entry_links_to_its_relationship_page(site):
    settings, served = site
    feed = read(served, FEED)
    assert ids(feed) == expected(settings, "1")
    assert len(feed.entries) > 10
    with httpx.Client() as client:
        for entry, number in zip(feed.entries, ids(feed), strict=True):
            (link,) = [link for link in entry.links if link.rel == "alternate"]
            assert link.href == f"{served.datasette}/registry/relationships/{number}"
            assert client.get(link.href).status_code == 200, link.href


@pytest.mark.parametrize(
    ("params", "title"),
    [
        ("", "New relationships — Exposure registry"),
        ("?vendor=Clearview+AI", "New relationships: Clearview AI clients — Exposure registry"),
        ("?vendor=clearview-ai&country=Belgique",
         "New relationships: Clearview AI clients in Belgium — Exposure registry"),
        ("?country=FR", "New relationships: clients in France — Exposure registry"),
        ("?organisation=clearview-ai", "New relationships: Clearview AI, as vendor or client — Exposure registry"),
        ("?vendor=Nobody+Inc", "New relationships: Nobody Inc clients — Exposure registry"),
    ],
)  # fmt: skip
def test_feed_titles_name_their_filter(site, params: str, title: str):
    _, served = site
    assert read(served, FEED + params).feed.title == title


def test_disclosure_feed_is_titled_after_the_disclosure(site):
    settings, served = site
    ((number, name),) = query(settings.registry_db, "select id, title from disclosures order by id limit 1")
    assert (
        read(served, f"{FEED}?disclosure={number}").feed.title
        == f"New relationships: revealed by {name} — Exposure registry"
    )


def test_country_by_code_english_or_french_name_gives_the_same_entries(site):
    settings, served = site
    belgium = expected(settings, "client_country_code = 'BE'")
    assert belgium
    for value in ("BE", "be", "BEL", "Belgium", "Belgique", "belgique"):
        assert ids(read(served, f"{FEED}?country={value}")) == belgium, value
    assert ids(read(served, f"{FEED}?country=%C3%89tats-Unis")) == expected(settings, "client_country_code = 'US'")


def test_organisation_feed_holds_its_relationships_as_vendor_or_client(site):
    settings, served = site
    vendor, slug = query(settings.registry_db, "select id, slug from organisations where slug = 'clearview-ai'")[0]
    (client,) = query(
        settings.registry_db, "select client_id from relationships where vendor_id = ? limit 1", [vendor]
    )[0]
    for organisation in (vendor, client):
        wanted = expected(settings, "vendor_id = ? or client_id = ?", (organisation, organisation))
        assert wanted
        assert ids(read(served, f"{FEED}?organisation={organisation}")) == wanted
    assert ids(read(served, f"{FEED}?organisation={slug}")) == expected(settings, "vendor_id = ?", (vendor,))


def test_disclosure_feed_holds_what_the_disclosure_revealed(site):
    settings, served = site
    for (number,) in query(settings.registry_db, "select id from disclosures"):
        wanted = expected(settings, "disclosure_id = ?", (number,))
        assert ids(read(served, f"{FEED}?disclosure={number}")) == wanted, number


def test_a_feed_with_no_entries_is_still_a_feed(site):
    _, served = site
    feed = read(served, f"{FEED}?country=Atlantis&vendor=Nobody")
    assert feed.entries == []
    assert feed.feed.title == "New relationships: Nobody clients in Atlantis — Exposure registry"


ALTERNATE = re.compile(r'<link rel="alternate" type="application/atom\+xml" title="([^"]*)" href="([^"]*)">')


def announced(served: Served, path: str) -> tuple[str, str]:
    """The one feed of relationships a page announces: (title, address). (A page about
    breaches too announces theirs: tests/test_breach_pages.py.)"""
    response = httpx.get(f"{served.datasette}{path}", timeout=30)
    assert response.status_code == 200, path
    found = [f for f in ALTERNATE.findall(response.text) if "/new_breaches.atom" not in f[1]]
    assert len(found) == 1, (path, found)
    return unescape(found[0][0]), unescape(found[0][1])


def test_pages_announce_their_feed(site):
    settings, served = site
    (organisation,) = query(settings.registry_db, "select id from organisations where slug = 'clearview-ai'")[0]
    (disclosure,) = query(settings.registry_db, "select id from disclosures order by id limit 1")[0]
    pages = {
        "/": {},
        f"/registry/organisations/{organisation}": {"organisation": str(organisation)},
        f"/registry/disclosures/{disclosure}": {"disclosure": str(disclosure)},
        "/registry/relationships": {},
        "/registry/relationships?vendor=Clearview+AI&client_country=Belgium":
            {"vendor": "Clearview AI", "country": "Belgium"},
        "/registry/new_relationships?country=Belgique": {"country": "Belgique"},
    }  # fmt: skip
    for path, params in pages.items():
        title, href = announced(served, path)
        feed = read(served, href.removeprefix(served.datasette))
        assert feed.feed.title == title, path
        assert href.startswith(FEED), href
        assert dict(httpx.URL(href).params) == params, path
    assert (
        "Clearview AI clients in Belgium"
        in announced(served, "/registry/relationships?vendor=Clearview+AI&client_country=Belgium")[0]
    )
    response = httpx.get(f"{served.datasette}/registry/sources")
    assert not ALTERNATE.search(response.text)  # a page without a feed announces none
