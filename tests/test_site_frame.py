"""The public site's frame, front door, About page, titles and overview map, read through a
real Datasette built from datasette/ (and the intake app's matching frame)."""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
from html import unescape

import pytest

from tests.conftest import ROOT
from tests.test_datasette import ours, registry_id

NAV = [
    "Home",
    "Relationships",
    "Breaches",
    "Organisations",
    "Vendors",
    "Disclosures",
    "Overview",
    "Downloads",
    "About",
    "Contribute",
]


@pytest.fixture
def ds(seeded):
    return ours(seeded.registry_db)


def sql(seeded, query, *params):
    with sqlite3.connect(seeded.registry_db) as conn:
        return conn.execute(query, params).fetchall()


def title(html: str) -> str:
    return unescape(re.search(r"<title>(.*?)</title>", html, re.S).group(1).strip())


def headings(html: str) -> list[int]:
    return [int(level) for level in re.findall(r"<h([1-6])\b", html)]


def nav_links(html: str) -> dict[str, str]:
    nav = re.search(r'<nav class="site-nav".*?</nav>', html, re.S).group(0)
    return {unescape(text): href for href, text in re.findall(r'<a[^>]*href="([^"]*)"[^>]*>([^<]+)</a>', nav)}


async def test_every_page_type_has_lang_and_a_title_naming_its_subject(ds, seeded):
    clearview = registry_id(seeded, "organisations", "clearview-ai")
    coinbase = registry_id(seeded, "organisations", "coinbase")
    (disclosure,) = sql(
        seeded,
        "SELECT id, title FROM disclosures ORDER BY published_count DESC LIMIT 1",
    )
    expected = {
        "/": "Who bought surveillance, from whom, and how we know — Exposure registry",
        "/about": "About the registry — Exposure registry",
        "/overview": "Overview: the registry at a glance — Exposure registry",
        f"/registry/organisations/{clearview}": "Clearview AI — vendor — Exposure registry",
        f"/registry/organisations/{coinbase}": "Coinbase — organisation — Exposure registry",
        f"/registry/disclosures/{disclosure[0]}": f"{disclosure[1]} — disclosure — Exposure registry",
        "/registry/relationships": "Vendor-client relationships — Exposure registry",
        "/registry/relationships?vendor=Clearview+AI":
            'Vendor-client relationships where vendor = "Clearview AI" — Exposure registry',
        "/registry/organisations": "Organisations — Exposure registry",
        "/registry/clients_of_vendor?vendor=Clearview+AI": "Clients of a vendor — Exposure registry",
        "/registry?sql=select+1": "SQL query — Exposure registry",
        "/registry/arrangements/trial": "Trial — arrangement — Exposure registry",
    }  # fmt: skip
    for path, wanted in expected.items():
        response = await ds.client.get(path)
        assert response.status_code == 200, path
        assert '<html lang="en">' in response.text, path
        assert title(response.text) == wanted, path


@pytest.mark.parametrize("path", ["/", "/about", "/overview"])
async def test_our_pages_have_one_h1_and_headings_in_order(ds, path):
    levels = headings((await ds.client.get(path)).text)
    assert levels.count(1) == 1 and levels[0] == 1, levels
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), levels


async def test_every_datasette_page_has_the_site_navigation_and_a_skip_link(ds, seeded):
    for path in ["/", "/about", "/overview", "/registry", "/registry/relationships", "/registry/sources/1"]:
        html = (await ds.client.get(path)).text
        links = nav_links(html)
        assert list(links) == NAV, path
        assert links["Contribute"] == "http://127.0.0.1:5000/submit", path  # site_links.py's intake_url
        assert links["Relationships"] == "/registry/relationships"
        assert '<a class="skip-link" href="#main">' in html and '<main id="main"' in html, path


def test_the_intake_app_has_the_same_navigation_linking_to_the_data(app):
    html = app.test_client().get("/").get_data(as_text=True)
    links = nav_links(html)
    assert list(links) == NAV
    data = app.config["DATASETTE_URL"]
    assert data == "http://datasette.test"
    assert links["Relationships"] == f"{data}/registry/relationships"
    assert links["About"] == f"{data}/about"
    assert links["Contribute"] == "/submit"
    assert '<html lang="en">' in html and 'href="/registry.css"' in html


def test_both_apps_serve_the_same_stylesheet(app):
    with app.test_client().get("/registry.css") as css:
        assert css.status_code == 200 and css.mimetype == "text/css"
        assert css.data == (ROOT / "datasette" / "static" / "registry.css").read_bytes()


def test_the_stylesheet_is_on_every_datasette_page():
    import yaml

    metadata = yaml.safe_load((ROOT / "datasette" / "metadata.yml").read_text(encoding="utf-8"))
    assert metadata["extra_css_urls"] == ["/static/registry.css"]


async def test_front_door_counts_equal_the_database(ds, seeded):
    html = (await ds.client.get("/")).text
    shown = {k: int(v.replace(",", "")) for k, v in re.findall(r'data-count="(\w+)">([\d,]+)<', html)}
    (counts,) = sql(
        seeded,
        "SELECT (SELECT count(*) FROM relationships), (SELECT count(*) FROM organisations), "
        "(SELECT count(DISTINCT vendor_id) FROM relationships), (SELECT count(*) FROM disclosures), "
        "(SELECT count(*) FROM sources), (SELECT count(*) FROM breaches)",
    )
    names = ["relationships", "organisations", "vendors", "disclosures", "sources", "breaches"]
    shown.setdefault("breaches", 0)  # the front door names breaches only when there are some
    assert shown == dict(zip(names, counts, strict=True))
    assert shown["relationships"] > 0 and shown["vendors"] < shown["organisations"]


async def test_front_door_lists_the_latest_relationships_vendors_and_disclosures(ds, seeded):
    html = (await ds.client.get("/")).text
    latest = sql(
        seeded, "SELECT id, vendor_id, client_id FROM relationships ORDER BY published_at DESC, id DESC LIMIT 10"
    )
    table = re.search(r'<table id="latest".*?</table>', html, re.S).group(0)
    for rid, vendor_id, client_id in latest:
        assert f'href="/registry/relationships/{rid}"' in table
        assert (
            f'href="/registry/organisations/{vendor_id}"' in table
            and f'href="/registry/organisations/{client_id}"' in table
        )
    assert table.count("<tr>") == len(latest) + 1
    vendors = re.search(r'<ol class="vendors">.*?</ol>', html, re.S).group(0)
    top = sql(seeded, "SELECT vendor, count(*) FROM relationships GROUP BY vendor_id ORDER BY 2 DESC, 1")
    assert re.findall(r'">([^<]+)</a> <span class="n">(\d+)</span>', vendors) == [(v, str(n)) for v, n in top]
    for (did,) in sql(seeded, "SELECT id FROM disclosures"):
        assert f'href="/registry/disclosures/{did}"' in html
    assert 'href="http://127.0.0.1:5000/submit/response"' in html  # right of reply


async def test_front_door_search_box_submits_to_the_relationships_table(ds):
    html = (await ds.client.get("/")).text
    form = re.search(r'<form class="front-search" method="get" action="([^"]+)".*?</form>', html, re.S)
    assert form.group(1) == "/registry/relationships" and 'name="_search"' in form.group(0)
    found = (await ds.client.get(f"{form.group(1)}.json?_search=DoJ&_shape=array")).json()
    assert [r["client"] for r in found] == ["United States Department of Justice"]


async def test_front_door_counts_follow_a_publication(ds, seeded):
    before = (await ds.client.get("/")).text
    with sqlite3.connect(seeded.registry_db) as conn:
        conn.execute("INSERT INTO sources (id, slug, title, language) VALUES (9999, 'new-one', 'A new source', 'en')")
    after = (await ds.client.get("/")).text
    count = sql(seeded, "SELECT count(*) FROM sources")[0][0]
    assert f'data-count="sources">{count}<' in after and before != after


async def test_raw_database_listing_stays_at_registry(ds):
    html = (await ds.client.get("/registry")).text
    assert 'href="/registry/relationships"' in html and 'href="/registry/citations"' in html


async def test_about_lists_every_arrangement_with_its_description(ds, seeded):
    html = unescape((await ds.client.get("/about")).text)
    arrangements = sql(seeded, "SELECT code, label, description FROM arrangements")
    assert len(arrangements) == 7  # pitch, trial, contract, grant, declined, ended, unknown
    for code, label, description in arrangements:
        assert f'id="arrangement-{code}"' in html and f">{label}</a></dt>" in html and description in html
    for words in ["CC BY 4.0", "Apache License 2.0", "right of reply", "completeness note", "Natural Earth"]:
        assert words.lower() in html.lower(), words
    assert 'href="http://127.0.0.1:5000/submit/response"' in html


async def test_overview_map_has_a_shape_per_country_and_counts_for_seeded_countries(ds, seeded):
    html = (await ds.client.get("/overview")).text
    shapes = json.loads((ROOT / "datasette" / "static" / "world-110m.json").read_text(encoding="utf-8"))
    svg = re.search(r'<svg id="map".*?</svg>', html, re.S).group(0)
    assert sorted(re.findall(r'<path[^>]*data-code="([^"]+)"', svg)) == sorted(shapes)
    counted = dict(
        sql(
            seeded,
            "SELECT client_country_code, count(*) FROM relationships WHERE client_country_code NOT NULL GROUP BY 1",
        )
    )
    shown = {code: int(n) for code, n in re.findall(r'data-code="(\w\w)" data-count="(\d+)"', svg)}
    assert shown == {c: n for c, n in counted.items() if c in shapes}
    assert counted.get("BE") and shown["BE"] == counted["BE"]
    assert 'role="img"' not in svg  # links inside: no nested-interactive
    table = re.search(r'<table id="countries".*?</table>', html, re.S).group(0)
    assert len(re.findall(r"<tr data-code=", table)) == len(counted)
    assert len(html) < 150_000


async def test_year_chart_counts_dated_rows_and_says_how_many_have_no_date(ds, seeded):
    html = (await ds.client.get("/overview")).text
    total, undated = sql(seeded, "SELECT count(*), count(*) - count(start_date) FROM relationships")[0]
    assert undated > 0
    assert f'<p class="chart-note" id="undated">{undated:,} of {total:,} relationships have no date' in html
    chart = re.search(r'<figure class="chart" data-chart="start_year">.*?</figure>', html, re.S).group(0)
    widths = [float(w) for w in re.findall(r"width:([\d.]+)%", chart)]
    years = sql(
        seeded, "SELECT substr(start_date, 1, 4), count(*) FROM relationships WHERE start_date IS NOT NULL GROUP BY 1"
    )
    assert len(widths) == len(years) and max(widths) == pytest.approx(100 * max(n for _, n in years) / total, abs=0.1)
