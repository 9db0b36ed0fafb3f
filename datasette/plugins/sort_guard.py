"""Answer a sort by a column that does not exist, or by `_sort` and `_sort_desc` at once,
with 400, not Datasette 0.65's 500.

One hook: an ASGI wrapper that checks `_sort` and `_sort_desc` on table pages of the
registry database against the table's columns before Datasette sees the request."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, unquote

from datasette.utils.asgi import Request

from datasette import hookimpl

SORT_BOTH = "Sort in one direction only: by a column going up or by a column going down, not both at once."
TABLE_PATH = re.compile(r"^/registry/([^/]+?)(?:\.(json|csv))?$")


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def guarded(scope, receive, send):
            match = TABLE_PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
            if match:
                args = parse_qs(scope.get("query_string", b"").decode("latin-1"))
                asked = [v for key in ("_sort", "_sort_desc") for v in args.get(key, [])]
                if args.get("_sort") and args.get("_sort_desc"):
                    await _bad_request(datasette, scope, receive, send, SORT_BOTH, match.group(2))
                    return
                if asked:
                    table = unquote(match.group(1))
                    db = datasette.get_database("registry")
                    if table in await db.table_names():
                        columns = set(await db.table_columns(table))
                        wrong = [v for v in asked if v not in columns]
                        if wrong:
                            await _bad_request(
                                datasette,
                                scope,
                                receive,
                                send,
                                f"Cannot sort by {wrong[0]!r}: {table} has no such column",
                                match.group(2),
                            )
                            return
            await app(scope, receive, send)

        return guarded

    return wrap


async def _bad_request(datasette, scope, receive, send, message, fmt):
    """400 as JSON to a .json request, else as the site's own error page."""
    if fmt == "json":
        body, kind = json.dumps({"ok": False, "error": message, "status": 400}).encode(), b"application/json"
    else:
        context = {"ok": False, "error": message, "status": 400, "title": "This sort cannot be done"}
        page = await datasette.render_template(
            "error.html", context, request=Request({"csrftoken": lambda: "", **scope}, receive)
        )
        body, kind = page.encode(), b"text/html; charset=utf-8"
    await send({"type": "http.response.start", "status": 400, "headers": [(b"content-type", kind)]})
    await send({"type": "http.response.body", "body": body})
