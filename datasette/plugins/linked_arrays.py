"""A filter by one value of an array column, answered from its link table's index.

A breach's types, kinds of data and media are published twice: as JSON arrays of labels
in the breaches table (what readers see and download) and as link tables of codes
(`breaches_breach_types(breach_id, breach_type)`, indexed by code). Datasette 0.65's
`column__arraycontains=value` filter is `:value IN (SELECT value FROM json_each(column))`,
evaluated on every row: at a million breaches the page a reader reaches by clicking a type
took 3.7 s, most of it counting. For the array columns a table's metadata links to their
link table (`plugins: linked-arrays:`), the filter reads the link table instead:

- the rows, newest first: for a common value, `EXISTS (a link row for this breach and
  this label's code)` while walking the table's order, which finds a page of rows after a
  few hundred; for a rare one, `id IN (the link table's rows for the code)`, read from its
  index and sorted. Which one: the value's number of link rows, counted on the index for
  each request (tens of ms at a million), against the table's size (COMMON);
- the count Datasette then asks for (`select count(*) from breaches where <that clause>`):
  the link table's rows for the code, the same number (a breach holds a code once, and
  every link row's breach is in the table: the publisher writes both from the same rows).

The same rows (the arrays are made from the link tables by the publisher; tests check it
for every value), the same URL, the same facet selections and "contains" description.
`arraynotcontains` likewise, negated. Other tables and columns keep Datasette's filter.

Datasette's filters are a class attribute of `datasette.filters.Filters`, with no plugin
hook to replace one (`filters_from_request` can only add clauses), so startup puts a
subclass in place of the two array filters, and the count is replaced where Datasette runs
it (`Database.execute`), for exactly the statements these filters wrote. A filter is told
the table, not the database: the links are looked up by table name, which is unique in the
one database we serve.

Two hooks: startup, and an ASGI wrapper that counts the request's values first."""

from __future__ import annotations

import asyncio
import sqlite3
from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qsl, unquote

from datasette.database import Database
from datasette.filters import Filters, TemplatedFilter
from datasette.utils import escape_sqlite

from datasette import hookimpl

# table -> array column -> its link: {"links", "key", "code", "labels", "unindexed" (a column no index
# holds, see where_clause), and "id" (default "id")}
LINKS: dict[str, dict[str, dict[str, str]]] = {}
# (table, column, label) -> link rows, and (table,) -> the table's size, for this request
COUNTED: ContextVar[dict[tuple, int] | None] = ContextVar("linked_array_counts", default=None)
# Datasette's count statement for a clause these filters wrote -> the statement that counts the link table
COUNTS: dict[str, str] = {}
DATABASE = "registry"
MAX_COUNTED = 8  # values counted for one request
WALK_FACTOR = 35  # see common()


def common(rows: int, table_rows: int) -> bool:
    """Whether a value is common enough that walking the table in its order finds a page sooner than
    reading and sorting the value's rows: the first costs about table_rows / rows * 100 probes, the
    second about `rows` lookups and a sort (each about three times a probe); equal near rows² = 35 ×
    table_rows (0.6% of a million rows, 6,000 of them: about 12 ms either way)."""
    return rows * rows > WALK_FACTOR * table_rows


def link_ids(link: dict[str, str], param: str) -> str:
    """The ids of the rows whose array holds the label :param, from the link table's index."""
    return (
        f"SELECT {escape_sqlite(link['key'])} FROM {escape_sqlite(link['links'])} "
        f"WHERE {escape_sqlite(link['code'])} IN "
        f"(SELECT code FROM {escape_sqlite(link['labels'])} WHERE label = :{param})"
    )


class LinkedArrayFilter(TemplatedFilter):
    """Datasette's `arraycontains` (or `arraynotcontains`) filter, through the link table where there is one."""

    def __init__(self, original: TemplatedFilter, negated: bool) -> None:
        super().__init__(original.key, original.display, original.sql_template, original.human_template)
        self.negated = negated

    def where_clause(self, table: str, column: str, value: Any, param_counter: int) -> tuple[str, Any]:
        link = LINKS.get(table, {}).get(column)
        if link is None:
            return super().where_clause(table, column, value, param_counter)
        param, own_id = f"p{param_counter}", f"{escape_sqlite(table)}.{escape_sqlite(link.get('id', 'id'))}"
        ids = link_ids(link, param)
        counted = COUNTED.get() or {}
        rows, table_rows = counted.get((table, column, value)), counted.get((table,))
        kept = None if rows is None or table_rows is None else (table_rows - rows if self.negated else rows)
        # Always true, but it reads a column no index holds, so that SQLite reads the rows in the table's
        # order, its sort column's index or the value's ids, never in another index's that merely covers
        # the clause: in that order, rows sharing a published_at (a whole import) came out of Datasette's
        # sort in another order than its next page's cursor (published_at, then id) assumes, and pages
        # repeated and skipped rows.
        walk = f"coalesce(length({escape_sqlite(table)}.{escape_sqlite(link['unindexed'])}), 0) >= 0"
        if kept is not None and table_rows is not None and not common(kept, table_rows):
            clause = f"{walk} AND {own_id} {'NOT IN' if self.negated else 'IN'} ({ids})"
        else:  # common, or not counted: at worst one walk of the table's order
            exists = (
                f"EXISTS (SELECT 1 FROM {escape_sqlite(link['links'])} AS linked "
                f"WHERE linked.{escape_sqlite(link['key'])} = {own_id} AND linked.{escape_sqlite(link['code'])} IN "
                f"(SELECT code FROM {escape_sqlite(link['labels'])} WHERE label = :{param}))"
            )
            clause = f"{walk} AND {'NOT ' if self.negated else ''}{exists}"
        if param_counter == 0:  # the clause alone (a page with other filters counts as Datasette does)
            counted_rows = f"(SELECT count(*) FROM ({ids}))"
            total = f"(SELECT count(*) FROM {escape_sqlite(table)})"
            COUNTS[f"select count(*) from {escape_sqlite(table)} where {clause} "] = (
                f"select {total} - {counted_rows}" if self.negated else f"select {counted_rows}"
            )
        return clause, value


def install() -> None:
    """Put the linked filters in place of Datasette's array filters, and the counts in Datasette's execute (once)."""
    negated = {"arraycontains": False, "arraynotcontains": True}
    filters = []
    for f in Filters._filters:
        if isinstance(f, TemplatedFilter) and f.key in negated and not isinstance(f, LinkedArrayFilter):
            f = LinkedArrayFilter(f, negated[str(f.key)])
        filters.append(f)
    Filters._filters = filters
    Filters._filters_by_key = {f.key: f for f in filters}
    if getattr(Database.execute, "linked_counts", False):
        return
    execute = Database.execute

    async def counting(self, sql, params=None, *args, **kwargs):
        return await execute(self, COUNTS.get(sql, sql), params, *args, **kwargs)

    counting.linked_counts = True  # type: ignore[attr-defined]
    Database.execute = counting  # type: ignore[method-assign]


def asked(query_string: str, table: str) -> list[tuple[str, str]]:
    """(column, label) of the request's first linked array filters (the rest walk the table)."""
    found = []
    for key, value in parse_qsl(query_string, keep_blank_values=True):
        column, _, lookup = key.rpartition("__")
        if lookup in ("arraycontains", "arraynotcontains") and column in LINKS.get(table, {}):
            found.append((column, value))
    return list(dict.fromkeys(found))[:MAX_COUNTED]


def count_links(path: str, table: str, values: list[tuple[str, str]]) -> dict[tuple, int]:
    """The link rows of each (column, label) and the table's size (its largest id: no count of a million rows)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        counted: dict[tuple, int] = {}
        for column, label in values:
            link = LINKS[table][column]
            sql = f"SELECT count(*) FROM ({link_ids(link, 'p')})"
            counted[(table, column, label)] = conn.execute(sql, {"p": label}).fetchone()[0]
        first = next(iter(LINKS[table].values()))
        own_id = escape_sqlite(first.get("id", "id"))
        counted[(table,)] = conn.execute(f"SELECT coalesce(max({own_id}), 0) FROM {escape_sqlite(table)}").fetchone()[0]
        return counted
    finally:
        conn.close()


@hookimpl
def startup(datasette):
    """Read each table's links from the metadata, and install the filters."""
    for database in datasette.databases:
        for table, meta in (datasette.metadata("tables", database=database) or {}).items():
            links = (meta.get("plugins") or {}).get("linked-arrays")
            if links:
                LINKS[table] = links
    install()


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def counted(scope, receive, send):
            path = scope.get("path", "") if scope["type"] == "http" else ""
            prefix = f"/{DATABASE}/"
            table = unquote(path.removeprefix(prefix).rsplit(".", 1)[0]) if path.startswith(prefix) else ""
            values = asked(scope.get("query_string", b"").decode("utf-8", "replace"), table) if table in LINKS else []
            db = datasette.databases.get(DATABASE)
            if not values or db is None or not db.path:
                await app(scope, receive, send)
                return
            try:
                found = await asyncio.to_thread(count_links, db.path, table, values)
            except sqlite3.Error:
                found = None  # the filter then walks the table: slower, never wrong
            token = COUNTED.set(found)
            try:
                await app(scope, receive, send)
            finally:
                COUNTED.reset(token)

        return counted

    return wrap
