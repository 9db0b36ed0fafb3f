"""Stream a whole table as CSV with one query.

Datasette 0.65 answers `table.csv?_stream=on` by running its table view again for every
1,000 rows, and csv_formula_guard.py then re-read every character of the CSV in Python:
3.3 s for 50,000 rows of a 200,000-row table. This plugin answers the same URL (column
filters such as `vendor=...` or `id__lte=...`, `_search`, `_sort` and `_sort_desc`; the
table's default sort otherwise, then its primary key) with one SELECT read in chunks from
a read-only connection of its own, so the download is one consistent snapshot even when
a publish happens during it. The CSV has the table's columns in order, as Datasette
writes them, and a cell a spreadsheet would run as a formula is written with a leading '
(registry.spreadsheet.neutralise, the rule csv_formula_guard.py applies to Datasette's own
CSV). Requests it does not cover (`_where`, `_labels`, `_col`, `_next`, a view, another
database...) go to Datasette as before.

For a STRICT table of integer and text columns (relationships), SQLite makes each line
itself (printf() of the guarded cells, quoted as the csv module quotes them) from the
rows' keys sorted first, so neither SQLite sorts whole rows nor Python writes cell by
cell; the lines stay UTF-8 bytes, and two connections on one snapshot make chunks at once.
Checking every cell for what needs a guard or quotes cost SQLite more than reading the rows,
so a scan of the whole table per data version finds what each column holds (scan_columns,
on a thread), and lines look only for that. Other tables: one SELECT, csv.writer,
neutralise() per cell.

Formulas: the rule is registry.spreadsheet.neutralise (OWASP's list: = + - @ tab CR first);
a leading space or a full-width sign is not a formula start there, and not here either.

One hook: an ASGI wrapper."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import sqlite3
import threading
import unicodedata
from collections import deque
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, unquote

from datasette.filters import Filters
from datasette.utils import escape_fts, escape_sqlite, value_as_boolean

from datasette import hookimpl
from registry.rules.spreadsheet import FORMULA_STARTS, neutralise
from registry.store.versions import data_version

PATH = re.compile(r"^/([^/]+)/([^/]+)\.csv$")
CHUNK = 5000
SCAN_ROWS = 5000  # keys read by one transaction of scan_columns
SORT_ROWS = 200_000  # at most this many rows: sorted by SQLite in one query (see Lines)
WORKERS = 2  # connections making chunks at once (two cores)
HANDLED_ARGS = {"_stream", "_size", "_dl", "_search", "_searchmode", "_sort", "_sort_desc", "_nofacet", "_nocount"}
MAX_LINE_ARGS = 120  # SQLite's printf() takes at most 127 arguments (SQLITE_MAX_FUNCTION_ARG)
GUARDED = (b"x-csv-formulas", b"neutralised")  # tells csv_formula_guard.py this body needs no second pass


def formula_glob() -> str | None:
    """FORMULA_STARTS as one SQLite GLOB pattern ('[-=+@...]*'), or None if they cannot be one."""
    starts = sorted(FORMULA_STARTS, key=lambda c: c != "-")  # "-" first in a class is itself, not a range
    if not starts or any(len(c) != 1 or c in "]^" for c in starts):
        return None
    return "[" + "".join(starts) + "]*"


# What a cell may hold that changes how it is written, each with the SQL that finds it in a cell {c}.
TEXT_FINDS = {
    "comma": "instr({c}, ',')",
    "quote": "instr({c}, '\"')",
    "lf": "instr({c}, char(10))",
    "cr": "instr({c}, char(13))",
    "nul": "instr({c}, char(0))",  # printf() stops at a NUL: Python writes the row
    "formula": "{c} glob {pattern}",
}
INTEGER_FINDS = {"negative": "{c} < 0"}
QUOTED = ("comma", "quote", "lf", "cr")  # csv.writer quotes a cell holding one of these


def finds(column: str, integer: bool) -> dict[str, str]:
    """The SQL of each thing to find in the column's cells."""
    pattern = "'" + (formula_glob() or "").replace("'", "''") + "'"
    c = escape_sqlite(column)
    return {k: v.format(c=c, pattern=pattern) for k, v in (INTEGER_FINDS if integer else TEXT_FINDS).items()}


def line_cell(column: str, integer: bool, held: frozenset[str]) -> str:
    """SQL for one cell as csv.writer writes it after neutralise(): guarded, then quoted if needed.

    `held` is what some cell of the column holds (see scan_columns; everything when not
    known): only that is looked for. An integer needs the guard only when negative. Text is
    quoted when it holds a comma, a quote, CR or LF, with its quotes doubled (printf's %w)."""
    c, find = escape_sqlite(column), finds(column, integer)
    guard = "negative" if integer else "formula"
    guarded = f"iif({find[guard]}, '''' || {c}, {c})" if guard in held else c
    quote = " or ".join(find[k] for k in QUOTED if k in held)
    if not quote:
        return guarded
    return f"iif({quote}, printf('\"%w\"', {guarded}), {guarded})"


def line_sql(columns: list[str], types: dict[str, str], held: dict[str, frozenset[str]]) -> str:
    """SQL for a row's CSV line.

    `held`: what each column's cells hold (see scan_columns); a column not in it may hold
    anything. printf() stops at a NUL character: a row with one in a text cell gets NULL for
    a line, and Python writes it (Lines.row)."""
    anything = {"INTEGER": frozenset(INTEGER_FINDS), "TEXT": frozenset(TEXT_FINDS)}
    held = {c: held.get(c, anything[types[c]]) for c in columns}
    cells = ", ".join(line_cell(c, types[c] == "INTEGER", held[c]) for c in columns)
    nul = " or ".join(finds(c, False)["nul"] for c in columns if "nul" in held[c]) or "0"
    return f"iif({nul}, NULL, printf('{','.join(['%s'] * len(columns))}', {cells}))"


async def plan(
    datasette, database: str, table: str, args: list[tuple[str, str]]
) -> tuple[list[str], str, dict[str, Any], str, tuple[Table, str, str] | None] | None:
    """The SQL and parameters of a stream this plugin answers, or None to leave it to Datasette."""
    if not datasette.setting("allow_csv_stream") or not value_as_boolean(dict(args).get("_stream") or "0"):
        return None
    if any(k.startswith("_") and k not in HANDLED_ARGS for k, _ in args):
        return None
    if database not in datasette.databases:
        return None
    db = datasette.get_database(database)
    is_view = table in await db.view_names()
    if (table not in await db.table_names() and not is_view) or not db.path:
        return None
    columns = await db.table_columns(table)
    pks = await db.primary_keys(table)
    if len(pks) != 1 and not is_view:
        return None
    filters = Filters(sorted((k, v) for k, v in args if not k.startswith("_")))
    where, params = filters.build_where_clauses(table)
    if is_view:  # a view (relationship_sources): its own order, column filters only (Datasette pages it by OFFSET)
        if any(v for k, v in args if k in ("_search", "_sort", "_sort_desc")):
            return None
        filtered = f" where {' and '.join(where)}" if where else ""
        selected = ", ".join(escape_sqlite(c) for c in columns)
        return columns, f"select {selected} from {escape_sqlite(table)}{filtered}", params, db.path, None
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
    name, pk = escape_sqlite(table), escape_sqlite(pks[0])
    filtered = f" where {' and '.join(where)}" if where else ""
    selected = ", ".join(escape_sqlite(c) for c in columns)
    sql = f"select {selected} from {name}{filtered} order by {order}"
    found = await strict_table(db, table)
    # The same order with no index to give it: SQLite reads the matching rows as it finds them, then sorts them.
    unindexed = ", ".join(f"+{term}" for term in order.split(", "))
    lines = (
        (
            found,
            f"select {pk} from {name}{filtered} order by {order}",
            f"from {name}{filtered} order by {unindexed}",
        )
        if found
        else None
    )
    return columns, sql, params, db.path, lines


async def strict_table(db, table: str) -> Table | None:
    """The table if SQLite can write its lines (Lines): STRICT, of integers and text, with an integer primary key."""
    strict = (await db.execute("select strict from pragma_table_list where name = ?", [table])).rows
    types = {r[1]: r[2].upper() for r in (await db.execute(f"pragma table_info({escape_sqlite(table)})")).rows}
    pks = await db.primary_keys(table)
    if (
        strict
        and strict[0][0]
        and formula_glob()
        and len(pks) == 1
        and types.get(pks[0]) == "INTEGER"
        and 1 < len(types) <= MAX_LINE_ARGS
        and all(t in ("INTEGER", "TEXT") for t in types.values())
    ):
        return Table(db.path, table, pks[0], tuple(types), types)
    return None


def guarded(row) -> list:
    """A row's cells as csv.writer would write them, neutralised (a number by the text csv.writer makes of it)."""
    return [v if v is None else neutralise(v if isinstance(v, str) else str(v)) for v in row]


def write_rows(rows) -> bytes:
    """Rows as csv.writer writes them, neutralised, in UTF-8."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(guarded(row) for row in rows)
    return buffer.getvalue().encode("utf-8")


class Lines:
    """A STRICT table of integers and text as CSV chunks, each line made by SQLite.

    The keys of the rows in order first (no sort of whole rows), then each chunk's lines in
    that order, a row looked up by its key at a time, in read transactions on one snapshot.
    A line is printf() of the cells: NULL as nothing, integers as Python writes them, text
    guarded and quoted as csv.writer does (only when it holds a comma, a quote, a CR or an
    LF, with quotes doubled). Lines stay UTF-8 bytes from SQLite to the response; Python
    only joins them, and writes itself the rare row with a NUL in its text.

    Chunk k is read by connection k % len(connections), so that two chunks are made at once
    (SQLite lets go of the GIL while it works). The connections share a snapshot: each one's
    read transaction began while no commit happened (PRAGMA data_version, asked of a
    connection of its own before the first began and after the last); if one did, a single
    connection reads every chunk."""

    def __init__(self, table: Table, keys_sql: str, sorted_from: str, params: dict):
        self.header = write_rows([table.columns])
        before = data_version(table.path)
        self.connections = [read_only(table.path) for _ in range(WORKERS)]
        self.keys = [k for (k,) in self.connections[0].execute(keys_sql, params)]
        for conn in self.connections[1:]:
            conn.execute("select count(*) from sqlite_master").fetchall()  # its snapshot begins here
        unchanged = data_version(table.path) == before  # every snapshot is the file at version `before`
        if not unchanged:
            self.close(self.connections[1:])
            del self.connections[1:]
        held = held_in(table, before) if unchanged else {}
        self.lines_sql = table.lines_sql(held)
        self.row_sql = f"select {', '.join(map(escape_sqlite, table.columns))} from {escape_sqlite(table.name)} "
        self.row_sql += f"where {escape_sqlite(table.pk)} = ?"
        self.count = -(-len(self.keys) // CHUNK)
        self.sorted = None
        if len(self.keys) <= SORT_ROWS:  # fewer rows: one query reads them in the file's order, then sorts lines
            self.close(self.connections[1:])
            del self.connections[1:]
            self.sorted = self.connections[0].execute(table.sorted_sql(held, sorted_from), params)

    def render(self, k: int) -> bytes:
        conn = self.connections[k % len(self.connections)]
        chunk = self.keys[k * CHUNK : (k + 1) * CHUNK]
        if self.sorted is not None:  # one connection: chunks are asked for in order
            found = self.sorted.fetchmany(len(chunk))
        else:
            found = conn.execute(self.lines_sql, {"keys": json.dumps(chunk)}).fetchall()
        lines = [line for _, line in found]
        if [key for key, _ in found] != chunk:  # the same rows in the same order; in case they were not
            lines = [dict(found)[key] for key in chunk]
        lines = [self.row(conn, key) if line is None else line for key, line in zip(chunk, lines, strict=True)]
        return b"\r\n".join(lines) + b"\r\n"

    def row(self, conn: sqlite3.Connection, key: int) -> bytes:
        (cells,) = conn.execute(self.row_sql, [key]).fetchall()
        return write_rows([[v.decode("utf-8") if isinstance(v, bytes) else v for v in cells]])[:-2]

    def close(self, connections: list[sqlite3.Connection] | None = None) -> None:
        for conn in self.connections if connections is None else connections:
            conn.close()  # ends its read transaction


class Table(NamedTuple):
    """A STRICT table of integers and text that Lines writes."""

    path: str
    name: str
    pk: str
    columns: tuple[str, ...]
    types: dict[str, str]

    def lines_sql(self, held: dict[str, frozenset[str]]) -> str:
        """(key, line) for each key of the JSON array :keys, in the array's order."""
        line, name, key = (
            line_sql(list(self.columns), self.types, held),
            escape_sqlite(self.name),
            escape_sqlite(self.pk),
        )
        return f"select j.value, (select {line} from {name} where {key} = j.value) from json_each(:keys) j"

    def sorted_sql(self, held: dict[str, frozenset[str]], sorted_from: str) -> str:
        """(key, line) of each row of `sorted_from` ("from ... where ... order by ...")."""
        return f"select {escape_sqlite(self.pk)}, {line_sql(list(self.columns), self.types, held)} {sorted_from}"


# (path, table) -> (data_version, what the cells of each column hold: see scan_columns)
HELD: dict[tuple[str, str], tuple[int, dict[str, frozenset[str]]]] = {}
SCANNING: set[tuple[str, str]] = set()
SCANNING_LOCK = threading.Lock()


def held_in(table: Table, version: int) -> dict[str, frozenset[str]]:
    """What each column holds at this data version; nothing known while it is found (on a thread: scan_columns)."""
    known = HELD.get((table.path, table.name))
    if known and known[0] == version:
        return known[1]
    start_scan(table)
    return {}


def start_scan(table: Table) -> None:
    with SCANNING_LOCK:
        if (table.path, table.name) in SCANNING:
            return
        SCANNING.add((table.path, table.name))
    threading.Thread(target=scan_columns, args=(table,), daemon=True, name=f"csv-scan-{table.name}").start()


def scan_columns(table: Table) -> None:
    """Find what the cells of each column hold (commas, quotes, CR, LF, NUL, formulas; negative integers).

    One read of every row, once per data version of the file (at startup for the tables with
    facets, else at a table's first stream, and again at the first stream after a commit):
    SQLite's checks of each cell cost more than reading the rows, and most columns hold
    nothing to check for, so lines then look only for what a column holds. Read in short
    transactions of SCAN_ROWS keys, so that a publish never waits long for it (registry.db
    has a rollback journal: readers hold writers back), on a thread; kept only
    if no commit happened from the data version asked before the first to after the last."""
    key = (table.path, table.name)
    try:
        found = [(c, k, f"max({sql})") for c in table.columns
                 for k, sql in finds(c, table.types[c] == "INTEGER").items()]  # fmt: skip
        pk, name = escape_sqlite(table.pk), escape_sqlite(table.name)
        sql = f"select {', '.join(f for *_, f in found)} from {name} where {pk} >= ? and {pk} < ?"
        before = data_version(table.path)
        conn = sqlite3.connect(f"file:{table.path}?mode=ro", uri=True, check_same_thread=False)
        try:
            low, high = conn.execute(f"select min({pk}), max({pk}) from {name}").fetchone()
            seen = [None] * len(found)
            for start in range(low or 0, (high or 0) + 1, SCAN_ROWS):
                (values,) = conn.execute(sql, [start, start + SCAN_ROWS]).fetchall()  # a read transaction of its own
                seen = [a or b for a, b in zip(seen, values, strict=True)]
        finally:
            conn.close()
        if data_version(table.path) != before:
            return  # a commit happened meanwhile: the next stream scans again
        held = {c: frozenset(k for (column, k, _), v in zip(found, seen, strict=True) if column == c and v)
                for c in table.columns}  # fmt: skip
        HELD[key] = (before, held)
    except sqlite3.Error:
        pass  # the file went away or changed shape: lines look for everything in every cell meanwhile
    finally:
        with SCANNING_LOCK:
            SCANNING.discard(key)


def read_only(path: str) -> sqlite3.Connection:
    """A connection in a read transaction (begun at its first read), giving text as UTF-8 bytes."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None)
    conn.text_factory = bytes
    conn.execute("BEGIN")
    return conn


def csv_chunks(path: str, sql: str, params: dict, columns: list[str]):
    """A function that returns the next chunk of the CSV (b"" at the end), read from its own connection.

    Any table: csv.writer writes the cells, each through neutralise() (numbers as the text csv.writer makes)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    cursor = conn.execute(sql, params)
    pending = [write_rows([columns])]
    done: list[bool] = []

    def next_chunk() -> bytes:
        if pending:
            return pending.pop()
        rows = [] if done else cursor.fetchmany(CHUNK)
        if not rows:
            if not done:
                done.append(True)
                conn.close()
            return b""
        return write_rows(rows)

    return next_chunk


async def send_lines(made: Lines, send) -> None:
    """Send the header, then every chunk in order while the next ones are made on threads, one per connection."""
    coming: deque[asyncio.Future[bytes]] = deque()
    try:
        await send({"type": "http.response.body", "body": made.header, "more_body": True})
        for k in range(min(len(made.connections), made.count)):
            coming.append(asyncio.ensure_future(asyncio.to_thread(made.render, k)))
        following = len(coming)
        while coming:
            body = await coming.popleft()
            if following < made.count:  # the connection that made this chunk is free again
                coming.append(asyncio.ensure_future(asyncio.to_thread(made.render, following)))
                following += 1
            await send({"type": "http.response.body", "body": body, "more_body": True})
    finally:
        await asyncio.gather(*coming, return_exceptions=True)  # chunks being made finish before the close
        made.close()


@hookimpl
def startup(datasette):
    """Scan the columns (scan_columns) of the tables whose metadata names facets: the ones readers download."""

    async def inner():
        for name, db in datasette.databases.items():
            for table, meta in (datasette.metadata("tables", database=name) or {}).items():
                if db.path and meta.get("facets") and table in await db.table_names():
                    found = await strict_table(db, table)
                    if found:
                        start_scan(found)

    return inner


def download_name(table: str, args: list[tuple[str, str]], extension: str) -> str:
    """A download's file name naming its filters: relationships-vendor-clearview-ai-client_country-belgium.csv."""
    parts = [table]
    for key, value in args:
        if key == "_search":
            key = "search"
        elif key.startswith("_"):
            continue
        value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()  # "États" -> "etats"
        parts += [re.sub(r"[^a-z0-9_]+", "-", key.lower()).strip("-"), re.sub(r"[^a-z0-9]+", "-", value).strip("-")]
    name = "-".join(p for p in parts if p)[:150].rstrip("-")
    return f"{name or 'download'}.{extension}"


def named(send, name: str):
    """`send`, with the response's Content-Disposition naming the file `name` (Datasette says table.csv)."""

    async def with_name(message):
        if message["type"] == "http.response.start":
            kept = [(k, v) for k, v in message.get("headers") or [] if k.lower() != b"content-disposition"]
            disposition = f'attachment; filename="{name}"'.encode()
            message = {**message, "headers": [*kept, (b"content-disposition", disposition)]}
        await send(message)

    return with_name


DOWNLOAD = re.compile(r"^/([^/]+)/([^/]+)\.(csv|json)$")


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def stream(scope, receive, send):
            download = DOWNLOAD.match(scope.get("path", "")) if scope["type"] == "http" else None
            if download:
                args = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
                if dict(args).get("_dl"):
                    send = named(send, download_name(unquote(download.group(2)), args, download.group(3)))
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
            assert match is not None  # found only for a path that matched
            columns, sql, params, path, lines = found
            try:
                if lines:
                    made = await asyncio.to_thread(Lines, *lines, params)
                else:
                    next_chunk = await asyncio.to_thread(csv_chunks, path, sql, params, columns)
            except sqlite3.Error:
                await app(scope, receive, send)
                return
            headers = [(b"content-type", b"text/plain; charset=utf-8"), GUARDED]
            if dict(args).get("_dl"):  # its name: see `named` above
                headers = [(b"content-type", b"text/csv; charset=utf-8"), GUARDED]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            if lines:
                await send_lines(made, send)
            else:
                body = await asyncio.to_thread(next_chunk)
                while body:
                    coming = asyncio.ensure_future(asyncio.to_thread(next_chunk))  # read while this is sent
                    await send({"type": "http.response.body", "body": body, "more_body": True})
                    body = await coming
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        return stream

    return wrap
