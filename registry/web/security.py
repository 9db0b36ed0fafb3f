"""Security headers on every response of the intake app, and the session cookie's expiry."""

from __future__ import annotations

import datetime as dt

from flask import Flask, Response, request
from flask.sessions import SecureCookieSessionInterface, SessionMixin

# Scripts and styles only from this site (the templates' one inline <style> block is
# allowed by its hash-free 'unsafe-inline' for styles only; no inline script runs).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self' {datasette}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def init_app(app: Flask) -> None:
    app.session_interface = ReviewerSessionInterface()

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


class ReviewerSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with a reviewer's cookie set to expire when the
    server will end its session (the earlier of login + lifetime and last request + idle
    timeout), not a lifetime after every request. The server checks those times itself
    (registry/services/sessions.py): the expiry only spares the browser a dead cookie."""

    def get_expiration_time(self, app: Flask, session: SessionMixin) -> dt.datetime | None:
        login, seen = session.get("login"), session.get("seen")
        if not session.permanent or not isinstance(login, int | float) or not isinstance(seen, int | float):
            return super().get_expiration_time(app, session)
        end = login + app.permanent_session_lifetime.total_seconds()
        idle = app.config["SESSION_IDLE_TIMEOUT"].total_seconds()
        if idle:
            end = min(end, seen + idle)
        return dt.datetime.fromtimestamp(end, dt.UTC)
