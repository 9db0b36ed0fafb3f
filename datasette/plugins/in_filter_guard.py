"""A clear 400 for a filter Datasette 0.65 would answer with a 500 (one hook: an ASGI wrapper).

- `column__in=`: Datasette's InFilter reads a value starting with "[" as JSON and lets the
  decoding error become a 500, and binds each item as a parameter, so an item that is a
  list or an object is a 500 too; the facet links (counted_facets.py) write such lists for
  values holding a comma, so a hand-edited one must get a message instead.
- `_through=`: Datasette reads `{"table": ..., "column": ..., "value": ...}` and answered
  not JSON, a missing key, an unknown table or column, or a table with no foreign key to
  this one with a 500."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, unquote

from datasette.utils.asgi import Request

from datasette import hookimpl

MESSAGE = 'A column__in= value starting with "[" must be a JSON list, such as ["Belgium","France"].'
THROUGH = '_through= must be JSON such as {"table": "citations", "column": "source_id", "value": "3"}'
TABLE_PATH = re.compile(r"^/registry/([^/]+?)(?:\.(?:json|csv))?$")
SCALARS = (str, int, float, bool, type(None))


def broken_list(args: list[tuple[str, str]]) -> bool:
    for key, value in args:
        if key.endswith("__in") and value.startswith("["):
            try:
                items = json.loads(value)
            except ValueError:
                return True
            if not isinstance(items, list) or not all(isinstance(i, SCALARS) for i in items):
                return True
    return False


async def through_error(datasette, table: str, value: str) -> str | None:
    """What is wrong with one `_through=` value on `table`'s page, or None."""
    try:
        through = json.loads(value)
    except ValueError:
        return THROUGH
    if not isinstance(through, dict) or not all(isinstance(through.get(k), str) for k in ("table", "column")):
        return THROUGH
    if "value" not in through or not isinstance(through["value"], SCALARS):
        return THROUGH
    db = datasette.get_database("registry")
    other = through["table"]
    if other not in await db.table_names():
        return f"_through: no table named {other!r}"
    if through["column"] not in await db.table_columns(other):
        return f"_through: {other} has no column {through['column']!r}"
    if not any(fk["other_table"] == table for fk in await db.foreign_keys_for_table(other)):
        return f"_through: {other} does not refer to {table}"
    return None


async def refused(datasette, scope, receive, send, message: str) -> None:
    """400 as JSON to a .json request, plain text to a .csv one, else the site's own error page."""
    path = scope.get("path", "")
    if path.endswith(".json"):
        body, kind = json.dumps({"ok": False, "error": message, "status": 400}).encode(), b"application/json"
    elif path.endswith(".csv"):
        body, kind = message.encode() + b"\n", b"text/plain; charset=utf-8"
    else:
        context = {"ok": False, "error": message, "status": 400, "title": "This filter cannot be read"}
        page = await datasette.render_template(
            "error.html", context, request=Request({"csrftoken": lambda: "", **scope}, receive)
        )
        body, kind = page.encode(), b"text/html; charset=utf-8"
    await send({"type": "http.response.start", "status": 400, "headers": [(b"content-type", kind)]})
    await send({"type": "http.response.body", "body": body})


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def guarded(scope, receive, send):
            query = scope.get("query_string", b"") if scope["type"] == "http" else b""
            if query:  # parsed whatever its spelling: a key may be percent-encoded
                args = parse_qsl(query.decode("utf-8", "replace"), keep_blank_values=True)
                if broken_list(args):
                    await refused(datasette, scope, receive, send, MESSAGE)
                    return
                match = TABLE_PATH.match(scope.get("path", ""))
                if match:
                    table = unquote(match.group(1))
                    for key, value in args:
                        error = key == "_through" and await through_error(datasette, table, value)
                        if error:
                            await refused(datasette, scope, receive, send, error)
                            return
            await app(scope, receive, send)

        return guarded

    return wrap
