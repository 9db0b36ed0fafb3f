"""An Atom feed of any query returning atom_id, atom_title and atom_updated (and, if it
likes, atom_content, and atom_link: the path of the entry's page, given as an absolute
URL): `/registry/new_relationships.atom?vendor=...&country=...&organisation=...&disclosure=...`.
The feeds of new_relationships and new_breaches are titled after their filters
(registry.store.feeds: "New relationships: Clearview AI clients in Belgium — Exposure registry").

One hook, register_output_renderer. Written here rather than taken from datasette-atom
0.9, which answers a feed with no entries (a vendor with no new relationship) with a
500; this one uses only the standard library and escapes every value."""

from __future__ import annotations

import datetime as dt
from xml.etree import ElementTree

from datasette.utils.asgi import Response

from datasette import hookimpl
from registry.store.feeds import breach_feed_title, feed_title

REQUIRED = {"atom_id", "atom_title", "atom_updated"}
ATOM = "http://www.w3.org/2005/Atom"


def can_render(columns):
    return REQUIRED.issubset(columns)


async def title_of(datasette, request, database: str, query_name: str | None) -> str:
    titled = {"new_relationships": feed_title, "new_breaches": breach_feed_title}.get(query_name or "")
    if titled is not None:
        args = {k: request.args.get(k) or "" for k in request.args}
        return await datasette.get_database(database).execute_fn(lambda conn: titled(conn, args))
    title = (datasette.metadata("queries", database=database) or {}).get(query_name, {}).get("title") or query_name
    return f"{title} — Exposure registry" if title else "Exposure registry"


async def render(datasette, request, columns, rows, query_name, database, data):
    if not REQUIRED.issubset(columns):
        return Response.text("This query does not return atom_id, atom_title and atom_updated", status=400)
    ElementTree.register_namespace("", ATOM)
    feed = ElementTree.Element(f"{{{ATOM}}}feed")
    entries = [dict(zip(columns, row, strict=True)) for row in rows]
    updated = max(
        (str(e["atom_updated"]) for e in entries), default=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    title = await title_of(datasette, request, database, query_name)
    for tag, text in (("id", request.url), ("title", title), ("updated", updated)):
        ElementTree.SubElement(feed, f"{{{ATOM}}}{tag}").text = text
    ElementTree.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=request.url)
    author = ElementTree.SubElement(feed, f"{{{ATOM}}}author")
    ElementTree.SubElement(author, f"{{{ATOM}}}name").text = "Exposure registry"
    ElementTree.SubElement(feed, f"{{{ATOM}}}rights").text = "CC BY 4.0"
    for e in entries:
        entry = ElementTree.SubElement(feed, f"{{{ATOM}}}entry")
        for tag in ("id", "title", "updated"):
            ElementTree.SubElement(entry, f"{{{ATOM}}}{tag}").text = str(e[f"atom_{tag}"])
        if e.get("atom_link"):
            href = datasette.absolute_url(request, datasette.urls.path(str(e["atom_link"])))
            ElementTree.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=href)
        if e.get("atom_content"):
            ElementTree.SubElement(entry, f"{{{ATOM}}}content", type="text").text = str(e["atom_content"])
    body = ElementTree.tostring(feed, encoding="unicode", xml_declaration=True)
    return Response(body, content_type="application/atom+xml; charset=utf-8")


@hookimpl
def register_output_renderer(datasette):
    return {"extension": "atom", "render": render, "can_render": can_render}
