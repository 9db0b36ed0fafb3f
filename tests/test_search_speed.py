"""The fast answers of a search page (search_queries.py, and counted_facets.py's codes) equal plain SQL's.

A generated relationships table of a few thousand rows, with a common word, a rarer one, a
rare one, aliases, nulls and rows of no match, served by a real Datasette with our metadata
and plugins; every count, facet and first page is checked against SQL of its own, and the
SQL trace shows which queries answered."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from registry.store.public import enable_search
from registry.store.schema import schema_for
from registry.store.versions import data_version
from tests.test_datasette import FACETS, facet_values, ours
from tests.test_datasette_scale import facet_plugin

ROWS = 3000
FOUND = "id in (select rowid from relationships_fts where relationships_fts match ?)"


def generate(path: Path, rows: int = ROWS, seed: int = 5) -> None:
    """A registry.db whose relationships table has `rows` rows of a realistic shape, and its search index."""
    rng = random.Random(seed)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(schema_for("registry"))
    vendors = [f"Vendor {c}" for c in "ABCDEFGH"]
    sectors = ["Law enforcement", "Health", "Education", "Retail", "Government"]
    endings = {"Law enforcement": "Police Department", "Health": "Hospital", "Education": "University"}
    countries = [None, "Belgium", "France", "United States", "Kenya", "Brazil", "Japan"]
    arrangements = ["Contract", "Trial", "Pitch", "Unknown"]
    disclosures = [None, "Leak one", "Leak two", "Lawsuit three"]
    levels = [None, "Local", "State or regional", "National or federal", "International"]
    years = [None, 2015, 2018, 2019, 2020]  # start_year: integers, counted from codes as text is
    start = datetime(2025, 1, 1, tzinfo=UTC)
    conn.execute("BEGIN")
    for i in range(1, rows + 1):
        sector = rng.choice(sectors)
        place = "Zanzibar" if i % 1000 == 7 else rng.choice(["North", "South", "East", "West", "Central"])
        client = f"{place} {endings.get(sector, sector + ' Group')}"
        vendor = rng.choice(vendors)
        arrangement = rng.choice(arrangements)
        conn.execute(
            "INSERT INTO relationships (id, vendor, client, client_aliases, client_sector, client_country, "
            "arrangement, disclosure, summary, published_at, citation_count, response_count, vendor_id, client_id, "
            "client_sector_code, client_kind, arrangement_code, client_government_level, start_year) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 0, ?, ?, ?, 'public-agency', ?, ?, ?)",
            [
                i,
                vendor,
                client,
                "NYPDX" if i % 97 == 0 else None,
                sector,
                rng.choice(countries),
                arrangement,
                rng.choice(disclosures),
                f"{vendor} {arrangement.lower()} with {client}.",
                # Distinct instants, not in id order: the page's order is the sort's, not the index's.
                (start + timedelta(seconds=rng.randrange(10**8) * 1000 + i)).isoformat(),
                vendors.index(vendor) + 1,
                1000 + i,
                sector.lower(),
                arrangement.lower(),
                rng.choice(levels),
                rng.choice(years),
            ],
        )
    conn.execute("COMMIT")
    enable_search(sqlite_utils.Database(conn))
    conn.execute("ANALYZE")
    conn.close()


def rows(path: Path, sql: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


async def codes_ready(path: Path) -> None:
    """Wait for counted_facets.py's codes of the relationships table, for the file as it is now."""
    plugin = facet_plugin()
    version = data_version(str(path))
    for _ in range(500):
        codes = plugin.CODES.get((str(path), "relationships"))
        if codes is not None and codes.version == version:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("no codes built in 5 s")


@pytest.fixture
def generated(tmp_path) -> Path:
    path = tmp_path / "registry.db"
    generate(path)
    return path


@pytest.fixture
async def ds(generated):
    ds = ours(generated, suggest_facets=False, trace_debug=True, max_returned_rows=1000)
    await ds.invoke_startup()
    await codes_ready(generated)
    return ds


def traced_sql(data: dict) -> list[str]:
    return [t["sql"] for t in data["_trace"]["traces"] if "sql" in t]


@pytest.mark.parametrize(
    "query, match, where",
    [
        ("_search=police", '"police"', "1"),
        ("_search=hospital", '"hospital"', "1"),
        ("_search=zanzibar", '"zanzibar"', "1"),
        ("_search=nypdx", '"nypdx"', "1"),  # an alias
        ("_search=nothing+here", '"nothing" "here"', "1"),
        ("_search=police&vendor=Vendor+A", '"police"', "vendor = 'Vendor A'"),
        (
            "_search=police&vendor=Vendor+A&client_country=Kenya",
            '"police"',
            "vendor = 'Vendor A' and client_country = 'Kenya'",
        ),
        ("_search=police&client_country=Kenya&client_country=Japan", '"police"', "0"),
        ("_search=police&arrangement__exact=Trial&_sort=client", '"police"', "arrangement = 'Trial'"),
        ("_search=police&client_country__isnull=1", '"police"', "client_country is null"),
        ("_search=police&start_year=2019", '"police"', "start_year = 2019"),
        ("_search=hospital&client_government_level=Local", '"hospital"', "client_government_level = 'Local'"),
        (
            "_search=police&start_year=2019&client_government_level=International",
            '"police"',
            "start_year = 2019 and client_government_level = 'International'",
        ),
        ("_search=police&id__gt=1500", '"police"', "id > 1500"),
        ("_search=polic*&_searchmode=raw", "polic*", "1"),
        ("_search=vendor+b+police", '"vendor" "b" "police"', "1"),
    ],
)
async def test_counts_facets_and_first_page_of_a_search_are_those_of_plain_sql(ds, generated, query, match, where):
    data = (await ds.client.get(f"/registry/relationships.json?{query}&_size=50")).json()
    (count,) = rows(generated, f"select count(*) from relationships where {FOUND} and {where}", [match])[0]
    assert data["filtered_table_rows_count"] == count
    for column in FACETS:
        expected = rows(
            generated,
            f"select {column}, count(*) from relationships where {FOUND} and {where} and {column} is not null "
            "group by 1",
            [match],
        )
        assert facet_values(data, column) == dict(expected), column
    order = "client, id" if "_sort=client" in query else "published_at desc, id"
    expected = rows(
        generated, f"select id from relationships where {FOUND} and {where} order by {order} limit 50", [match]
    )
    assert [r[0] for r in data["rows"]] == [i for (i,) in expected]


async def test_a_common_word_is_counted_by_the_index_and_paged_by_the_sort_index(ds):
    data = (await ds.client.get("/registry/relationships.json?_search=police&_trace=1")).json()
    assert data["filtered_table_rows_count"] > ROWS / 10
    sql = traced_sql(data)
    assert "select count(*) from relationships_fts where relationships_fts match escape_fts(:search)" in sql
    assert not [s for s in sql if s.startswith("select count(*) from relationships ")]
    (page,) = [s for s in sql if s.startswith("select id, vendor")]
    assert " where +id in (select rowid from relationships_fts " in page
    assert "json_group_array" in " ".join(sql)  # facets from the codes
    assert not [s for s in sql if "GROUP BY" in s]


async def test_a_rare_word_keeps_the_sort_of_its_few_matches(ds):
    data = (await ds.client.get("/registry/relationships.json?_search=zanzibar&_trace=1")).json()
    assert data["filtered_table_rows_count"] == 3
    (page,) = [s for s in traced_sql(data) if s.startswith("select id, vendor")]
    assert " where id in (select rowid from relationships_fts " in page


async def test_a_search_with_another_filter_is_left_to_datasette(ds):
    data = (await ds.client.get("/registry/relationships.json?_search=police&id__gt=10&_trace=1")).json()
    sql = traced_sql(data)
    assert [s for s in sql if s.startswith("select count(*) from relationships where")]
    assert any("WITH matched AS MATERIALIZED" in s for s in sql)  # counted_facets' one SQL pass


async def test_search_facets_follow_a_publish(ds, generated):
    before = (await ds.client.get("/registry/relationships.json?_search=police")).json()
    conn = sqlite3.connect(generated)  # another connection commits, as the publisher does
    conn.execute("update relationships set vendor = 'Vendor Z' where id in (select id from relationships "
                 "where client like '%Police%' limit 5)")  # fmt: skip
    conn.execute("delete from relationships where id in (select id from relationships where client like '%Police%' "
                 "and vendor = 'Vendor A' limit 3)")  # fmt: skip
    conn.commit()
    conn.close()
    for _ in range(2):  # counted with SQL while the new codes are built, then from them
        after = (await ds.client.get("/registry/relationships.json?_search=police")).json()
        assert after["filtered_table_rows_count"] == before["filtered_table_rows_count"] - 3
        assert facet_values(after, "vendor")["Vendor Z"] == 5
        expected = rows(generated, f"select vendor, count(*) from relationships where {FOUND} group by 1", ['"police"'])
        assert facet_values(after, "vendor") == dict(expected)
        await codes_ready(generated)


@pytest.mark.parametrize("path", ['/registry/relationships.json?_search="', '/registry/relationships?_search="'])
async def test_fts_syntax_characters_get_a_400(ds, path):
    assert (await ds.client.get(path)).status_code == 400


async def test_the_seed_search_by_alias_finds_the_organisation(seeded):
    ds = ours(seeded.registry_db, suggest_facets=False)
    await ds.invoke_startup()
    await codes_ready(seeded.registry_db)
    data = (await ds.client.get("/registry/relationships.json?_search=DoJ")).json()
    assert {r[2] for r in data["rows"]} == {"United States Department of Justice"}
    expected = rows(
        seeded.registry_db, f"select vendor, count(*) from relationships where {FOUND} group by 1", ['"DoJ"']
    )
    assert facet_values(data, "vendor") == dict(expected)
    assert data["filtered_table_rows_count"] == sum(n for _, n in expected) > 0


async def test_a_search_asked_again_reuses_its_facet_counts_until_a_publish(ds, generated):
    url = "/registry/relationships.json?_search=hospital&arrangement=Trial&_trace=1"
    first = (await ds.client.get(url)).json()
    again = (await ds.client.get(url)).json()
    assert any("json_group_array" in s for s in traced_sql(first))
    assert not any("json_group_array" in s for s in traced_sql(again))
    assert again["facet_results"] == first["facet_results"]
    conn = sqlite3.connect(generated)
    conn.execute(
        "update relationships set vendor = 'Vendor Y' where client like '%Hospital%' and arrangement = 'Trial'"
    )
    conn.commit()
    conn.close()
    await ds.client.get(url)  # counted with SQL, and the new codes built
    await codes_ready(generated)
    after = (await ds.client.get(url)).json()
    assert any("json_group_array" in s for s in traced_sql(after))
    assert facet_values(after, "vendor") == {"Vendor Y": after["filtered_table_rows_count"]}


@pytest.mark.parametrize("gaps", [True, False], ids=["ids with gaps", "ids 1 to n"])
async def test_a_column_of_more_than_255_values_counts_right(tmp_path, gaps):
    path = tmp_path / "registry.db"
    generate(path)
    conn = sqlite3.connect(path)
    conn.execute("update relationships set client_country = 'Country ' || (id % 600) where id % 2 = 0")
    if gaps:
        conn.execute("delete from relationships where id % 7 = 0")
    conn.commit()
    conn.close()
    ds = ours(path, suggest_facets=False)
    await ds.invoke_startup()
    await codes_ready(path)
    codes = facet_plugin().CODES[(str(path), "relationships")]
    assert not isinstance(codes.arrays["client_country"], bytearray)  # two bytes a row
    data = (await ds.client.get("/registry/relationships.json?_search=police&_facet_size=max")).json()
    for column in FACETS:
        expected = rows(
            path, f"select {column}, count(*) from relationships where {FOUND} and {column} is not null group by 1",
            ['"police"'],
        )  # fmt: skip
        assert facet_values(data, column) == dict(expected), column
    assert len(facet_values(data, "client_country")) > 150  # of the 300 + 6 values, those of the matches
