"""Organisation, vendor and disclosure pages, and the overview: what the registry holds
about one of them (relationships, breaches, figures, responses to a whole disclosure),
added to Datasette's row pages, and its counts as charts (one hook:
extra_template_vars; the templates are row-registry-organisations.html,
row-registry-disclosures.html and pages/overview.html)."""

from __future__ import annotations

import asyncio
import functools
import json
from pathlib import Path
from urllib.parse import urlencode

from datasette import hookimpl

LIMIT = 1000  # rows listed on an organisation's or a disclosure's page
RECENT_CLIENTS = 50  # a vendor's page lists its latest clients; the counts and the table link cover all of them

RELATIONSHIP = """
    SELECT r.id, r.vendor, r.vendor_id, r.client, r.client_id, r.client_sector, r.client_country, r.arrangement,
           r.product, r.trial_days, r.start_date, r.end_date, r.disclosure, r.disclosure_id, r.summary, r.notes
    FROM relationships r
"""
CITATIONS = """
    SELECT c.relationship_id, c.locator, c.quote, s.id AS source_id, s.title, s.url, s.publisher, s.published_date
    FROM citations c JOIN sources s ON s.id = c.source_id WHERE c.relationship_id IN ({ids}) ORDER BY c.id
"""
RESPONSES = """
    SELECT re.relationship_id, o.name AS organisation, o.id AS organisation_id, k.label AS kind, re.response_date,
           re.quote, re.summary, s.title AS source, s.id AS source_id
    FROM responses re JOIN organisations o ON o.id = re.organisation_id JOIN response_kinds k ON k.code = re.kind
    JOIN sources s ON s.id = re.source_id WHERE re.relationship_id IN ({ids}) ORDER BY re.id
"""
BREACHES = """
    SELECT b.id, b.title, b.organisation, b.organisation_id, b.vendor, b.vendor_id, b.breach_types, b.data_kinds,
           b.start_date, b.affected_low, b.affected_high, b.affected_unit, b.relationship_id
    FROM breaches b
"""
# Figures about the organisation itself (Amazon's lobbying spend), not about one relationship.
ORGANISATION_FIGURES = """
    SELECT ob.metric, ob.low, ob.high, ob.unit, ob.period_start, ob.period_end, ob.locator,
           s.id AS source_id, s.title AS source
    FROM observations ob JOIN sources s ON s.id = ob.source_id WHERE ob.organisation_id = :id ORDER BY ob.id
"""
# Responses about a whole disclosure (Clearview AI's lawyer on the theft of its client list).
DISCLOSURE_RESPONSES = """
    SELECT o.name AS organisation, o.id AS organisation_id, k.label AS kind, re.response_date, re.author, re.quote,
           re.summary, re.locator, s.id AS source_id, s.title AS source, s.language
    FROM responses re JOIN organisations o ON o.id = re.organisation_id JOIN response_kinds k ON k.code = re.kind
    JOIN sources s ON s.id = re.source_id WHERE re.disclosure_id = :id ORDER BY re.response_date, re.id
"""


def amount(low, high, unit) -> str:
    """A range as '1,000–1,272 people', one number when both ends are the same, '' without one."""
    if low is None:
        return ""
    shown = [f"{int(v):,}" if float(v).is_integer() else f"{v:,}" for v in (low, high)]
    return f"{shown[0] if low == high else '–'.join(shown)} {unit}"


def readable_breaches(found: list[dict]) -> list[dict]:
    """Each breach's types and kinds of data as lists, and how many were affected in words."""
    for b in found:
        b["types"] = json.loads(b["breach_types"] or "[]")
        b["kinds"] = json.loads(b["data_kinds"] or "[]")
        b["affected"] = amount(b["affected_low"], b["affected_high"], b["affected_unit"])
    return found


def readable_figures(found: list[dict]) -> list[dict]:
    for o in found:
        o["figure"] = amount(o["low"], o["high"], o["unit"])
        o["when"] = "–".join(d for d in (o["period_start"], o["period_end"]) if d)
    return found


async def rows(db, sql, params=None):
    return [dict(r) for r in (await db.execute(sql, params or {})).rows]


async def with_evidence(db, relationships):
    """Attach each relationship's citations and responses."""
    if not relationships:
        return relationships
    ids = ",".join(str(int(r["id"])) for r in relationships)
    citations, responses = await rows(db, CITATIONS.format(ids=ids)), await rows(db, RESPONSES.format(ids=ids))
    for r in relationships:
        r["citations"] = [c for c in citations if c["relationship_id"] == r["id"]]
        r["responses"] = [x for x in responses if x["relationship_id"] == r["id"]]
    return relationships


async def counts(db, column, where, params):
    sql = f"SELECT {column} AS value, count(*) AS n FROM relationships WHERE {where} GROUP BY 1 ORDER BY 2 DESC, 1"
    found = await rows(db, sql, params)
    for f in found:
        f["label"] = f"(no {column.removeprefix('client_')})" if f["value"] is None else f["value"]
    return found


async def organisation_page(datasette, db, org_id):
    params = {"id": org_id, "limit": LIMIT}
    found = await rows(
        db,
        "SELECT o.*, k.label AS kind_label, s.label AS sector_label, c.name AS country_name, "
        "p.name AS parent_name FROM organisations o JOIN organisation_kinds k ON k.code = o.kind "
        "JOIN sectors s ON s.code = o.sector LEFT JOIN countries c ON c.code = o.country "
        "LEFT JOIN organisations p ON p.id = o.parent_id WHERE o.id = :id",
        params,
    )
    if not found:
        return None
    # A big vendor has hundreds of thousands of clients: its latest, read in order from the
    # (vendor_id, published_at) index, and its counts; all of them in the relationships table.
    clients = f"{RELATIONSHIP} WHERE r.vendor_id = :id ORDER BY r.published_at DESC, r.id LIMIT {RECENT_CLIENTS}"
    vendors = f"{RELATIONSHIP} WHERE r.client_id = :id ORDER BY r.start_date, r.vendor LIMIT :limit"
    aliases = "SELECT alias FROM organisation_aliases WHERE organisation_id = :id ORDER BY alias"
    by_vendor = await vendor_counts(datasette, db, found[0])
    # Its breaches, latest first from (organisation_id, published_at) and (vendor_id, published_at).
    breached = f"{BREACHES} WHERE b.organisation_id = :id ORDER BY b.published_at DESC, b.id DESC LIMIT :limit"
    as_vendor = f"{BREACHES} WHERE b.vendor_id = :id ORDER BY b.published_at DESC, b.id DESC LIMIT :limit"
    counted = await rows(
        db,
        "SELECT (SELECT count(*) FROM breaches WHERE organisation_id = :id) AS breached, "
        "(SELECT count(*) FROM breaches WHERE vendor_id = :id) AS as_vendor",
        params,
    )
    return {
        "organisation": found[0],
        "breaches": readable_breaches(await rows(db, breached, params)),
        "vendor_breaches": readable_breaches(await rows(db, as_vendor, params)),
        "breach_counts": counted[0],
        "figures": readable_figures(await rows(db, ORGANISATION_FIGURES, params)),
        "aliases": await rows(db, aliases, params),
        "as_client": await with_evidence(db, await rows(db, vendors, params)),
        "as_vendor": await with_evidence(db, await rows(db, clients, params)) if by_vendor["total"] else [],
        **by_vendor,
    }


COUNTED = {"by_sector": "client_sector", "by_country": "client_country", "by_arrangement": "arrangement"}


async def vendor_counts(datasette, db, organisation):
    """A vendor's relationships counted by client sector, client country and arrangement.

    These are the relationships table's facets for the vendor's name, which
    counted_facets.py answers from its cube; by id, with SQL, when another
    organisation has the same name."""
    params = {"id": organisation["id"], "name": organisation["name"]}
    found = await rows(
        db,
        "SELECT EXISTS (SELECT 1 FROM relationships WHERE vendor_id = :id) AS vendor, "
        "(SELECT count(*) FROM organisations WHERE name = :name) AS namesakes",  # organisations_name
        params,
    )
    if not found[0]["vendor"]:
        return {**{key: [] for key in COUNTED}, "total": 0, "filter": {}}
    if found[0]["namesakes"] == 1 and (by_name := await facet_counts(datasette, db, organisation)) is not None:
        return by_name
    found = await asyncio.gather(*(counts(db, column, "vendor_id = :id", params) for column in COUNTED.values()))
    by = dict(zip(COUNTED, found, strict=True))
    return {**by, "total": sum(c["n"] for c in by["by_arrangement"]), "filter": {"vendor_id": organisation["id"]}}


async def facet_counts(datasette, db, organisation):
    """The table's facets for the vendor's name, or None if any is missing (a facet that
    ran out of time is dropped by Datasette: the page then counts with SQL instead)."""
    query = urlencode({"vendor": organisation["name"], "_size": 0, "_facet_size": "max", "_nocount": 1})
    response = await datasette.client.get(f"/{db.name}/relationships.json?{query}")
    data = response.json() if response.status_code == 200 else {}
    facets = data.get("facet_results") or {}
    if data.get("facets_timed_out") or any(column not in facets for column in COUNTED.values()):
        return None
    by = {
        key: [
            {"value": r["value"], "label": r["label"], "n": r["count"]}
            for r in facets.get(column, {}).get("results", [])
        ]
        for key, column in COUNTED.items()
    }
    total = sum(c["n"] for c in by["by_arrangement"])  # every relationship has an arrangement
    without = total - sum(c["n"] for c in by["by_country"])
    if without:
        by["by_country"].append({"value": None, "label": "(no country)", "n": without})
        by["by_country"].sort(key=lambda c: -c["n"])
    return {**by, "total": total, "filter": {"vendor": organisation["name"]}}


async def disclosure_page(datasette, db, disclosure_id):
    params = {"id": disclosure_id, "limit": LIMIT}
    found = await rows(
        db,
        "SELECT d.*, k.label AS kind_label, s.title AS primary_source, s.url AS primary_source_url, "
        "(SELECT count(*) FROM disclosures t WHERE t.title = d.title) AS namesakes "
        "FROM disclosures d JOIN disclosure_kinds k ON k.code = d.kind "
        "LEFT JOIN sources s ON s.id = d.primary_source_id WHERE d.id = :id",
        params,
    )
    if not found:
        return None
    disclosure = found[0]
    params["title"] = disclosure["title"]
    if (disclosure["published_count"] or 0) <= LIMIT:
        listed = f"{RELATIONSHIP} WHERE r.disclosure_id = :id ORDER BY r.vendor, r.client_sector, r.client LIMIT :limit"
    else:  # a leak of hundreds of thousands: its latest, read in order from (disclosure, published_at)
        listed = (f"{RELATIONSHIP} WHERE r.disclosure = :title AND r.disclosure_id = :id "
                  f"ORDER BY r.published_at DESC, r.id DESC LIMIT {RECENT_CLIENTS}")  # fmt: skip
    by = None
    if disclosure["namesakes"] == 1:
        by = await table_facets(datasette, db, {"disclosure": disclosure["title"]}, DISCLOSURE_COUNTED)
    if by is None:  # another disclosure has the same title, or a facet ran out of time
        by = {
            key: await counts(db, column, "disclosure_id = :id", params) for key, column in DISCLOSURE_COUNTED.items()
        }
    made_known = (
        f"{BREACHES} JOIN breaches_disclosures bd ON bd.breach_id = b.id WHERE bd.disclosure_id = :id "
        "ORDER BY b.published_at DESC, b.id DESC LIMIT :limit"
    )
    return {
        "disclosure": disclosure,
        "relationships": await with_evidence(db, await rows(db, listed, params)),
        "breaches": readable_breaches(await rows(db, made_known, params)),
        "responses": await rows(db, DISCLOSURE_RESPONSES, params),
        **by,
    }


DISCLOSURE_COUNTED = {"by_arrangement": "arrangement", "by_sector": "client_sector"}


async def table_facets(datasette, db, filters: dict[str, str], counted: dict[str, str]) -> dict[str, list] | None:
    """The relationships table's facet counts under `filters` (counted_facets.py answers them
    from its in-memory cubes), or None if any is missing or timed out."""
    query = urlencode({**filters, "_size": 0, "_facet_size": "max", "_nocount": 1})
    response = await datasette.client.get(f"/{db.name}/relationships.json?{query}")
    data = response.json() if response.status_code == 200 else {}
    facets = data.get("facet_results") or {}
    if data.get("facets_timed_out") or any(column not in facets for column in counted.values()):
        return None
    return {
        key: [{"value": r["value"], "label": r["label"], "n": r["count"]} for r in facets[column]["results"]]
        for key, column in counted.items()
    }


CHARTS = [
    ("By arrangement", "arrangement",
     "SELECT arrangement AS label, count(*) AS n FROM relationships GROUP BY 1 ORDER BY 2 DESC"),
    ("By client sector", "client_sector",
     "SELECT client_sector AS label, count(*) AS n FROM relationships GROUP BY 1 ORDER BY 2 DESC"),
    ("By client country (top 25)", "client_country",
     "SELECT client_country AS label, count(*) AS n FROM relationships WHERE client_country IS NOT NULL "
     "GROUP BY 1 ORDER BY 2 DESC LIMIT 25"),
    ("By vendor (top 25)", "vendor",
     "SELECT vendor AS label, count(*) AS n FROM relationships GROUP BY 1 ORDER BY 2 DESC LIMIT 25"),
    ("By year of first evidence", "start_year",
     "SELECT start_year AS label, count(*) AS n FROM relationships WHERE start_year IS NOT NULL "
     "GROUP BY 1 ORDER BY 1"),
]  # fmt: skip
TOP = {"client_country": 25, "vendor": 25}  # the charts that show the first 25 by count
YEARS = "start_year"  # the year chart: dated rows only, bars as shares of all relationships

# Natural Earth's countries at 1:110m as SVG paths keyed by ISO code (scripts/build-map.py,
# datasette/static/NATURAL-EARTH.md), read once: the map is drawn in the page, one link per country.
SHAPES_FILE = Path(__file__).resolve().parent.parent / "static" / "world-110m.json"
SHADES = [(1, 1), (2, 9), (10, 99), (100, 999), (1000, 9999), (10000, 99999), (100000, None)]


@functools.cache
def shapes() -> dict[str, dict[str, str]]:
    return json.loads(SHAPES_FILE.read_text(encoding="utf-8"))


def shade(n: int) -> int:
    """The map's class for a count: 1, 2-9, 10-99... (decades read at a glance, at any size)."""
    return next(i for i, (low, high) in enumerate(SHADES) if high is None or n <= high) + 1


async def country_map(db, by_country: list[dict] | None = None):
    """Every country shape, with its name, count and class when it has relationships, and the legend.
    `by_country`: the counts by country name, when the facets gave them (else counted here)."""
    if by_country is None:
        found = await rows(
            db,
            "SELECT r.client_country_code AS code, c.name, count(*) AS n FROM relationships r JOIN countries c "
            "ON c.code = r.client_country_code GROUP BY r.client_country_code ORDER BY n DESC, c.name",
        )
    else:
        codes = {r["name"]: r["code"] for r in await rows(db, "SELECT code, name FROM countries")}
        found = sorted(
            ({"code": codes[i["label"]], "name": i["label"], "n": i["n"]} for i in by_country if i["label"] in codes),
            key=lambda f: (-f["n"], f["name"]),
        )
    counted = {f["code"]: f for f in found}
    countries = [
        {"code": code, "d": shape["d"], **({"name": counted[code]["name"], "n": counted[code]["n"],
                                             "shade": shade(counted[code]["n"])} if code in counted else {})}
        for code, shape in shapes().items()
    ]  # fmt: skip
    top = max((f["n"] for f in found), default=0)
    legend = [
        {"shade": i + 1, "label": f"{low:,}" if low == high else (f"{low:,}–{high:,}" if high else f"{low:,} or more")}
        for i, (low, high) in enumerate(SHADES)
        if low <= top
    ]
    unmapped = [f for f in found if f["code"] not in shapes()]  # small states the 1:110m map has no shape for
    return {"countries": countries, "table": found, "legend": legend, "unmapped": unmapped}


async def faceted(datasette, db) -> tuple[int, dict[str, list[dict]]] | None:
    """The relationships table's count and every value of its facets with its count, as the
    table page gives them: at a million rows counted_facets.py answers from its in-memory
    cubes in milliseconds, where a GROUP BY per chart reads the whole table. None when a
    facet is missing, cut short or timed out: the overview then counts with SQL."""
    columns = [column for _, column, _ in CHARTS]
    query = urlencode([("_size", 0), ("_facet_size", "max"), *(("_facet", c) for c in columns)])
    response = await datasette.client.get(f"/{db.name}/relationships.json?{query}")
    data = response.json() if response.status_code == 200 else {}
    facets, total = data.get("facet_results") or {}, data.get("filtered_table_rows_count")
    if data.get("facets_timed_out") or not isinstance(total, int):
        return None
    if any(column not in facets or facets[column].get("truncated") for column in columns):
        return None
    counts = {}
    for column in columns:
        found = [{"label": r["value"], "n": r["count"]} for r in facets[column]["results"] if r["value"] is not None]
        found.sort(key=lambda i: (i["label"],) if column == YEARS else (-i["n"], str(i["label"])))
        counts[column] = found
    return total, counts


async def overview_page(datasette, db):
    from_facets = await faceted(datasette, db)
    if from_facets is None:
        total = (await rows(db, "SELECT count(*) AS n FROM relationships"))[0]["n"]
        counts = {column: await rows(db, sql) for _, column, sql in CHARTS}
        by_country = None
    else:
        total, counts = from_facets
        by_country = counts["client_country"]  # every country, for the map
    charts = []
    for title, column, _ in CHARTS:
        items = counts[column][: TOP[column]] if column in TOP else counts[column]
        top = max((i["n"] for i in items), default=1)
        # The year chart covers dated rows only: its bars are shares of all relationships,
        # so three dated rows out of hundreds do not fill the width.
        charts.append(
            {"title": title, "column": column, "items": items, "top": max(total, 1) if column == YEARS else top}
        )
    dated = sum(i["n"] for i in charts[-1]["items"])
    breaches = (await rows(db, "SELECT count(*) AS n FROM breaches"))[0]["n"]  # the id index: milliseconds
    return {
        "charts": charts,
        "total": total,
        "undated": total - dated,
        "map": await country_map(db, by_country),
        "breaches": breaches,
    }


@hookimpl
def extra_template_vars(view_name, database, table, request, datasette):
    if request is not None and request.path == "/overview":
        return {"overview": lambda: overview_page(datasette, datasette.get_database("registry"))}
    if view_name != "row" or database != "registry" or table not in ("organisations", "disclosures"):
        return {}

    async def page():
        key = (request.url_vars or {}).get("pks", "")
        if not key.isdigit() or len(key) > 18:
            return {}
        db = datasette.get_database("registry")
        if table == "organisations":
            return {"entity": await organisation_page(datasette, db, int(key))}
        return {"entity": await disclosure_page(datasette, db, int(key))}

    return page
