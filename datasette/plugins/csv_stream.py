"""Stream a whole table as CSV with one query.

Datasette 0.65 answers `table.csv?_stream=on` by running its table view again for every
1,000 rows, and csv_formula_guard.py then re-read every character of the CSV in Python:
3.3 s for 50,000 rows of a 200,000-row table. This plugin answers the same URL (column
filters such as `vendor=...` or `id__lte=...`, `_search`, `_sort` and `_sort_desc`; the
table's default sort otherwise, then its primary key) with one SELECT read in chunks from
a read-only connection of its own, so the download is one consistent snapshot even when
a publish happens during it. The CSV has the table's columns in order, as Datasette
writes them, and a cell a spreadsheet would run as a formula is written with a leading '
by the SELECT itself, as csv_formula_guard.py does for Datasette's own CSV. Requests it
does not cover (`_where`, `_labels`, `_col`, `_next`, a view, another database...) go to
Datasette as before.

For a STRICT table of integer and text columns (relationships), SQLite makes each line
itself (printf() of the guarded cells, quoted as the csv module quotes them) from the
rows' keys sorted first, so neither SQLite sorts whole rows nor Python writes cell by
cell: 50,000 rows of a 1,000,000-row table in about 450-530 ms p95 instead of 700-850 ms
on the shared 2-core machine (benchmarks/pages.py; load 3). What is left is SQLite
reading the rows and evaluating the guard and quoting per cell (about 180 ms for the
quoting alone): the 300 ms target is not met there. Other tables: one SELECT, csv.writer.

One hook: an ASGI wrapper."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import sqlite3
from urllib.parse import parse_qsl, unquote

from datasette.filters import Filters
from datasette.utils import escape_fts, escape_sqlite, value_as_boolean

from datasette import hookimpl

PATH = re.compile(r"^/([^/]+)/([^/]+)\.csv$")
CHUNK = 2000
HANDLED_ARGS = {"_stream", "_size", "_dl", "_search", "_searchmode", "_sort", "_sort_desc", "_nofacet", "_nocount"}
# As csv_formula_guard.py: = + - @ tab and carriage return start a formula in a spreadsheet.
GUARDED_TEXT = (
    "case when substr({column}, 1, 1) in ('=', '+', '-', '@', char(9), char(13)) "
    "then '''' || {column} else {column} end"
)
GUARDED_NUMBER = "case when {column} < 0 then '''' || {column} else {column} end"
# A text cell as Python's csv module writes it (quoted when it holds , " or a line break), guard included.
QUOTED_TEXT = (
    "case when instr({column}, ',') or instr({column}, '\"') or instr({column}, char(10)) "
    "or instr({column}, char(13)) then '\"' || replace({guarded}, '\"', '\"\"') || '\"' else {guarded} end"
)
MAX_LINE_ARGS = 120  # SQLite's printf() takes at most 127 arguments (SQLITE_MAX_FUNCTION_ARG)
GUARDED = (b"x-csv-formulas", b"neutralised")  # tells csv_formula_guard.py this body needs no second pass


async def plan(datasette, database: str, table: str, args: list[tuple[str, str]]):
    """The SQL and parameters of a stream this plugin answers, or None to leave it to Datasette."""
    if not datasette.setting("allow_csv_stream") or not value_as_boolean(dict(args).get("_stream") or "0"):
        return None
    if any(k.startswith("_") and k not in HANDLED_ARGS for k, _ in args):
        return None
    if database not in datasette.databases:
        return None
    db = datasette.get_database(database)
    if table not in await db.table_names() or not db.path:
        return None
    columns = await db.table_columns(table)
    pks = await db.primary_keys(table)
    if len(pks) != 1:
        return None
    filters = Filters(sorted((k, v) for k, v in args if not k.startswith("_")))
    where, params = filters.build_where_clauses(table)
    metadata = datasette.table_metadata(database, table) or {}
    search = dict(args).get("_search")
    if search:
        fts = metadata.get("fts_table") or await db.fts_table(table)
        if not fts:
            return None
        query = search if dict(args).get("_searchmode") == "raw" else escape_fts(search)
        where.append(f"{escape_sqlite(pks[0])} in (select rowid from {escape_sqlite(fts)} where {escape_sqlite(fts)} "
                     "match :search)")  # fmt: skip
        params["search"] = query
    sort, sort_desc = dict(args).get("_sort"), dict(args).get("_sort_desc")
    if not sort and not sort_desc:
        sort, sort_desc = metadata.get("sort"), metadata.get("sort_desc")
    order = escape_sqlite(pks[0])
    if sort or sort_desc:
        if (sort or sort_desc) not in columns:
            return None
        order = f"{escape_sqlite(sort or sort_desc)}{' desc' if sort_desc else ''}, {order}"
    # The formula guard in SQL, cell by cell (numbers can only start with "-").
    types = {r[1]: r[2].upper() for r in (await db.execute(f"pragma table_info({escape_sqlite(table)})")).rows}
    select = ", ".join(
        (GUARDED_NUMBER if types.get(c) in ("INTEGER", "REAL") else GUARDED_TEXT).format(column=escape_sqlite(c))
        for c in columns
    )
    sql = f"select {select} from {escape_sqlite(table)}"
    sql += f" where {' and '.join(where)}" if where else ""
    lines = None
    strict = (await db.execute("select strict from pragma_table_list where name = ?", [table])).rows
    if (
        strict
        and strict[0][0]
        and types.get(pks[0]) == "INTEGER"
        and 1 < len(columns) <= MAX_LINE_ARGS
        and all(types.get(c) in ("INTEGER", "TEXT") for c in columns)
    ):
        # A STRICT table of integers and text: each CSV line made by SQLite (see csv_lines).
        cells = ", ".join(
            GUARDED_NUMBER.format(column=escape_sqlite(c))
            if types[c] == "INTEGER"
            else QUOTED_TEXT.format(column=escape_sqlite(c), guarded=GUARDED_TEXT.format(column=escape_sqlite(c)))
            for c in columns
        )
        pk, name = escape_sqlite(pks[0]), escape_sqlite(table)
        keys = f"select {pk} from {name}" + (f" where {' and '.join(where)}" if where else "") + f" order by {order}"
        line = f"select {pk}, printf('{','.join(['%s'] * len(columns))}', {cells}) from {name} "
        lines = (keys, line + f"where {pk} in (select value from json_each(:keys))")
    return columns, f"{sql} order by {order}", params, db.path, lines


def csv_lines(path: str, keys_sql: str, line_sql: str, params: dict, columns: list[str]):
    """As csv_chunks, for a STRICT table of integers and text, with each line made by SQLite.

    The keys of the rows in order first (no sort of whole rows), then each chunk's lines by
    key, in one read transaction (one snapshot). A line is printf() of the cells: NULL as
    nothing, integers as Python writes them, text guarded and quoted as csv.writer does
    (only when it holds a comma, a quote, a CR or an LF, with quotes doubled). Python only
    joins the lines."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None)
    conn.execute("BEGIN")
    keys = [k for (k,) in conn.execute(keys_sql, params)]
    buffer = io.StringIO()
    csv.writer(buffer).writerow(columns)
    header = [buffer.getvalue()]
    position = 0

    def next_chunk() -> str:
        nonlocal position
        if header:
            return header.pop()
        if position >= len(keys):
            if position == len(keys):
                position += 1
                conn.execute("COMMIT")
                conn.close()
            return ""
        chunk = keys[position : position + CHUNK]
        position += CHUNK
        lines = dict(conn.execute(line_sql, {"keys": json.dumps(chunk)}))
        return "\r\n".join([lines[k] for k in chunk]) + "\r\n"

    return next_chunk


def csv_chunks(path: str, sql: str, params: dict, columns: list[str]):
    """A function that returns the next chunk of the CSV text ("" at the end), read from its own connection."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    cursor = conn.execute(sql, params)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)

    def next_chunk() -> str:
        if buffer.closed:
            return ""
        rows = cursor.fetchmany(CHUNK)
        if not rows:
            conn.close()
            text = buffer.getvalue()  # the header alone when no row matched
            buffer.close()
            return text
        writer.writerows(rows)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    return next_chunk


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def stream(scope, receive, send):
            match = PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
            found = None
            if match and scope.get("method", "GET") == "GET":
                args = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
                try:
                    found = await plan(datasette, unquote(match.group(1)), unquote(match.group(2)), args)
                except (sqlite3.Error, ValueError):
                    found = None  # Datasette reports the error its own way
            if not found:
                await app(scope, receive, send)
                return
            columns, sql, params, path, lines = found
            try:
                if lines:
                    next_chunk = await asyncio.to_thread(csv_lines, path, *lines, params, columns)
                else:
                    next_chunk = await asyncio.to_thread(csv_chunks, path, sql, params, columns)
            except sqlite3.Error:
                await app(scope, receive, send)
                return
            headers = [(b"content-type", b"text/plain; charset=utf-8"), GUARDED]
            if dict(args).get("_dl"):
                disposition = f'attachment; filename="{match.group(2)}.csv"'.encode()
                headers = [
                    (b"content-type", b"text/csv; charset=utf-8"),
                    GUARDED,
                    (b"content-disposition", disposition),
                ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            text = await asyncio.to_thread(next_chunk)
            while text:
                coming = asyncio.ensure_future(asyncio.to_thread(next_chunk))  # read and write while this is sent
                await send({"type": "http.response.body", "body": text.encode("utf-8"), "more_body": True})
                text = await coming
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        return stream

    return wrap
