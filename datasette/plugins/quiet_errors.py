"""Log a client's bad request in one line, not as a 45 KB traceback.

Datasette 0.65's default exception handler prints every error, 4xx included (a query that
is not a SELECT, a bad facet), as a rich traceback with every local variable: about 45 KB
of log a request, so a stream of bad queries would fill the disk with logs. Without
`rich` it prints a plain traceback for 500s only, which is what a server should log."""

from __future__ import annotations

from datasette import handle_exception as default_handler
from datasette import hookimpl


@hookimpl
def startup(datasette):
    default_handler.rich = None  # type: ignore[assignment]  # Datasette sets None itself without rich; mypy infers a module
