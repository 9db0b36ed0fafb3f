"""The two feeds' canned queries (new_relationships, new_breaches in datasette/metadata.yml)
read the rows of one given parameter from its index (so that a rare country's feed does not
walk a million rows: docs/performance.md). Here their answers are checked against the
feeds' rules written plainly in Python, for every parameter alone and in pairs: a vendor by
name (any case) or short name; a country by code, three-letter code, English or French name
(any case) or "International"; an organisation by number, short name or name, as either
party; a disclosure by number, short name or title. On the seed and the 2014 HHS breach
portal snapshot, imported and published."""

from __future__ import annotations

import functools
import itertools
import sqlite3
from typing import Any

import pytest

from tests.conftest import invoke
from tests.test_datasette import ours
from tests.test_import_breaches import FILES, MAPPINGS

SIZE = 100  # a feed's entries
ASCII_UPPER = {ord(c): ord(c.lower()) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


def fold(text: str) -> str:
    """Text as SQLite's NOCASE compares it: A to Z folded, nothing else ("É" stays)."""
    return text.translate(ASCII_UPPER)


@pytest.fixture
def hhs(seeded):
    result = invoke("import", str(FILES[2014]), "--mapping", str(MAPPINGS[2014]), "--approve")
    assert result.exit_code == 0, result.output
    return seeded


def rows(conn: sqlite3.Connection, sql: str, params: Any = ()) -> list[dict]:
    conn.row_factory = sqlite3.Row
    return [dict(r) for r in conn.execute(sql, params)]


class Rules:
    """What each parameter of the feeds names, read from registry.db."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.countries = rows(conn, "SELECT code, code3, name, name_fr FROM countries")
        self.organisations = rows(conn, "SELECT id, slug, name FROM organisations")
        self.disclosures = rows(conn, "SELECT id, slug, title FROM disclosures")
        self.revealed = {(r["breach_id"], r["disclosure_id"]) for r in rows(conn, "SELECT * FROM breaches_disclosures")}

    @functools.cache  # noqa: B019 - one Rules per test
    def vendor(self, given: str) -> set[int]:
        return {o["id"] for o in self.organisations if o["slug"] == given or fold(o["name"]) == fold(given)}

    @functools.cache  # noqa: B019 - one Rules per test
    def organisation(self, given: str) -> set[int]:
        return {
            o["id"] for o in self.organisations if given in (str(o["id"]), o["slug"]) or fold(o["name"]) == fold(given)
        }

    @functools.cache  # noqa: B019 - one Rules per test
    def disclosure(self, given: str) -> set[int]:
        return {
            d["id"] for d in self.disclosures if given in (str(d["id"]), d["slug"]) or fold(d["title"]) == fold(given)
        }

    def country(self, label: str | None, given: str) -> bool:
        if label is None:
            return False
        if fold(label) == fold(given):
            return True
        return label in self.country_names(given)

    @functools.cache  # noqa: B019 - one Rules per test
    def country_names(self, given: str) -> set[str]:
        """The names of the countries a country parameter names."""
        return {
            c["name"]
            for c in self.countries
            if given.upper() in (c["code"], c["code3"]) or fold(given) in (fold(c["name"]), fold(c["name_fr"] or ""))
        }


def expected(found: list[dict], params: dict[str, str], keep) -> list[int]:
    kept = [r for r in found if all(keep(name, value, r) for name, value in params.items())]
    kept.sort(key=lambda r: (r["published_at"], r["id"]), reverse=True)
    return [r["id"] for r in kept[:SIZE]]


def cases(values: dict[str, list[str]]) -> list[dict[str, str]]:
    """Each parameter's values alone, and every pair of two parameters' first values."""
    alone = [{name: v} for name, vs in values.items() for v in vs]
    pairs = [{a: values[a][0], b: values[b][0]} for a, b in itertools.combinations(values, 2)]
    return [{}, *alone, *pairs]


async def answers(ds, query: str, params: dict[str, str], key: str) -> list[int]:
    response = await ds.client.get(f"/registry/{query}.json", params={**params, "_shape": "array"})
    assert response.status_code == 200, (query, params, response.text[:300])
    return [r[key] for r in response.json()]


async def test_the_relationships_feed_keeps_what_its_parameters_name(seeded):
    conn = sqlite3.connect(seeded.registry_db)
    rules, found = Rules(conn), rows(conn, "SELECT * FROM relationships")
    conn.close()

    def keep(name: str, value: str, r: dict) -> bool:
        if name == "vendor":
            return r["vendor_id"] in rules.vendor(value)
        if name == "country":
            return rules.country(r["client_country"], value)
        if name == "organisation":
            return bool({r["vendor_id"], r["client_id"]} & rules.organisation(value))
        return r["disclosure_id"] in rules.disclosure(value)

    values = {
        "vendor": ["clearview-ai", "CLEARVIEW AI", "Palantir Technologies", "nobody"],
        "country": ["US", "usa", "Belgique", "belgium", "International", "FR", "XX"],
        "organisation": ["clearview-ai", str(found[0]["client_id"]), found[-1]["client"].upper()],
        "disclosure": ["clearview-client-list-2020", str(found[0]["disclosure_id"]), "No such disclosure"],
    }
    ds = ours(seeded.registry_db)
    await ds.invoke_startup()
    nonempty = 0
    for params in cases(values):
        want = expected(found, params, keep)
        assert await answers(ds, "new_relationships", params, "relationship_id") == want, params
        nonempty += bool(want)
    assert nonempty > 10


async def test_the_breaches_feed_keeps_what_its_parameters_name(hhs):
    conn = sqlite3.connect(hhs.registry_db)
    rules, found = Rules(conn), rows(conn, "SELECT * FROM breaches")
    vendors = [
        r["vendor"]
        for r in rows(conn, "SELECT vendor FROM breaches WHERE vendor IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC")
    ]
    states = rows(conn, "SELECT organisation_country, count(*) AS n FROM breaches GROUP BY 1 ORDER BY n")
    # A name several breached organisations share (each is a party: the feed reads them all, sorted).
    namesakes = rows(
        conn,
        "SELECT o.name FROM organisations o JOIN breaches b ON b.organisation_id = o.id "
        "GROUP BY 1 HAVING count(DISTINCT o.id) > 1 ORDER BY 1",
    )
    conn.close()
    assert len(found) > 1000 and len(vendors) > 10 and namesakes

    def keep(name: str, value: str, r: dict) -> bool:
        if name == "vendor":
            return r["vendor_id"] in rules.vendor(value)
        if name == "country":
            return rules.country(r["organisation_country"], value)
        if name == "organisation":
            return bool({r["organisation_id"], r["vendor_id"]} & rules.organisation(value))
        return any((r["id"], d) in rules.revealed for d in rules.disclosure(value))

    values = {
        "vendor": [vendors[0], vendors[-1].lower(), "nobody"],
        "country": ["US", "united states", "États-Unis", states[0]["organisation_country"] or "International", "XX"],
        "organisation": [str(found[0]["organisation_id"]), found[-1]["organisation"], vendors[0], namesakes[0]["name"]],
        "disclosure": ["clearview-client-list-2020", "No such disclosure"],
    }
    ds = ours(hhs.registry_db)
    await ds.invoke_startup()
    nonempty = 0
    for params in cases(values):
        want = expected(found, params, keep)
        assert await answers(ds, "new_breaches", params, "breach_id") == want, params
        nonempty += bool(want)
    assert nonempty > 8


async def test_an_organisation_with_more_than_a_feed_on_each_side_gets_the_newest_hundred(seeded):
    """An organisation that is vendor in 150 relationships and client in 150 others: its feed is the
    newest 100 of the 300, both sides interleaved (each side is read from its own index)."""
    conn = sqlite3.connect(seeded.registry_db)
    columns = [r[1] for r in conn.execute("PRAGMA table_info(relationships)")]  # generated columns left out
    template = rows(conn, "SELECT * FROM relationships ORDER BY id LIMIT 1")[0]
    party = rows(conn, "SELECT id FROM organisations WHERE slug = 'palantir-technologies'")[0]["id"]
    others = [r["id"] for r in rows(conn, "SELECT id FROM organisations WHERE id <> ? ORDER BY id LIMIT 300", [party])]
    first = conn.execute("SELECT max(id) FROM relationships").fetchone()[0] + 1
    marks = ", ".join("?" * len(columns))
    for i in range(300):
        side = (
            {"vendor_id": party, "client_id": others[i % len(others)]}
            if i % 2
            else {"vendor_id": others[i % len(others)], "client_id": party}
        )
        row = {**template, **side, "id": first + i, "published_at": f"2030-01-01T00:{i // 60:02d}:{i % 60:02d}Z"}
        conn.execute(f"INSERT INTO relationships ({', '.join(columns)}) VALUES ({marks})", [row[c] for c in columns])
    conn.commit()
    found = rows(
        conn,
        "SELECT id, published_at, vendor_id, client_id FROM relationships WHERE ? IN (vendor_id, client_id)",
        [party],
    )
    conn.close()
    assert len(found) > 300
    ds = ours(seeded.registry_db)
    await ds.invoke_startup()
    want = expected(found, {}, lambda *_: True)
    got = await answers(ds, "new_relationships", {"organisation": "palantir-technologies"}, "relationship_id")
    assert got == want and len(got) == SIZE
    assert {first + i for i in range(200, 300)} == set(got)  # the newest hundred, of both sides
