"""A relationship's own page: the claim, its sources, the responses, figures and how to
cite it, added to Datasette's row page of relationships (one hook: extra_template_vars;
the template is row-registry-relationships.html).

Datasette loads each file of plugins/ as a module of its own, not as a package, so the
few queries shared with entity_pages.py are written out here rather than imported."""

from __future__ import annotations

from datetime import UTC, datetime

from datasette import hookimpl
from registry.rules.dates import partial_date

DATABASE = "registry"

RELATIONSHIP = """
    SELECT r.*, a.description AS arrangement_description, d.title AS disclosure_title,
           d.disclosed_date, d.disclosed_by
    FROM relationships r JOIN arrangements a ON a.code = r.arrangement_code
    LEFT JOIN disclosures d ON d.id = r.disclosure_id WHERE r.id = :id
"""
CITATIONS = """
    SELECT c.locator, c.quote, s.id AS source_id, s.title, s.url, s.archive_url, s.publisher, s.language,
           s.published_date
    FROM citations c JOIN sources s ON s.id = c.source_id WHERE c.relationship_id = :id ORDER BY c.id
"""
RESPONSES = """
    SELECT o.name AS organisation, o.id AS organisation_id, k.label AS kind, re.response_date, re.quote,
           re.summary, re.locator, s.id AS source_id, s.title AS source, s.url AS source_url, s.language
    FROM responses re JOIN organisations o ON o.id = re.organisation_id JOIN response_kinds k ON k.code = re.kind
    JOIN sources s ON s.id = re.source_id WHERE re.relationship_id = :id ORDER BY re.response_date, re.id
"""
OBSERVATIONS = """
    SELECT ob.metric, ob.low, ob.high, ob.unit, ob.period_start, ob.period_end, ob.locator,
           s.id AS source_id, s.title AS source
    FROM observations ob JOIN sources s ON s.id = ob.source_id WHERE ob.relationship_id = :id ORDER BY ob.id
"""


def number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,}"


def figure(low: float, high: float, unit: str) -> str:
    """A range as '1,000–5,000 searches'; one number when both ends are the same."""
    shown = number(low) if low == high else f"{number(low)}–{number(high)}"
    return f"{shown} {unit}"


def period(start: str | None, end: str | None) -> str:
    """When, in words, with each date's own precision."""
    if start and end:
        return f"From {partial_date(start)} to {partial_date(end)}"
    if start:
        return f"From {partial_date(start)}"
    if end:
        return f"Until {partial_date(end)}"
    return ""


async def rows(db, sql, params):
    return [dict(r) for r in (await db.execute(sql, params)).rows]


async def relationship_page(datasette, request, rel_id):
    db = datasette.get_database(DATABASE)
    params = {"id": rel_id}
    found = await rows(db, RELATIONSHIP, params)
    if not found:
        return None
    r = found[0]
    r["when"] = period(r["start_date"], r["end_date"])
    r["published_on"] = (r["published_at"] or "")[:10]
    citations = await rows(db, CITATIONS, params)
    for c in citations:
        c["date"] = partial_date(c["published_date"])
    responses = await rows(db, RESPONSES, params)
    for x in responses:
        x["date"] = partial_date(x["response_date"])
    observations = await rows(db, OBSERVATIONS, params)
    for o in observations:
        o["figure"] = figure(o["low"], o["high"], o["unit"])
        o["when"] = "–".join(partial_date(d) for d in (o["period_start"], o["period_end"]) if d)
    permalink = datasette.absolute_url(request, datasette.urls.row(DATABASE, "relationships", rel_id))
    today = datetime.now(UTC).date().isoformat()
    title = f"{r['vendor']} – {r['client']} ({r['arrangement']})"
    citation = f'Exposure registry, "{title}", relationship {rel_id}, published {r["published_on"]}, {permalink}'
    return {
        "r": r,
        "citations": citations,
        "responses": responses,
        "observations": observations,
        "permalink": permalink,
        "citation": f"{citation}, accessed {today}",
    }


@hookimpl
def extra_template_vars(view_name, database, table, request, datasette):
    if view_name != "row" or database != DATABASE or table != "relationships" or request is None:
        return {}

    async def page():
        key = (request.url_vars or {}).get("pks", "")
        if not key.isdigit() or len(key) > 18:
            return {}
        return {"relationship_page": await relationship_page(datasette, request, int(key))}

    return page
