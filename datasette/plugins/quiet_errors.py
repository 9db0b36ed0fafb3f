"""Log a client's bad request in one line, not as a 45 KB traceback; answer bad SQL with 400.

Datasette 0.65's default exception handler prints every error, 4xx included (a query that
is not a SELECT, a bad facet), as a rich traceback with every local variable: about 45 KB
of log a request, so a stream of bad queries would fill the disk with logs. Without
`rich` it prints a plain traceback for 500s only, which is what a server should log.

Its table page catches only some of SQLite's errors: a `_where=` that makes a value over
the length limit, reads a refused table (sql_limits.py) or runs out of time in a statement
Datasette did not expect to be stopped answered 500. Those are the reader's SQL, so they
get the 400 the query page gives, with SQLite's message.

Two hooks: startup and handle_exception."""

from __future__ import annotations

import sqlite3

from datasette.database import QueryInterrupted
from datasette.views.base import DatasetteError

from datasette import handle_exception as default_handler
from datasette import hookimpl


@hookimpl
def startup(datasette):
    default_handler.rich = None  # type: ignore[assignment]  # Datasette sets None itself without rich; mypy infers a module


@hookimpl
def handle_exception(datasette, request, exception):
    if isinstance(exception, QueryInterrupted):
        message = "SQL query took too long: the time limit is 1 s for your own SQL, 2 s for a page"
    elif isinstance(exception, sqlite3.DatabaseError):
        message = str(exception)
    else:
        return None
    print(f"Refused SQL on {request.path}: {message}", flush=True)
    answer = DatasetteError(message, title="Invalid SQL", status=400)
    return default_handler.handle_exception(datasette, request, answer)
