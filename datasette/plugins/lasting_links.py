"""Links that never break (one hook: an ASGI wrapper).

A merged organisation's old address (`/registry/organisations/<old_id>`, and `.json`)
answers 301 to the organisation it was merged into (organisation_redirects); a
withdrawn relationship's address answers 410 Gone with when and why
(withdrawn_relationships), as a page or as JSON.

Only row addresses of those two tables are watched, and only once Datasette has
answered 404: every other response passes through untouched, and a found row costs
nothing more. The look-up is one primary-key read."""

from __future__ import annotations

import json
import re

from datasette.utils.asgi import Request

from datasette import hookimpl
from registry.rules.dates import partial_date

DATABASE = "registry"
ROW = re.compile(rf"^/{DATABASE}/(organisations|relationships)/([0-9]{{1,18}})(\.json)?$")
REPLACED = (b"content-type", b"content-length", b"location")


async def first(datasette, sql, params):
    rows = (await datasette.get_database(DATABASE).execute(sql, params)).rows
    return dict(rows[0]) if rows else None


async def moved(datasette, scope, row_id, suffix):
    """A 301 to the organisation an old number was merged into, or None."""
    found = await first(datasette, "SELECT organisation_id FROM organisation_redirects WHERE old_id = ?", [row_id])
    if found is None:
        return None
    location = datasette.urls.row(DATABASE, "organisations", found["organisation_id"]) + suffix
    if scope.get("query_string"):
        location += "?" + scope["query_string"].decode("latin-1")
    headers = [(b"location", location.encode("latin-1")), (b"content-type", b"text/plain; charset=utf-8")]
    return 301, headers, f"Moved to {location}\n".encode()


async def gone(datasette, scope, receive, row_id, suffix):
    """A 410 saying when and why a relationship was withdrawn, or None."""
    sql = "SELECT id, withdrawn_at, public_reason FROM withdrawn_relationships WHERE id = ?"
    found = await first(datasette, sql, [row_id])
    if found is None:
        return None
    found["withdrawn_on"] = partial_date(found["withdrawn_at"])
    if suffix == ".json":
        message = f"Relationship {row_id} was withdrawn on {found['withdrawn_on']}: {found['public_reason']}"
        body = json.dumps({"ok": False, "status": 410, "error": message, "title": "Withdrawn", **found})
        return 410, [(b"content-type", b"application/json; charset=utf-8")], body.encode()
    # Datasette's CSRF wrapper, inside this one, has not given this request a token: the page has no form.
    request = Request({**scope, "csrftoken": lambda: ""}, receive)
    html = await datasette.render_template("gone.html", {"withdrawn": found, "database": DATABASE}, request=request)
    return 410, [(b"content-type", b"text/html; charset=utf-8")], html.encode()


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def lasting(scope, receive, send):
            match = ROW.match(scope.get("path", "")) if scope["type"] == "http" else None
            if match is None:
                await app(scope, receive, send)
                return
            held: list[dict] = []

            async def hold_not_found(message):
                if held or (message["type"] == "http.response.start" and message["status"] == 404):
                    held.append(message)
                else:
                    await send(message)

            await app(scope, receive, hold_not_found)
            if not held:
                return
            table, row_id, suffix = match.group(1), int(match.group(2)), match.group(3) or ""
            if table == "organisations":
                answer = await moved(datasette, scope, row_id, suffix)
            else:
                answer = await gone(datasette, scope, receive, row_id, suffix)
            if answer is None:
                for message in held:
                    await send(message)
                return
            status, headers, body = answer
            # The 404's other headers (the security headers, if their wrapper is inside this one) stay.
            kept = [(k, v) for k, v in held[0].get("headers", []) if k.lower() not in REPLACED]
            await send({"type": "http.response.start", "status": status, "headers": [*kept, *headers]})
            await send({"type": "http.response.body", "body": body})

        return lasting

    return wrap
