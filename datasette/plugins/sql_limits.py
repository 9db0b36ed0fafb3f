"""SQLite's own limits on every connection Datasette opens, so that no SQL, however written,
costs the server more than a second or two of CPU or more than a few megabytes.

Datasette's `sql_time_limit_ms` is a progress handler that SQLite calls only at its jumps,
every 1,000 of them: a row of 40 `length(upper(printf('%.*c', 1e8, 'x')))` has no jump
between its calls and ran 12.9 s; `printf('%.*c', 900000000, 'x')` took the server to 1 GB.
What bounds a statement here, whatever its text:

- the length of any value (SQLITE_LIMIT_LENGTH): a function's work grows with its input,
  and without jumps the only bound on a row's work is (number of calls, bounded by the
  length of the SQL) x (the work of one call, bounded by the length of a value), once the
  functions that could do more than linear work on a value are made linear (sql_functions.py);
- the size of what a statement returns, counted as Python reads the rows (the row factory):
  1,000 rows of 100 values of a megabyte each would otherwise be 100 GB before Datasette
  looked at them;
- the other limits below, each with its reason;
- an authorizer that refuses what a reader must not see.

Two tiers. Connections of the threads that run readers' own SQL (`?sql=` and `_where=`,
sent there by sql_pool.py, threads named `registry-sql-...`) get the strict figures; the
connections behind the pages (SQL that Datasette and our plugins write) get figures sized
for the largest legitimate page, far above what a published row holds (the longest value
in registry.db is the search index's 4 KB pages; the longest column is 4,000 characters).

One hook: prepare_connection."""

from __future__ import annotations

import sqlite3
import threading
import weakref

from datasette import hookimpl

MB = 1024 * 1024
SQL_THREADS = "registry-sql"  # the name of sql_pool.py's threads (its SQL_THREADS)

# Pages: SQL that Datasette and datasette/plugins/ write; readers supply only values.
PAGES = {
    # counted_facets.py reads a search's matches as one JSON array of row ids: about 8 MB
    # at a million rows, the size the pages are built for.
    sqlite3.SQLITE_LIMIT_LENGTH: 16 * MB,
    # The longest statement Datasette writes (a table page with every column, facets and
    # filters) is a few KB; values are bound as parameters, not written into the SQL.
    sqlite3.SQLITE_LIMIT_SQL_LENGTH: 100_000,
    sqlite3.SQLITE_LIMIT_COLUMN: 200,  # the widest table has 29 columns
    # Filters are joined with AND, one level of the expression tree each.
    sqlite3.SQLITE_LIMIT_EXPR_DEPTH: 200,
    sqlite3.SQLITE_LIMIT_COMPOUND_SELECT: 50,  # counted_facets.py unions one select per facet
    sqlite3.SQLITE_LIMIT_FUNCTION_ARG: 127,  # SQLite's own maximum; csv_stream.py uses 121
    # LIKE and GLOB cost (text x pattern); filters' patterns are a column value or a word.
    sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH: 1000,
    sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER: 2000,  # one a value of `column__in=`
    sqlite3.SQLITE_LIMIT_ATTACHED: 0,  # only registry.db is served; ATTACH is refused anyway
    sqlite3.SQLITE_LIMIT_WORKER_THREADS: 0,  # a sort must not take a second core
}
PAGES_RESULT = 32 * MB  # 1,001 rows of the widest table, every column at its longest, is ~20 MB

# Readers' SQL: the costliest statements we could write within these figures are in
# benchmarks/attacks/queries.py (figures in SECURITY.md).
STRICT = {
    **PAGES,
    # SQLite computes a call whose arguments are constants once, before the first row, and
    # keeps every such value until the statement ends: memory grows as (number of calls) x
    # (length of a value). 10,000 characters of SQL hold about 950 calls; at 128 KB a value
    # that is 120 MB, and a call on a value of 128 KB costs about 0.1 ms. The longest
    # published value is 4,000 characters; group_concat() of every relationship's id, 25 KB.
    sqlite3.SQLITE_LIMIT_LENGTH: 128 * 1024,
    sqlite3.SQLITE_LIMIT_SQL_LENGTH: 10_000,  # a long hand-written query is 2 KB
    sqlite3.SQLITE_LIMIT_COLUMN: 100,
    sqlite3.SQLITE_LIMIT_EXPR_DEPTH: 100,
    sqlite3.SQLITE_LIMIT_COMPOUND_SELECT: 20,
    sqlite3.SQLITE_LIMIT_FUNCTION_ARG: 100,
    sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER: 100,  # `:named` parameters in the query form
}
STRICT_RESULT = 8 * MB  # Datasette then writes it as JSON or HTML on the event loop

# Virtual tables a reader must not read: sqlite_stmt lists the statements other readers'
# connections are running (their SQL); dbstat and sqlite_dbpage read the file's pages,
# free pages included, where deleted rows linger until a VACUUM.
REFUSED_TABLES = frozenset({"sqlite_stmt", "dbstat", "sqlite_dbpage"})
REFUSED_ACTIONS = frozenset({sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH})


class ResultTooLargeError(sqlite3.OperationalError):
    """A statement's rows are larger than its tier allows (a 400: Datasette reports it as bad SQL)."""


def strict_thread() -> bool:
    return threading.current_thread().name.startswith(SQL_THREADS)


def authorize(action: int, arg1: str | None, arg2: str | None, database: str | None, source: str | None) -> int:
    """Refuse reading the refused virtual tables and attaching files, hide the file's path; allow the rest.

    The search index's shadow tables stay readable: FTS5 reads them itself through this
    same authorizer (withdrawn text is purged from them by the publisher instead)."""
    if action in REFUSED_ACTIONS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_READ and arg1 is not None:
        if arg1.lower() in REFUSED_TABLES:
            return sqlite3.SQLITE_DENY
        if arg1.lower() == "pragma_database_list" and arg2 == "file":
            return sqlite3.SQLITE_IGNORE  # NULL: the file's absolute path tells where the instance is
    return sqlite3.SQLITE_OK


def budgeted_rows(budget: int):
    """A row factory giving Datasette its sqlite3.Row, that stops a statement whose rows outgrow `budget` bytes."""
    read: weakref.WeakKeyDictionary[sqlite3.Cursor, int] = weakref.WeakKeyDictionary()

    def factory(cursor: sqlite3.Cursor, row: tuple) -> sqlite3.Row:
        size = read.get(cursor, 0) + sum(len(v) if isinstance(v, (str, bytes)) else 8 for v in row)
        if size > budget:
            read.pop(cursor, None)
            raise ResultTooLargeError(
                f"The result is larger than {budget // MB} MB: select fewer rows or columns, or shorter values"
            )
        read[cursor] = size
        return sqlite3.Row(cursor, row)

    return factory


@hookimpl
def prepare_connection(conn):
    strict = strict_thread()
    for limit, value in (STRICT if strict else PAGES).items():
        conn.setlimit(limit, value)
    conn.set_authorizer(authorize)
    conn.row_factory = budgeted_rows(STRICT_RESULT if strict else PAGES_RESULT)


# SQLite's words for what these limits refuse, and the same in a reader's words (the query
# page shows them through query.html's `reader_error` filter).
READERS_WORDS = (
    ("string or blob too big", "This query would make a value longer than 128 KB, the most a query may: ask for less."),
    ("is prohibited", "This query reads a part of the database that is not published (its internal tables)."),
    ("not authorized", "This query does something readers may not do: only SELECT on the published tables."),
    ("too many columns", "This query asks for more than 100 columns."),
    ("too many terms in compound", "This query joins more than 20 SELECTs with UNION."),
    ("too many SQL variables", "This query has more than 100 :named parameters."),
    ("Expression tree is too large", "This query's expression nests too deep (more than 100 levels)."),
    ("LIKE or GLOB pattern too complex", "This query's LIKE or GLOB pattern is longer than 1,000 characters."),
)


def reader_error(message: str) -> str:
    """A query's error in a reader's words where SQLite's are internal, else as it is."""
    for words, plain in READERS_WORDS:
        if words in str(message):
            return plain
    return str(message)


@hookimpl
def prepare_jinja2_environment(env):
    env.filters["reader_error"] = reader_error
