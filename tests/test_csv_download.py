"""CSV downloads carry every cell as it is stored, with formulas neutralised, whichever path writes them.

A real Datasette on the seeded registry.db, whose relationships are given hard values (quotes,
commas, line breaks, CR, NUL, tabs, formulas, leading spaces, full-width signs, unicode, empty
text, NULL, negative numbers). Each download is parsed with the csv module and every cell
compared with the database: neutralise(text) for text, the text csv.writer makes of a number.
csv_stream.py writes a stream two ways (every cell checked in SQL before it has read the
table's columns; only what a column holds afterwards, see scan_columns): both are checked,
byte for byte against each other, and against Datasette's own CSV, reading the rows either way
(one query sorted by SQLite, or chunks by key on two connections)."""

from __future__ import annotations

import asyncio
import csv
import io
import sqlite3

import pytest

from registry.rules.spreadsheet import neutralise
from tests.test_datasette import METADATA, ours

HARD = [
    "a,b",
    'say "hi"',
    "two\nlines",
    "cr\rhere",
    "crlf\r\nend",
    "nul\x00inside",
    "=1+2",
    "+1",
    "-2",
    "@SUM(A1)",
    "\ttab first",
    "\rcr first",
    " =1 after a space",
    "\uff1d1 full-width equals",
    "naïve ünïcode ✓ 日本",
    "",
    "'already quoted'",
    '=a,"b"\n',
    '"',
    ",",
    'back\\slash \\"q\\"',
    "ends with a space ",
]
TEXT_COLUMNS = ("client", "client_aliases", "product", "start_date", "start_precision", "end_date", "end_precision",
                "summary", "notes", "disclosure")  # fmt: skip
ORDER = "published_at desc, id"  # the table's default sort (metadata), then its key


def plugin():
    from datasette.plugins import pm

    return next(p for p in pm.get_plugins() if getattr(p, "__name__", "") == "csv_stream.py")


def cell(value) -> str:
    """A value as a CSV download must carry it."""
    return "" if value is None else neutralise(value if isinstance(value, str) else str(value))


def parsed(response) -> list[list[str]]:
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"), newline="")))


def database_rows(path, sql: str, params=()) -> tuple[list[str], list[list[str]]]:
    conn = sqlite3.connect(path)
    try:
        cursor = conn.execute(sql, params)
        return [d[0] for d in cursor.description], [[cell(v) for v in row] for row in cursor]
    finally:
        conn.close()


@pytest.fixture
def hard(seeded):
    """The seeded relationships with a hard value in every text column of most rows, some NULLs and negative numbers."""
    conn = sqlite3.connect(seeded.registry_db)
    ids = [i for (i,) in conn.execute("select id from relationships order by id")]
    for n, key in enumerate(ids[:-3]):  # the last three rows keep their seeded values
        values = [HARD[(n + k) % len(HARD)] for k in range(len(TEXT_COLUMNS))]
        sets = ", ".join(f"{c} = ?" for c in TEXT_COLUMNS)
        conn.execute(f"update relationships set {sets} where id = ?", [*values, key])
    conn.execute("update relationships set notes = null, product = null where id = ?", [ids[0]])
    conn.execute("update relationships set trial_days = -7, response_count = -3 where id in (?, ?)", ids[1:3])
    conn.commit()
    conn.close()
    return seeded


@pytest.fixture
def ds(seeded):
    return ours(seeded.registry_db, suggest_facets=False)


@pytest.fixture(params=["sorted by SQLite", "by key, two connections"])
def way(request, ds, monkeypatch):
    """Both ways csv_stream.py reads lines: one sorted query (up to SORT_ROWS rows), or by key in chunks."""
    monkeypatch.setattr(plugin(), "CHUNK", 4)  # several chunks of the seed's rows
    if request.param.startswith("by key"):
        monkeypatch.setattr(plugin(), "SORT_ROWS", 0)
    return request.param


async def columns_scanned(path) -> dict[str, frozenset[str]]:
    """What csv_stream.py found in the columns of relationships, once its scan of the current version is done."""
    key = (str(path), "relationships")
    for _ in range(1000):
        known = plugin().HELD.get(key)
        if known and known[0] == plugin().data_version(str(path)) and key not in plugin().SCANNING:
            return known[1]
        await asyncio.sleep(0.01)
    raise AssertionError("relationships not scanned in 10 s")


@pytest.mark.parametrize(
    "query, where, order",
    [
        ("", "1", ORDER),
        ("client_country=United+States", "client_country = 'United States'", ORDER),
        ("id__lte=12&client_sector__not=Retail", "id <= 12 and client_sector != 'Retail'", ORDER),
        ("_sort=client", "1", "client, id"),
        ("_sort_desc=notes&vendor=Clearview+AI", "vendor = 'Clearview AI'", "notes desc, id"),
    ],
)
async def test_streamed_csv_cells_are_the_database_values_neutralised_on_both_paths(
    ds, way, hard, query, where, order, monkeypatch
):
    url = f"/registry/relationships.csv?_stream=on&{query}"
    known = plugin().held_in

    def nothing_known_yet(table, version):  # as before a scan ends, whatever the threads' timing
        known(table, version)  # (which starts the scan)
        return {}

    with monkeypatch.context() as patched:
        patched.setattr(plugin(), "held_in", nothing_known_yet)
        careful = await ds.client.get(url)  # every cell checked in SQL
    assert careful.headers["x-csv-formulas"] == "neutralised"  # csv_stream.py answered
    held = await columns_scanned(hard.registry_db)
    assert held["published_at"] == frozenset() and held["id"] == frozenset()  # nothing to look for
    assert {"comma", "quote", "lf", "cr", "nul", "formula"} <= held["notes"]
    assert held["trial_days"] == {"negative"}
    fast = await ds.client.get(url)  # now only what each column holds is looked for
    columns, expected = database_rows(hard.registry_db, f"select * from relationships where {where} order by {order}")
    assert len(expected) > 1
    for response in (careful, fast):
        rows = parsed(response)
        assert rows[0] == columns
        assert rows[1:] == expected
    assert fast.content == careful.content


async def test_hard_cells_are_written_as_csv_writer_writes_them(ds, hard):
    await ds.client.get("/registry/relationships.csv?_stream=on")
    await columns_scanned(hard.registry_db)
    body = (await ds.client.get("/registry/relationships.csv?_stream=on")).content
    for written in (b'"a,b"', b'"say ""hi"""', b'"two\nlines"', b'"cr\rhere"', b"nul\x00inside", b"'=1+2", b"'+1",
                    b"'-2", b"'@SUM(A1)", b"'\ttab first", b"\"'\rcr first\"", b" =1 after a space",
                    "\uff1d1".encode(), b"\"'=a,\"\"b\"\"\n\"", b'""""', b'","', b",'-7,", b",'-3,"):  # fmt: skip
        assert written in body, written


async def test_streamed_and_datasette_csv_have_the_same_cells(ds, way, hard):
    for query in ("", "client_country=United+States", "_sort=client"):
        streamed = parsed(await ds.client.get(f"/registry/relationships.csv?_stream=on&{query}"))
        paged = await ds.client.get(f"/registry/relationships.csv?_size=max&{query}")  # Datasette, then the guard
        assert "x-csv-formulas" not in paged.headers
        assert streamed == parsed(paged), query


async def test_a_commit_after_the_scan_is_written_the_careful_way(ds, way, seeded):
    await ds.client.get("/registry/relationships.csv?_stream=on")
    held = await columns_scanned(seeded.registry_db)
    assert held["client_aliases"] == frozenset()  # the seed's aliases hold nothing to look for
    conn = sqlite3.connect(seeded.registry_db)
    conn.execute("update relationships set client_aliases = ?, trial_days = -1 where client = 'Coinbase'",
                 ['=HYPERLINK("x"),\r\n\x00'])  # fmt: skip
    conn.commit()
    conn.close()
    rows = parsed(await ds.client.get("/registry/relationships.csv?_stream=on&client=Coinbase"))
    columns = rows[0]
    assert rows[1][columns.index("client_aliases")] == '\'=HYPERLINK("x"),\r\n\x00'
    assert rows[1][columns.index("trial_days")] == "'-1"
    assert (await columns_scanned(seeded.registry_db))["client_aliases"] == {"formula", "quote", "comma", "cr", "lf",
                                                                              "nul"}  # fmt: skip


async def test_canned_query_csv_cells_are_the_query_values_neutralised(ds, hard):
    sql = METADATA["databases"]["registry"]["queries"]["clients_of_vendor"]["sql"]
    columns, expected = database_rows(hard.registry_db, sql, {"vendor": "Clearview AI"})
    rows = parsed(await ds.client.get("/registry/clients_of_vendor.csv?vendor=Clearview+AI&_size=max"))
    assert len(expected) > 1
    assert rows == [columns, *expected]


async def test_floats_and_other_tables_streamed_as_datasette_writes_them(ds, seeded):
    conn = sqlite3.connect(seeded.registry_db)
    conn.execute("update countries set latitude = ?, longitude = ?, name = ? where code = 'BE'",
                 [-0.1 - 0.2, 0.1 + 0.2, "-Belgium, \"quoted\""])  # fmt: skip
    conn.commit()
    conn.close()
    streamed = await ds.client.get("/registry/countries.csv?_stream=on")
    assert streamed.headers["x-csv-formulas"] == "neutralised"
    rows = parsed(streamed)
    columns, expected = database_rows(seeded.registry_db, "select * from countries order by code")
    assert rows == [columns, *expected]
    belgium = dict(zip(columns, next(r for r in rows if r[columns.index("code")] == "BE"), strict=True))
    assert (belgium["latitude"], belgium["longitude"]) == ("'-0.30000000000000004", "0.30000000000000004")
    assert belgium["name"] == '\'-Belgium, "quoted"'
    paged = parsed(await ds.client.get("/registry/countries.csv?_size=max"))
    assert rows == paged
