"""The front door (`/`) and the About page (`/about`): what the registry holds, in counts
and ways in, and the arrangements vocabulary read from registry.db (one hook:
register_routes; the templates are index.html and pages/about.html).

`/` is a route of its own rather than Datasette's index view because that view counts
the rows of every table on each request (90 ms at a million relationships, measured with
/tmp/look-bench-style runs; see docs/performance.md); Datasette's database listing stays
at /registry, and /.json is still Datasette's. The counts and lists are computed once per
version of registry.db (SQLite's `PRAGMA data_version`, registry.store.versions, which
changes when the publisher commits) and kept: they only change when something is published."""

from __future__ import annotations

import asyncio

from datasette.utils.asgi import Response

from datasette import hookimpl
from registry.store.versions import data_version

LATEST = 10  # relationships listed as "newly published"
VENDORS = 100  # vendors listed with their number of clients (the registry has a few dozen)
TIME_LIMIT_MS = 20_000  # for the counts, once per version of the database

QUERIES = {
    "counts": """
        SELECT (SELECT count(*) FROM relationships) AS relationships,
               (SELECT count(*) FROM organisations) AS organisations,
               (SELECT count(*) FROM (SELECT DISTINCT vendor_id FROM relationships)) AS vendors,
               (SELECT count(*) FROM disclosures) AS disclosures,
               (SELECT count(*) FROM breaches) AS breaches,
               (SELECT count(*) FROM sources) AS sources
    """,
    "latest": f"""
        SELECT id, vendor, vendor_id, client, client_id, arrangement, published_at
        FROM relationships ORDER BY published_at DESC, id DESC LIMIT {LATEST}
    """,
    "vendors": f"""
        SELECT o.id, o.name, v.relationships
        FROM (SELECT vendor_id, count(*) AS relationships FROM relationships GROUP BY vendor_id) v
        JOIN organisations o ON o.id = v.vendor_id
        ORDER BY v.relationships DESC, o.name LIMIT {VENDORS}
    """,
    "disclosures": """
        SELECT id, title, disclosed_date, reported_count, published_count
        FROM disclosures ORDER BY published_count DESC, disclosed_date DESC
    """,
}
ARRANGEMENTS = "SELECT code, label, description FROM arrangements ORDER BY rowid"

# registry.db path -> (data version, front door data)
KEPT: dict[str, tuple[int, dict]] = {}


async def front_door(datasette, db) -> dict:
    """The front door's counts and lists for the database as it is now, with their links
    (built here, once per version: a hundred urls.row calls in the template cost more
    than the rest of the page)."""
    version = data_version(db.path)
    kept = KEPT.get(db.path)
    if kept and kept[0] == version:
        return kept[1]
    # Counted from indexes (relationships_vendor_id covers vendor_id), once per version:
    # longer than a page's own time limit is allowed.
    results = await asyncio.gather(*(db.execute(sql, custom_time_limit=TIME_LIMIT_MS) for sql in QUERIES.values()))
    found = {name: [dict(r) for r in result.rows] for name, result in zip(QUERIES, results, strict=True)}
    row = datasette.urls.row
    for r in found["latest"]:
        r["url"] = row(db.name, "relationships", r["id"])
        r["vendor_url"] = row(db.name, "organisations", r["vendor_id"])
        r["client_url"] = row(db.name, "organisations", r["client_id"])
    for r in found["vendors"]:
        r["url"] = row(db.name, "organisations", r["id"])
    for r in found["disclosures"]:
        r["url"] = row(db.name, "disclosures", r["id"])
    data = {**found, "counts": found["counts"][0]}
    KEPT[db.path] = (version, data)
    return data


async def arrangements(db) -> list[dict]:
    """The arrangements vocabulary: code, label and description, in the seed's order."""
    return [dict(r) for r in (await db.execute(ARRANGEMENTS)).rows]


async def page(datasette, request, template: str, context: dict) -> Response:
    html = await datasette.render_template(
        [template], {"metadata": datasette.metadata(), **context}, request=request, view_name="page"
    )
    return Response.html(html)


@hookimpl
def register_routes(datasette):
    async def index(request):
        db = datasette.get_database("registry")
        return await page(datasette, request, "index.html", {"front_door": await front_door(datasette, db)})

    async def about(request):
        db = datasette.get_database("registry")
        return await page(datasette, request, "pages/about.html", {"arrangements": await arrangements(db)})

    return [(r"^/$", index), (r"^/about$", about)]
