"""What a submission would publish, for the review page: names and labels instead of
slugs and codes, the changes in words, possible duplicate organisations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlite_utils

from registry.rules.government import GOVERNED_KINDS
from registry.rules.names import near_matches
from registry.rules.persons import unstated_person
from registry.store import imports, lookups
from registry.store import submissions as submission_store
from registry.store import vocabulary as vocabulary_store


def unstated_import_persons(db: sqlite_utils.Database, submission_id: int) -> list[tuple[int, str]]:
    """(id, name) of the organisations an import made whose name looks like a person's, with no
    statement: every name judged again, with those the import flagged by another of their names
    (an alias the mapping gave). Approval's guarantee: it reads every organisation, once."""
    judged = {i: name for i, name, why in imports.organisation_names(db, submission_id) if unstated_person(name, why)}
    judged.update(imports.unstated_organisations(db, _flagged_ids(db, submission_id)))
    return sorted(judged.items())


def flagged_import_persons(db: sqlite_utils.Database, submission: dict[str, Any]) -> list[tuple[int, str]]:
    """(id, name) of the organisations the import flagged when it ran (kept in its payload), less
    those a reviewer has stated since: the review page reads these rows instead of judging every
    name again on each view (1.2 s at 200,000 organisations, against 0.05 ms: docs/performance.md).
    An import recorded before the flags were kept is judged in full."""
    kept = submission["payload"]["import"].get("person_ids")
    if kept is None:
        return unstated_import_persons(db, submission["id"])
    return imports.unstated_organisations(db, kept)


def _flagged_ids(db: sqlite_utils.Database, submission_id: int) -> list[int]:
    found = submission_store.submission(db, submission_id)
    return list((found or {}).get("payload", {}).get("import", {}).get("person_ids") or [])


def describe_import(db: sqlite_utils.Database, submission: dict[str, Any]) -> dict[str, Any]:
    """An import's summary, its first rows as they would be published (relationships, breaches),
    and near matches for the organisations it would create (proposed, never merged silently)."""
    spellings = lookups.organisation_spellings(db)
    new = imports.new_organisations(db, submission["id"])
    mine = {o["id"] for o in new}
    duplicates = {o["name"]: near_matches(o["name"], spellings, exclude=mine) for o in new}
    return {
        "import": submission["payload"]["import"],
        "rows": imports.import_preview(db, submission["id"]),
        "import_breaches": imports.breach_preview(db, submission["id"]),
        "duplicates": {name: found for name, found in duplicates.items() if found},
        "changes": [submission["payload"]["import"].get("summary", "")],
        "relationships": [],
        "persons": [name for _, name in flagged_import_persons(db, submission)],
    }


def describe(db: sqlite_utils.Database, payload: dict[str, Any]) -> dict[str, Any]:
    """What a payload would publish, with labels, the changes, and possible duplicates."""
    sectors, countries = lookups.labels(db, "sectors"), lookups.labels(db, "countries")
    arrangements, kinds = lookups.labels(db, "arrangements"), lookups.labels(db, "organisation_kinds")
    levels = lookups.labels(db, "government_levels")
    new_orgs = {o["slug"]: o for o in payload.get("organisations", [])}
    new_sources = {s["slug"]: s for s in payload.get("sources", [])}
    vocabulary = vocabulary_store.load_vocabulary(db)

    def org(slug: str) -> dict[str, Any]:
        if slug in new_orgs:
            o = new_orgs[slug]
            code = vocabulary.country(o.get("country") or "") if o.get("country") else None
            country = countries.get(code) if code else None
            return {"name": o["name"], "new": True, "sector": sectors.get(o["sector"]), "country": country}
        o = lookups.by_slug(db, "organisations", slug) or {}
        return {
            "name": o.get("name"),
            "new": False,
            "sector": sectors.get(o.get("sector", "")),
            "country": countries.get(o.get("country", "")),
        }

    def source_title(slug: str) -> str:
        return (new_sources.get(slug) or lookups.by_slug(db, "sources", slug) or {}).get("title", slug)

    spellings = lookups.organisation_spellings(db) if new_orgs else []
    changes = [
        f"New organisation: {o['name']} ({kinds.get(o['kind'])}, {sectors.get(o['sector'])})" for o in new_orgs.values()
    ]
    changes += [f"New source: {s['title']}" for s in new_sources.values()]
    changes += [f"New disclosure: {d['title']}" for d in payload.get("disclosures", [])]
    relationships = []
    for r in payload.get("relationships", []):
        vendor, client = org(r["vendor"]), org(r["client"])
        disclosure = lookups.by_slug(db, "disclosures", r["disclosure"]) if r.get("disclosure") else None
        citations = [{**c, "source_title": source_title(c["source"])} for c in r["citations"]]
        relationships.append(
            {**r, "vendor": vendor, "client": client, "arrangement_label": arrangements.get(r["arrangement"]),
             "disclosure_title": disclosure["title"] if disclosure else None, "citations": citations}
        )  # fmt: skip
        changes.append(f"New relationship: {vendor['name']} → {client['name']} ({arrangements.get(r['arrangement'])})")
    breaches = [_describe_breach(db, b, org, source_title) for b in payload.get("breaches", [])]
    changes += [f"New breach: {b['title']} ({b['organisation']['name']})" for b in breaches]
    responses = [_describe_response(db, r, source_title) for r in payload.get("responses", [])]
    changes += [f"New response ({r['kind_label']}) on {r['about']}" for r in responses]
    figures = [_describe_figure(db, o, source_title) for o in payload.get("observations", [])]
    changes += [f"New figure on {f['about']}: {f['metric']}, {f['range']}" for f in figures]
    for c in payload.get("corrections", []):
        if c.get("breach_id"):
            breach = lookups.breach(db, c["breach_id"])
            about = f"breach {c['breach_id']} ({breach['title'] if breach else 'no longer in the registry'})"
        else:
            rel = lookups.relationship(db, c["relationship_id"])
            names = f"{rel['vendor']} → {rel['client']}" if rel else "no longer in the registry"
            about = f"relationship {c['relationship_id']} ({names})"
        changes.append(
            f"Nothing is published: an error report on {about}. "
            "Correct the record through an edit, a merge or a withdrawal, then approve to mark it handled."
        )
    duplicates = {o["name"]: near_matches(o["name"], spellings) for o in new_orgs.values()}
    organisations = [
        {
            **o,
            "kind": kinds.get(o["kind"]),
            "sector": sectors.get(o["sector"]),
            "country": countries.get(o.get("country")),
            "governed": o["kind"] in GOVERNED_KINDS,
            "government_level": levels.get(o.get("government_level") or ""),
        }
        for o in new_orgs.values()
    ]
    persons = [o["name"] for o in new_orgs.values() if unstated_person(o["name"], o.get("person_name_reason"))]
    return {"relationships": relationships, "changes": changes, "duplicates": duplicates, "payload": payload,
            "organisations": organisations, "persons": persons, "sources": list(new_sources.values()),
            "disclosures": payload.get("disclosures", []), "corrections": payload.get("corrections", []),
            "breaches": breaches, "responses": responses, "figures": figures}  # fmt: skip


Titles = Callable[[str], str]  # a source's slug -> its title


def _describe_breach(
    db: sqlite_utils.Database,
    b: dict[str, Any],
    org: Callable[[str], dict[str, Any]],
    source_title: Titles,
) -> dict[str, Any]:
    """A breach as the review page shows it: names and labels instead of slugs and codes."""
    labels = {name: lookups.labels(db, table) for name, table in BREACH_VOCABULARIES.items()}
    titles = [(lookups.by_slug(db, "disclosures", d) or {}).get("title", d) for d in b.get("disclosures", [])]
    return {
        **b,
        "organisation": org(b["organisation"]),
        "vendor": org(b["vendor"]) if b.get("vendor") else None,
        **{name: [labels[name].get(code, code) for code in b.get(name, [])] for name in BREACH_VOCABULARIES},
        "disclosure_titles": titles,
        "citations": [{**c, "source_title": source_title(c["source"])} for c in b["citations"]],
    }


BREACH_VOCABULARIES = {"breach_types": "breach_types", "data_kinds": "data_kinds", "media": "breach_media"}


def _subject_text(db: sqlite_utils.Database, item: dict[str, Any]) -> str:
    """What a response or a figure is about, in words."""
    if item.get("relationship_id"):
        rel = lookups.relationship(db, item["relationship_id"])
        names = f"{rel['vendor']} → {rel['client']}" if rel else "no longer in the registry"
        return f"relationship {item['relationship_id']}: {names}"
    if item.get("disclosure_id"):
        found = lookups.disclosure(db, item["disclosure_id"])
        return f"disclosure {item['disclosure_id']}: {found['title'] if found else 'no longer published'}"
    if item.get("breach_id"):
        found = lookups.breach(db, item["breach_id"])
        what = f"{found['title']} ({found['organisation']})" if found else "no longer published"
        return f"breach {item['breach_id']}: {what}"
    found = lookups.organisation(db, item["organisation_id"])
    return f"organisation {item['organisation_id']}: {found['name'] if found else 'no longer published'}"


def _describe_response(db: sqlite_utils.Database, r: dict[str, Any], source_title: Titles) -> dict[str, Any]:
    organisation = lookups.by_slug(db, "organisations", r["organisation"]) or {}
    return {
        **r,
        "about": _subject_text(db, r),
        "organisation_name": organisation.get("name", r["organisation"]),
        "kind_label": lookups.labels(db, "response_kinds").get(r["kind"], r["kind"]),
        "source_title": source_title(r["source"]),
    }


def _describe_figure(db: sqlite_utils.Database, o: dict[str, Any], source_title: Titles) -> dict[str, Any]:
    low, high = _number(o["low"]), _number(o["high"])
    shown = f"{low} {o['unit']}" if low == high else f"{low} to {high} {o['unit']}"
    return {**o, "about": _subject_text(db, o), "range": shown, "source_title": source_title(o["source"])}


def _number(value: float) -> str:
    """14200000.0 as "14,200,000"; 2.5 as "2.5"."""
    return f"{int(value):,}" if value == int(value) else f"{value:,}"
