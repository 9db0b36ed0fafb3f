"""Security headers on every response of the intake app."""

from __future__ import annotations

from flask import Flask, Response, request

# Scripts and styles only from this site (the templates' one inline <style> block is
# allowed by its hash-free 'unsafe-inline' for styles only; no inline script runs).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self' {datasette}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def init_app(app: Flask) -> None:
    @app.after_request
    def add_headers(response: Response) -> Response:
        datasette = app.config.get("DATASETTE_URL", "")
        response.headers.setdefault("Content-Security-Policy", CSP.format(datasette=datasette).strip())
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if app.config.get("SESSION_COOKIE_SECURE") or request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
