"""No page tells where the server keeps its files.

Datasette's `/-/databases.json` (and its HTML page) gives each database's absolute path,
`/tmp/.../instance/registry.db`: the instance folder, from which a reader learns the
account the server runs as, its layout, where intake.db lies. Every `/-/` page and every
error page here has the folder of each served file taken out of its body (so
`registry.db` is left), in the forms a page may write it: as is, escaped for HTML and
escaped for JSON. The SQL route to the same path, `pragma_database_list`'s `file`, reads
as NULL (sql_limits.py's authorizer).

One hook: an ASGI wrapper."""

from __future__ import annotations

import html
import json
from pathlib import Path

from datasette import hookimpl

UNTOUCHED = ("/-/static/", "/-/static-plugins/")  # files of this repository, not pages


def folders(datasette) -> list[bytes]:
    """Each served file's folder with its separator, in every form a page may write it."""
    found = set()
    for db in datasette.databases.values():
        if db.path:
            folder = str(Path(db.path).resolve().parent) + "/"
            found.update({folder, str(Path(db.path).parent) + "/"})
    forms = {f for folder in found for f in (folder, html.escape(folder), json.dumps(folder)[1:-1])}
    return sorted((f.encode() for f in forms), key=len, reverse=True)


def scrub(body: bytes, hidden: list[bytes]) -> bytes:
    for folder in hidden:
        body = body.replace(folder, b"")
    return body


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def guarded(scope, receive, send):
            path = scope.get("path", "") if scope["type"] == "http" else ""
            if not path.startswith("/") or path.startswith(UNTOUCHED):
                await app(scope, receive, send)
                return
            settled: dict = {}  # the response's start, held back while its body may be scrubbed
            chunks: list[bytes] = []

            async def scrubbing(message):
                if message["type"] == "http.response.start":
                    if not path.startswith("/-/") and message["status"] < 400:
                        settled["passing"] = True
                        await send(message)
                        return
                    settled["start"] = message
                    return
                if settled.get("passing") or message["type"] != "http.response.body":
                    await send(message)
                    return
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                body = scrub(b"".join(chunks), folders(datasette))
                start = settled["start"]
                headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": body})

            await app(scope, receive, send=scrubbing)

        return guarded

    return wrap
