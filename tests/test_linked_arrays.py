"""A filter by one type, kind of data or medium of a breach (`breach_types__arraycontains=Theft`,
a reader's click on a facet) reads the link tables (datasette/plugins/linked_arrays.py): the
same rows, in the same order, and the same count as the JSON arrays say, for every value of
every vocabulary, both ways of reading (walking the table for a common value, the value's
rows for a rare one), and negated. On the 2014 HHS breach portal snapshot, imported and
published."""

from __future__ import annotations

import json
import sqlite3

import pytest

from datasette.plugins import pm
from tests.conftest import invoke
from tests.test_datasette import ours
from tests.test_import_breaches import FILES, MAPPINGS

ARRAYS = {"breach_types": "breach_types", "data_kinds": "data_kinds", "media": "breach_media"}


@pytest.fixture
def hhs(seeded):
    result = invoke("import", str(FILES[2014]), "--mapping", str(MAPPINGS[2014]), "--approve")
    assert result.exit_code == 0, result.output
    return seeded


def plugin(name: str):
    return next(p for p in pm.get_plugins() if getattr(p, "__name__", "") == name)


async def every_id(ds, query_string: str) -> tuple[list[tuple[int, str]], int]:
    """(id, published_at) of every row of the breaches table the query string keeps, page after page, and the
    count shown."""
    ids, url, count = [], f"/registry/breaches.json?_size=max&_col=published_at&{query_string}", None
    while url:
        response = await ds.client.get(url)
        assert response.status_code == 200, (query_string, response.text[:300])
        data = response.json()
        count = data["filtered_table_rows_count"] if count is None else count
        ids += [(row[0], row[1]) for row in data["rows"]]
        url = data["next_url"] and data["next_url"].removeprefix("http://localhost")
    return ids, count


@pytest.mark.parametrize("walk", [True, False], ids=["walking the table", "the value's rows"])
async def test_every_value_keeps_the_rows_its_array_holds_in_the_table_order(hhs, walk, monkeypatch):
    path = hhs.registry_db
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT id, breach_types, data_kinds, media FROM breaches").fetchall()
    labels = {column: [r[0] for r in conn.execute(f"SELECT label FROM {table}")] for column, table in ARRAYS.items()}
    conn.close()
    assert len(rows) > 1000
    ds = ours(path)
    await ds.invoke_startup()
    # Every value read one way: walk the table (common) or read the value's rows (rare).
    monkeypatch.setattr(plugin("linked_arrays.py"), "WALK_FACTOR", 0 if walk else 10**12)
    everything, total = await every_id(ds, "")
    assert total == len(rows) == len(everything)
    order = [breach for breach, _ in everything]
    checked = 0
    for i, column in enumerate(("breach_types", "data_kinds", "media"), start=1):
        for label in [*labels[column], "No such value"]:
            holding = {r[0] for r in rows if label in json.loads(r[i])}
            for lookup, expected in (("arraycontains", holding), ("arraynotcontains", set(order) - holding)):
                pages, count = await every_id(ds, f"{column}__{lookup}={label}")
                found, added = [breach for breach, _ in pages], [when for _, when in pages]
                assert set(found) == expected and len(found) == len(expected), (column, lookup, label)
                assert added == sorted(added, reverse=True), (column, lookup, label)  # the table's order: newest first
                assert count == len(expected), (column, lookup, label)
                checked += bool(expected)
    assert checked > 40  # values that keep some rows, each way


async def test_a_value_with_another_filter_and_two_values_keep_the_rows_they_name(hhs):
    ds = ours(hhs.registry_db)
    await ds.invoke_startup()
    conn = sqlite3.connect(hhs.registry_db)
    rows = conn.execute("SELECT id, breach_types, data_kinds, organisation_country FROM breaches").fetchall()
    conn.close()
    theft = {r[0] for r in rows if "Theft" in json.loads(r[1])}
    stolen_health_data = {r[0] for r in rows if "Health information" in json.loads(r[2])} & theft
    assert 0 < len(stolen_health_data) < len(theft)
    found, count = await every_id(ds, "breach_types__arraycontains=Theft&data_kinds__arraycontains=Health+information")
    assert {breach for breach, _ in found} == stolen_health_data and count == len(stolen_health_data) == len(found)
    in_the_us = {r[0] for r in rows if "Theft" in json.loads(r[1]) and r[3] == "United States"}
    found, count = await every_id(ds, "breach_types__arraycontains=Theft&organisation_country=United+States")
    assert {breach for breach, _ in found} == in_the_us and count == len(in_the_us) == len(found)
    # The page says what it is filtered by, as Datasette's own filter does.
    page = await ds.client.get("/registry/breaches?breach_types__arraycontains=Theft")
    assert 'breach_types contains "Theft"' in page.text.replace("&#34;", '"').replace("&quot;", '"')
