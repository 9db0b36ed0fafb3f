"""A breach's own page: what happened, to whom and through which vendor, when (each date
at its own precision), how many were affected, what data, its sources, the responses,
figures and the disclosures that made it known, added to Datasette's row page of breaches
(one hook: extra_template_vars; the template is row-registry-breaches.html).

Datasette loads each file of plugins/ as a module of its own, not as a package, so the
small helpers shared with relationship_page.py (figures as ranges) are written out here."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from datasette import hookimpl
from registry.rules.dates import partial_date

DATABASE = "registry"

BREACH = """
    SELECT b.*, r.vendor AS relationship_vendor, r.client AS relationship_client,
           r.arrangement AS relationship_arrangement
    FROM breaches b LEFT JOIN relationships r ON r.id = b.relationship_id WHERE b.id = :id
"""
# The vocabularies' descriptions beside each label: the page says what "Theft" or "Client list" covers.
VOCABULARY = """
    SELECT 'types' AS list, v.label, v.description FROM breaches_breach_types t
    JOIN breach_types v ON v.code = t.breach_type WHERE t.breach_id = :id
    UNION ALL
    SELECT 'kinds', v.label, v.description FROM breaches_data_kinds k
    JOIN data_kinds v ON v.code = k.data_kind WHERE k.breach_id = :id
    UNION ALL
    SELECT 'media', v.label, v.description FROM breaches_breach_media m
    JOIN breach_media v ON v.code = m.medium WHERE m.breach_id = :id
    ORDER BY 1, 2
"""
CITATIONS = """
    SELECT c.locator, c.quote, s.id AS source_id, s.title, s.url, s.archive_url, s.publisher, s.language,
           s.published_date
    FROM breach_citations c JOIN sources s ON s.id = c.source_id WHERE c.breach_id = :id ORDER BY c.id
"""
RESPONSES = """
    SELECT o.name AS organisation, o.id AS organisation_id, k.label AS kind, re.response_date, re.author, re.quote,
           re.summary, re.locator, s.id AS source_id, s.title AS source, s.language
    FROM responses re JOIN organisations o ON o.id = re.organisation_id JOIN response_kinds k ON k.code = re.kind
    JOIN sources s ON s.id = re.source_id WHERE re.breach_id = :id ORDER BY re.response_date, re.id
"""
OBSERVATIONS = """
    SELECT ob.metric, ob.low, ob.high, ob.unit, ob.period_start, ob.period_end, ob.locator,
           s.id AS source_id, s.title AS source
    FROM observations ob JOIN sources s ON s.id = ob.source_id WHERE ob.breach_id = :id ORDER BY ob.id
"""
DISCLOSURES = """
    SELECT d.id, d.title, k.label AS kind, d.disclosed_date, d.disclosed_by
    FROM breaches_disclosures bd JOIN disclosures d ON d.id = bd.disclosure_id
    JOIN disclosure_kinds k ON k.code = d.kind WHERE bd.breach_id = :id ORDER BY d.disclosed_date, d.id
"""
FLAGS = {
    "verified": "Confirmed by the organisation, a regulator or a court.",
    "disputed": "Disputed: the organisation or a source disputes the breach or its extent.",
    "sensitive": "Sensitive data was exposed (health, biometric, identity numbers or the like).",
}


def number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,}"


def figure(low: float, high: float, unit: str) -> str:
    """A range as '1,000–1,272 people'; one number when both ends are the same."""
    shown = number(low) if low == high else f"{number(low)}–{number(high)}"
    return f"{shown} {unit}"


def happened(start: str | None, end: str | None) -> str:
    """When it happened, in words, with each date's own precision."""
    if start and end and end != start:
        return f"From {partial_date(start)} to {partial_date(end)}"
    if start:
        return partial_date(start)
    if end:
        return f"Until {partial_date(end)}"
    return ""


async def rows(db, sql, params):
    return [dict(r) for r in (await db.execute(sql, params)).rows]


async def breach_page(datasette, request, breach_id: int) -> dict | None:
    db = datasette.get_database(DATABASE)
    params = {"id": breach_id}
    found = await rows(db, BREACH, params)
    if not found:
        return None
    b = found[0]
    b["happened"] = happened(b["start_date"], b["end_date"])
    b["discovered"] = partial_date(b["discovered_date"])
    b["notified"] = partial_date(b["notified_date"])
    b["added"] = (b["published_at"] or "")[:10]
    b["affected"] = (
        figure(b["affected_low"], b["affected_high"], b["affected_unit"]) if b["affected_low"] is not None else ""
    )
    b["flags"] = [words for flag, words in FLAGS.items() if b[flag]]
    vocabulary: dict[str, list[dict]] = {"types": [], "kinds": [], "media": []}
    for v in await rows(db, VOCABULARY, params):
        vocabulary[v.pop("list")].append(v)
    if not any(vocabulary.values()):  # the labels as the table holds them, if the links are missing
        for key, column in (("types", "breach_types"), ("kinds", "data_kinds"), ("media", "media")):
            vocabulary[key] = [{"label": label, "description": ""} for label in json.loads(b[column] or "[]")]
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
    disclosures = await rows(db, DISCLOSURES, params)
    for d in disclosures:
        d["date"] = partial_date(d["disclosed_date"])
    permalink = datasette.absolute_url(request, datasette.urls.row(DATABASE, "breaches", breach_id))
    today = datetime.now(UTC).date().isoformat()
    citation = f'Exposure registry, "{b["title"]}", breach {breach_id}, added {b["added"]}, {permalink}'
    return {
        "b": b,
        **vocabulary,
        "citations": citations,
        "responses": responses,
        "observations": observations,
        "disclosures": disclosures,
        "permalink": permalink,
        "citation": f"{citation}, accessed {today}",
    }


@hookimpl
def extra_template_vars(view_name, database, table, request, datasette):
    if view_name != "row" or database != DATABASE or table != "breaches" or request is None:
        return {}

    async def page():
        key = (request.url_vars or {}).get("pks", "")
        if not key.isdigit() or len(key) > 18:
            return {}
        return {"breach_page": await breach_page(datasette, request, int(key))}

    return page
