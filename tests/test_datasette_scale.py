"""The plugins that keep the public pages fast at a million rows answer as Datasette would.

csv_stream.py (a streamed CSV with one query), counted_facets.py (facet counts kept per
version of the database file) and the vendor page's counts, each checked against the
seed data through a real Datasette, and against stock Datasette's own answers."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import sqlite3

import pytest
from datasette.app import Datasette

from tests.conftest import ROOT
from tests.test_datasette import FACETS, METADATA, facet_values, ours, registry_id

PLUGINS = str(ROOT / "datasette" / "plugins")


@pytest.fixture
def ds(seeded):
    return ours(seeded.registry_db, suggest_facets=False, max_returned_rows=4)


@pytest.fixture
def wide(seeded):
    """Datasette's default page and facet sizes."""
    return ours(seeded.registry_db, suggest_facets=False)


def records(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.text)))


def registry_rows(seeded, sql: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(seeded.registry_db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


async def test_streamed_csv_is_answered_by_one_query_with_every_row_in_page_order(ds, seeded):
    response = await ds.client.get("/registry/relationships.csv?_stream=on&_size=max")
    assert response.status_code == 200
    assert response.headers["x-csv-formulas"] == "neutralised"  # csv_stream.py answered, not Datasette's pages
    rows = records(response)
    expected = registry_rows(seeded, "select id from relationships order by published_at desc, id")
    assert [int(r["id"]) for r in rows] == [i for (i,) in expected]  # all 29, more than max_returned_rows
    columns = [c for (_, c, *_) in registry_rows(seeded, "pragma table_info(relationships)")]
    assert list(rows[0]) == columns
    coinbase = next(r for r in rows if r["client"] == "Coinbase")
    assert (coinbase["vendor"], coinbase["client_sector"], coinbase["arrangement"]) == (
        "Clearview AI",
        "Banking and finance",
        "Trial",
    )  # labels, as in the table
    assert coinbase["disclosure"] and coinbase["client_country"] == "United States"


async def test_streamed_csv_is_the_same_as_datasettes_own_stream(ds, seeded):
    ours = records(await ds.client.get("/registry/relationships.csv?_stream=on&client_country=France"))
    stock = Datasette([str(seeded.registry_db)], metadata=METADATA)  # no plugins_dir: Datasette's paging
    # plugins_dir modules register process-wide; _col makes csv_stream.py leave the request to Datasette
    columns = "&".join(f"_col={c}" for c in ours[0] if c != "id")
    theirs = records(await stock.client.get(f"/registry/relationships.csv?_stream=on&client_country=France&{columns}"))
    assert len(ours) == 2  # Police nationale and the DGSE (Interpol has no country)
    assert ours == theirs


@pytest.mark.parametrize(
    "query, expected_sql",
    [
        ("vendor=Clearview+AI", "vendor = 'Clearview AI'"),
        ("client_country=Belgium&arrangement=Unknown", "client_country = 'Belgium' and arrangement = 'Unknown'"),
        ("id__lte=5", "id <= 5"),
        ("client_country__isnull=1", "client_country is null"),
        ("_sort=client&vendor=Clearview+AI", "vendor = 'Clearview AI' order by client, id"),
    ],
)
async def test_streamed_csv_respects_filters_and_sort(ds, seeded, query, expected_sql):
    response = await ds.client.get(f"/registry/relationships.csv?_stream=1&{query}")
    assert response.headers["x-csv-formulas"] == "neutralised"
    order = "" if "order by" in expected_sql else " order by published_at desc, id"
    expected = registry_rows(seeded, f"select id from relationships where {expected_sql}{order}")
    assert [int(r["id"]) for r in records(response)] == [i for (i,) in expected]


async def test_streamed_csv_search_finds_by_alias(ds):
    response = await ds.client.get("/registry/relationships.csv?_stream=on&_search=Federale+Politie")
    assert response.headers["x-csv-formulas"] == "neutralised"
    assert [r["client"] for r in records(response)] == ["Police fédérale"]
    odd = await ds.client.get("/registry/relationships.csv?_stream=on&_search=%22police+NEAR+(")  # FTS syntax
    assert odd.status_code in (200, 400)


async def test_streamed_csv_neutralises_formulas(ds, seeded):
    conn = sqlite3.connect(seeded.registry_db)
    conn.execute("update relationships set notes = ? where client = 'Coinbase'", ['=HYPERLINK("x")'])
    conn.execute("update relationships set product = ? where client = 'Walmart'", ['-2+3\nsecond, "line"'])
    conn.commit()
    conn.close()
    response = await ds.client.get("/registry/relationships.csv?_stream=on&_dl=1")
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="relationships.csv"' in response.headers["content-disposition"]
    rows = {r["client"]: r for r in records(response)}
    assert rows["Coinbase"]["notes"] == '\'=HYPERLINK("x")'
    assert rows["Walmart"]["product"] == '\'-2+3\nsecond, "line"'
    assert rows["Interpol"]["citation_count"] == "2"  # numbers as they are


async def test_streamed_csv_lines_made_by_sqlite_are_byte_for_byte_what_csv_writer_writes(ds, seeded):
    conn = sqlite3.connect(seeded.registry_db)
    tricky = {
        "Coinbase": ("a,b", 'say "hi"', "two\nlines", "cr\rhere", "", "=1+2", "\ttab", "@x", "naïve ünïcode"),
        "Walmart": ('"', ",", "-", "+,x", "\r\n", " spaced ", "'quoted'", '=a,"b"', "ok"),
    }
    text_columns = ("product", "notes", "summary", "client_aliases", "end_precision", "disclosure", "start_date",
                    "end_date", "start_precision")  # fmt: skip
    for client, values in tricky.items():
        sets = ", ".join(f"{c} = ?" for c in text_columns)
        conn.execute(f"update relationships set {sets}, response_count = -3 where client = ?", [*values, client])
    conn.execute("update relationships set trial_days = -7, client_country = null where client = 'Coinbase'")
    conn.commit()
    rows = conn.execute("select * from relationships order by published_at desc, id").fetchall()
    columns = [c for (_, c, *_) in conn.execute("pragma table_info(relationships)")]
    conn.close()

    def guarded(cell):  # as csv_formula_guard.py does to Datasette's own CSV
        text = cell if isinstance(cell, str) else None if cell is None else str(cell)
        return "'" + text if text and text.startswith(("=", "+", "-", "@", "\t", "\r")) else text

    expected = io.StringIO()
    csv.writer(expected).writerows([columns, *([guarded(c) for c in row] for row in rows)])
    response = await ds.client.get("/registry/relationships.csv?_stream=on")
    assert response.headers["x-csv-formulas"] == "neutralised"
    assert response.content == expected.getvalue().encode("utf-8")
    for cell in (b'"a,b"', b'"say ""hi"""', b'"two\nlines"', b'"cr\rhere"', b"'=1+2", b'"\'+,x"', b",'-3,"):
        assert cell in response.content


async def test_streams_it_does_not_cover_go_to_datasette(ds):
    response = await ds.client.get("/registry/relationships.csv?_stream=on&_size=max&_col=vendor&_col=client")
    assert response.status_code == 200
    assert "x-csv-formulas" not in response.headers
    rows = records(response)
    assert len(rows) == 28 and list(rows[0]) == ["id", "vendor", "client"]
    missing = await ds.client.get("/registry/no_such_table.csv?_stream=on")
    assert missing.status_code == 404


async def test_unfiltered_facets_match_a_count_and_follow_a_publish(ds, seeded):
    data = (await ds.client.get("/registry/relationships.json")).json()
    for column in ("vendor", "client_country", "disclosure"):
        expected = registry_rows(
            seeded, f"select {column}, count(*) from relationships where {column} is not null group by 1"
        )
        assert facet_values(data, column) == dict(expected)
    assert facet_values(data, "vendor")["Clearview AI"] == 22
    conn = sqlite3.connect(seeded.registry_db)  # another connection commits, as the publisher does
    conn.execute("update relationships set vendor = 'Clearview' where client = 'Coinbase'")
    conn.commit()
    conn.close()
    again = (await ds.client.get("/registry/relationships.json")).json()
    assert facet_values(again, "vendor")["Clearview AI"] == 21
    assert facet_values(again, "vendor")["Clearview"] == 1


async def test_filtered_and_searched_facets_count_only_the_matching_rows(ds):
    data = (await ds.client.get("/registry/relationships.json?vendor=Clearview+AI&client_country=United+States")).json()
    assert sum(facet_values(data, "vendor").values()) == data["filtered_table_rows_count"]
    assert list(facet_values(data, "client_country")) == ["United States"]
    found = (await ds.client.get("/registry/relationships.json?_search=police")).json()
    assert sum(facet_values(found, "arrangement").values()) == found["filtered_table_rows_count"] > 0
    selected = [v for v in found["facet_results"]["vendor"]["results"] if v["selected"]]
    assert selected == []
    picked = (await ds.client.get("/registry/relationships.json?arrangement=Trial")).json()
    (trial,) = picked["facet_results"]["arrangement"]["results"]
    assert trial["selected"] and "arrangement=" not in trial["toggle_url"]


async def test_vendor_page_links_each_count_to_its_rows(ds, seeded):
    vendor = registry_id(seeded, "organisations", "clearview-ai")
    html = (await ds.client.get(f"/registry/organisations/{vendor}")).text
    link = re.search(r"<td>Law enforcement</td><td[^>]*>4</td>.*?<a class=\"rows\" href=\"([^\"]+)\"", html, re.S)
    assert link
    target = link.group(1).replace("&amp;", "&")
    assert target == "/registry/relationships?vendor=Clearview+AI&client_sector=Law%20enforcement"
    rows = (await ds.client.get(target.replace("relationships?", "relationships.json?_shape=array&"))).json()
    assert len(rows) == 4
    assert "The latest" not in html  # 22 clients: all listed


def facet_plugin():
    from datasette.plugins import pm

    return next(p for p in pm.get_plugins() if getattr(p, "__name__", "") == "counted_facets.py")


async def cube_of(seeded, previous=None):
    """The relationships cube once its thread has built it (a new one when `previous` is given)."""
    key = (str(seeded.registry_db), "relationships")
    for _ in range(500):
        cube = facet_plugin().CUBES.get(key)
        if cube is not None and cube is not previous and key not in facet_plugin().BUILDING:
            return cube
        await asyncio.sleep(0.01)
    raise AssertionError("no cube built in 5 s")


@pytest.mark.parametrize(
    "query, where",
    [
        (
            "vendor=Clearview+AI&client_country=United+States",
            "vendor = 'Clearview AI' and client_country = 'United States'",
        ),
        ("client_sector=Law+enforcement", "client_sector = 'Law enforcement'"),
        ("arrangement__exact=Unknown&_sort=client", "arrangement = 'Unknown'"),
        ("client_country=Belgium&client_country=France", "0"),
        ("client_government_level=National+or+federal", "client_government_level = 'National or federal'"),
        ("start_year=2018&client_country=United+States", "start_year = 2018 and client_country = 'United States'"),
    ],
)
async def test_facets_of_a_page_filtered_by_facet_values_come_from_the_cube_and_match_the_rows(
    wide, seeded, query, where
):
    live = (await wide.client.get(f"/registry/relationships.json?{query}")).json()  # while the cube is built
    cube = await cube_of(seeded)
    assert cube.columns == tuple(FACETS)
    counted = (await wide.client.get(f"/registry/relationships.json?{query}")).json()
    for column in cube.columns:
        expected = registry_rows(
            seeded, f"select {column}, count(*) from relationships where {where} and {column} is not null group by 1"
        )
        assert facet_values(counted, column) == dict(expected), column
        assert facet_values(live, column) == dict(expected), column


async def test_the_cube_follows_a_publish(wide, seeded):
    query = "/registry/relationships.json?client_country=United+States"
    await wide.client.get(query)
    before = await cube_of(seeded)
    assert facet_values((await wide.client.get(query)).json(), "vendor")["Clearview AI"] == 19
    conn = sqlite3.connect(seeded.registry_db)
    conn.execute("update relationships set vendor = 'Clearview' where client = 'Coinbase'")
    conn.commit()
    conn.close()
    counted = facet_values((await wide.client.get(query)).json(), "vendor")  # counted from the rows meanwhile
    assert (counted["Clearview AI"], counted["Clearview"]) == (18, 1)
    after = await cube_of(seeded, previous=before)
    assert after.version != before.version
    counted = facet_values((await wide.client.get(query)).json(), "vendor")  # from the new cube
    assert (counted["Clearview AI"], counted["Clearview"]) == (18, 1)


async def test_vendor_page_counts_rows_without_a_country_and_by_id_when_a_namesake_exists(ds, seeded):
    vendor = registry_id(seeded, "organisations", "clearview-ai")
    conn = sqlite3.connect(seeded.registry_db)
    conn.execute("update relationships set client_country = null where client = 'Coinbase'")
    conn.commit()
    html = (await ds.client.get(f"/registry/organisations/{vendor}")).text
    assert re.search(r"<td>\(no country\)</td><td[^>]*>1</td>", html)
    assert re.search(r"<td>United States</td><td[^>]*>18</td>", html)
    conn.execute(
        "insert into organisations (id, slug, name, kind, sector) select 9999, 'clearview-2', name, kind, sector "
        "from organisations where id = ?",
        [vendor],
    )
    conn.execute("update relationships set vendor_id = 9999 where client = 'Interpol'")  # same name, other vendor
    conn.commit()
    conn.close()
    html = (await ds.client.get(f"/registry/organisations/{vendor}")).text
    assert "Clients (21)" in html
    assert f'href="/registry/relationships?vendor_id={vendor}&amp;arrangement=Unknown"' in html


@pytest.mark.parametrize(
    "query, match, where",
    [
        ("_search=police", '"police"', "1"),
        ("_search=Federale+Politie", '"Federale" "Politie"', "1"),
        ("_search=police&client_country=France", '"police"', "client_country = 'France'"),
        ("_search=polic*&_searchmode=raw", "polic*", "1"),
    ],
)
async def test_facets_of_a_search_count_the_rows_it_finds(wide, seeded, query, match, where):
    data = (await wide.client.get(f"/registry/relationships.json?{query}")).json()
    assert data["filtered_table_rows_count"] > 0
    found = "id in (select rowid from relationships_fts where relationships_fts match ?)"
    for column in ("vendor", "client_sector", "client_country", "arrangement", "disclosure"):
        expected = registry_rows(
            seeded,
            f"select {column}, count(*) from relationships where {found} and {where} and {column} is not null "
            "group by 1",
            [match],
        )
        assert facet_values(data, column) == dict(expected), column


async def test_pages_of_the_table_neither_skip_nor_repeat_rows_of_equal_published_at(ds, seeded):
    ties = registry_rows(seeded, "select count(*) - count(distinct published_at) from relationships")[0][0]
    assert ties > 0  # the seed publishes rows at the same instant
    ids, url = [], "/registry/relationships.json?_size=4&_col=published_at"
    while url:
        data = (await ds.client.get(url)).json()
        ids += [row[0] for row in data["rows"]]
        url = data["next_url"] and data["next_url"].replace("http://localhost", "")
    expected = registry_rows(seeded, "select id from relationships order by published_at desc, id")
    assert ids == [i for (i,) in expected]


async def test_a_big_vendor_page_lists_its_latest_clients_and_links_to_all(ds, seeded):
    vendor = registry_id(seeded, "organisations", "clearview-ai")
    conn = sqlite3.connect(seeded.registry_db)
    for k in (1000, 2000):
        conn.execute(
            "create temp table copied as select * from relationships where vendor_id = ? and id < 1000", [vendor]
        )
        conn.execute("update copied set id = id + ?, published_at = '2030-01-01T00:00:00Z'", [k])
        conn.execute("insert into relationships select * from copied")
        conn.execute("drop table copied")
    conn.commit()
    conn.close()
    html = (await ds.client.get(f"/registry/organisations/{vendor}")).text
    assert "Clients (66)" in html, re.findall(r"Clients \([^)]*\)|<h1>.*</h1>|Error.*", html)
    assert "<h3>The latest 50</h3>" in html
    listed = re.findall(r"<tr><td>[^<]*</td><td><a href=\"/registry/organisations/\d+\">", html)
    assert len(listed) == 50
    assert re.search(
        r'href="/registry/relationships\?vendor=Clearview\+AI">all 66 in the relationships table</a>', html
    )
    assert re.search(r"<td>Unknown</td><td[^>]*>63</td>", html)  # counts cover all 66, not the 50 listed


@pytest.mark.slow
async def test_vendor_page_counts_with_sql_when_a_facet_runs_out_of_time(seeded):
    """A facet Datasette drops for time must not empty the vendor page: it counts with SQL."""
    vendor = registry_id(seeded, "organisations", "clearview-ai")
    conn = sqlite3.connect(seeded.registry_db)
    columns = [r[1] for r in conn.execute("select * from pragma_table_info('relationships')")]
    others = ", ".join(f"[{c}]" for c in columns if c != "id")
    (source,) = conn.execute("select id from relationships where vendor_id = ? limit 1", [vendor]).fetchone()
    with conn:
        conn.execute(
            f"insert into relationships ({others}) select {others} from relationships, "
            "(with recursive n(i) as (select 1 union all select i + 1 from n where i < 150000) select i from n) "
            "where relationships.id = ?",
            [source],
        )
    (total,) = conn.execute("select count(*) from relationships where vendor_id = ?", [vendor]).fetchone()
    conn.close()
    hurried = ours(seeded.registry_db, suggest_facets=False, facet_time_limit_ms=1)
    html = (await hurried.client.get(f"/registry/organisations/{vendor}")).text
    assert f"Clients ({total:,})" in html


async def test_a_big_disclosure_page_lists_its_latest_relationships_and_counts_them_all(ds, seeded):
    """A leak of more relationships than the page lists (1,000): its latest 50, read in order,
    a link to all of them, and counts (from the table's facets) that cover every one."""
    disclosure = registry_rows(seeded, "select disclosure_id from relationships where vendor = 'Clearview AI' limit 1")
    (disclosure,) = disclosure[0]
    conn = sqlite3.connect(seeded.registry_db)
    first = conn.execute("select max(id) from relationships").fetchone()[0]
    for k in range(50):
        conn.execute("create temp table copied as select * from relationships where disclosure_id = ? and id <= ?",
                     [disclosure, first])  # fmt: skip
        conn.execute(
            "update copied set id = id + ?, published_at = '2030-01-01T00:00:' || printf('%02d', ?) || 'Z'",
            [first * (k + 1), k],
        )
        conn.execute("insert into relationships select * from copied")
        conn.execute("drop table copied")
    conn.execute("update disclosures set published_count = (select count(*) from relationships r "
                 "where r.disclosure_id = disclosures.id)")  # fmt: skip
    conn.commit()
    total, unknown = conn.execute(
        "select count(*), sum(arrangement = 'Unknown') from relationships where disclosure_id = ?", [disclosure]
    ).fetchone()
    newest = [r[0] for r in conn.execute("select id from relationships where disclosure_id = ? "
                                         "order by published_at desc, id desc limit 50", [disclosure])]  # fmt: skip
    conn.close()
    assert total > 1000
    html = (await ds.client.get(f"/registry/disclosures/{disclosure}")).text
    listed = [int(i) for i in re.findall(r'class="relationship-page" href="/registry/relationships/(\d+)"', html)]
    assert listed == newest
    assert f"all {total:,} in the relationships table</a>" in html
    assert re.search(rf"<td>Unknown</td><td[^>]*>{unknown:,}</td>", html)  # counts cover every row
