"""The front door (Datasette's index page, `/`) and the About page: what the registry
holds, in counts and ways in, and the arrangements vocabulary (one hook:
extra_template_vars; the templates are index.html and pages/about.html).

The counts and lists are computed once per version of registry.db (SQLite's
`PRAGMA data_version`, registry.store.versions, which changes when the publisher
commits) and kept: at a million relationships the vendor counts alone take about a
tenth of a second, the front door must answer in a few milliseconds, and the numbers
only change when something is published."""

from __future__ import annotations

import asyncio

from datasette import hookimpl
from registry.store.versions import data_version

LATEST = 10  # relationships listed as "newly published"
VENDORS = 100  # vendors listed with their number of clients (the registry has a few dozen)

QUERIES = {
    "counts": """
        SELECT (SELECT count(*) FROM relationships) AS relationships,
               (SELECT count(*) FROM organisations) AS organisations,
               (SELECT count(*) FROM (SELECT DISTINCT vendor_id FROM relationships)) AS vendors,
               (SELECT count(*) FROM disclosures) AS disclosures,
               (SELECT count(*) FROM sources) AS sources
    """,
    "latest": f"""
        SELECT id, vendor, vendor_id, client, client_id, arrangement, published_at
        FROM relationships ORDER BY published_at DESC, id DESC LIMIT {LATEST}
    """,
    "vendors": f"""
        SELECT vendor_id AS id, min(vendor) AS name, count(*) AS relationships
        FROM relationships GROUP BY vendor_id ORDER BY relationships DESC, name LIMIT {VENDORS}
    """,
    "disclosures": """
        SELECT id, title, disclosed_date, reported_count, published_count
        FROM disclosures ORDER BY published_count DESC, disclosed_date DESC
    """,
}
ARRANGEMENTS = "SELECT code, label, description FROM arrangements ORDER BY rowid"

# registry.db path -> (data version, front door data)
KEPT: dict[str, tuple[int, dict]] = {}


async def front_door(db) -> dict:
    """The front door's counts and lists for the database as it is now."""
    version = data_version(db.path)
    kept = KEPT.get(db.path)
    if kept and kept[0] == version:
        return kept[1]
    results = await asyncio.gather(*(db.execute(sql) for sql in QUERIES.values()))
    found = {name: [dict(r) for r in result.rows] for name, result in zip(QUERIES, results, strict=True)}
    data = {**found, "counts": found["counts"][0]}
    KEPT[db.path] = (version, data)
    return data


async def arrangements(db) -> list[dict]:
    """The arrangements vocabulary: code, label and description, in the seed's order."""
    return [dict(r) for r in (await db.execute(ARRANGEMENTS)).rows]


@hookimpl
def extra_template_vars(view_name, request, datasette):
    if "registry" not in datasette.databases:
        return {}
    db = datasette.get_database("registry")
    if view_name == "index":

        async def index():
            return {"front_door": await front_door(db)}

        return index
    if request is not None and request.path == "/about":
        return {"arrangements": lambda: arrangements(db)}
    return {}
