"""Answer the two slow queries of a search page with equivalent fast ones.

A search for a common word (`?_search=police`) matches a fifth of a million relationships.
For such a page Datasette 0.65 runs, with `fts_pk in (select rowid from fts where fts
match ...)` as the only filter:

- the count, which looks every match up in the table (about 120 ms at 200,000 matches):
  the search index counts its own matches in a few ms, and has one entry per row (an
  external-content index kept by triggers), so the number is the same;
- the first page in the table's sort order, which reads and sorts every match (about
  140 ms): when the matches are many, reading the sort column's index in order and
  keeping the rows that match finds a page after a few thousand entries. `+pk` tells
  SQLite not to drive the query from the list of matches. Few matches keep the sort,
  which is then cheap, and which reading the index would not be.

Any other query (more filters, a later page, another database) goes to Datasette as it
came. One hook: `startup`, which wraps the `execute` of each database whose metadata
names a table's `fts_table` and `fts_pk`. The facets of a search are counted_facets.py's."""

from __future__ import annotations

import re

from datasette.utils import escape_sqlite

from datasette import hookimpl

# Read at most this many index entries, expected, to fill a page from the sort column's index.
SCAN_BUDGET = 20_000


class SearchQueries:
    """The rewrites for one table with a search index."""

    def __init__(self, table: str, fts_table: str, fts_pk: str, indexed: set[str]) -> None:
        self.table, self.fts_table, self.indexed = table, escape_sqlite(fts_table), indexed
        fts = escape_sqlite(fts_table)
        self.match = f"select rowid from {fts} where {fts} match escape_fts(:search)"
        clause = f"{escape_sqlite(fts_pk)} in ({self.match})"
        self.count_sql = f"select count(*) from {escape_sqlite(table)} where {clause} "
        self.fts_count_sql = f"select count(*) from {fts} where {fts} match escape_fts(:search)"
        self.page = re.compile(
            rf"select (?P<columns>.+?) from {re.escape(escape_sqlite(table))} where {re.escape(clause)} "
            rf"order by (?P<sort>\w+)(?P<desc> desc)? limit (?P<limit>\d+)",
            re.S,
        )
        self.clause = clause

    async def answer(self, execute, sql: str, params, kwargs: dict):
        """Datasette's answer to `sql`, from an equivalent query when there is a faster one; None if not ours."""
        if not (isinstance(params, dict) and set(params) == {"search"}):
            return None
        if sql == self.count_sql:
            return await execute(self.fts_count_sql, params, **kwargs)
        page = self.page.fullmatch(sql)
        if page and page["sort"] in self.indexed:
            matches = (await execute(self.fts_count_sql, params)).single_value()
            rows = (await execute(f"select max(rowid) from {escape_sqlite(self.table)}")).single_value() or 0
            if matches and int(page["limit"]) * rows <= matches * SCAN_BUDGET:
                return await execute(
                    sql.replace(f" where {self.clause} ", f" where +{self.clause} ", 1), params, **kwargs
                )
        return None


async def searchable_tables(datasette, name: str, db) -> list[SearchQueries]:
    found = []
    for table, meta in (datasette.metadata("tables", database=name) or {}).items():
        fts_table, fts_pk = meta.get("fts_table"), meta.get("fts_pk")
        if not (fts_table and fts_pk) or not await db.table_exists(table) or not await db.table_exists(fts_table):
            continue
        created = (await db.execute("select sql from sqlite_master where name = ?", [fts_table])).first()[0] or ""
        # Counting the index's matches counts the table's rows only if the index holds exactly the table's rows.
        if not re.search(rf"""content\s*=\s*["'\[]?{re.escape(table)}["'\]]?\s*[,)]""", created, re.I):
            continue
        indexes = await db.execute("select name from pragma_index_list(?) where partial = 0", [table])
        leading: set[str] = set()
        for (index,) in indexes.rows:
            first = await db.execute("select name from pragma_index_info(?) where seqno = 0", [index])
            leading.update(r[0] for r in first.rows if r[0])
        found.append(SearchQueries(table, fts_table, fts_pk, leading))
    return found


@hookimpl
def startup(datasette):
    async def wrap_databases():
        for name, db in datasette.databases.items():
            if db.is_memory or not db.path:
                continue
            tables = await searchable_tables(datasette, name, db)
            if tables:
                db.execute = rewriting(db.execute, tables)

    return wrap_databases


def rewriting(execute, tables: list[SearchQueries]):
    async def execute_searches(sql, params=None, **kwargs):
        for table in tables:
            answered = await table.answer(execute, sql, params, kwargs)
            if answered is not None:
                return answered
        return await execute(sql, params, **kwargs)

    return execute_searches
