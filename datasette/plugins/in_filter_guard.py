"""A clear 400 for a `column__in=` list that is not valid JSON (one hook: an ASGI wrapper).

Datasette 0.65's InFilter reads a value starting with "[" as JSON and lets the decoding
error become a 500; the facet links (counted_facets.py) write such lists for values
holding a comma, so a hand-edited one must get a message instead."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from datasette import hookimpl

MESSAGE = b'A column__in= value starting with "[" must be a JSON list, such as ["Belgium","France"].\n'


def broken_list(query_string: bytes) -> bool:
    for key, value in parse_qsl(query_string.decode("utf-8", "replace"), keep_blank_values=True):
        if key.endswith("__in") and value.startswith("["):
            try:
                json.loads(value)
            except ValueError:
                return True
    return False


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def guarded(scope, receive, send):
            if (
                scope["type"] == "http"
                and b"__in=" in scope.get("query_string", b"")
                and broken_list(scope["query_string"])
            ):
                headers = [(b"content-type", b"text/plain; charset=utf-8")]
                await send({"type": "http.response.start", "status": 400, "headers": headers})
                await send({"type": "http.response.body", "body": MESSAGE})
                return
            await app(scope, receive, send)

        return guarded

    return wrap
