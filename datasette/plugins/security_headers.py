"""Security headers on every Datasette response (one hook: an ASGI wrapper).

Datasette's pages use inline scripts and styles of their own, so the policy allows
inline code but no other origin; framing, MIME sniffing and referrers are locked down."""

from __future__ import annotations

from datasette import hookimpl

HEADERS = [
    (b"content-security-policy", b"default-src 'self'; script-src 'self' 'unsafe-inline'; "
     b"style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "
     b"object-src 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]  # fmt: skip


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def with_headers(scope, receive, send):
            async def add(message):
                if message["type"] == "http.response.start":
                    present = {k.lower() for k, _ in message.get("headers") or []}
                    extra = [(k, v) for k, v in HEADERS if k not in present]
                    message = {**message, "headers": [*(message.get("headers") or []), *extra]}
                await send(message)

            await app(scope, receive, add)

        return with_headers

    return wrap
