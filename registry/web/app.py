"""The intake app: a Flask app factory wiring forms, views, errors and limits."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from flask import Flask
from flask_wtf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from registry.config import load_settings

csrf = CSRFProtect()


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the intake app; `test_config` overrides settings (tests, `registry serve`)."""
    settings = load_settings()
    app = Flask(__name__)  # templates/ and static/ beside this module
    app.config.from_mapping(
        SETTINGS=settings,
        SECRET_KEY=settings.secret_key(),
        DATASETTE_URL=settings.datasette_url,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.https,  # set REGISTRY_HTTPS=1 behind a TLS proxy
        # A reviewer's session: the server ends it this long after login, or after this long
        # without a request (registry/services/sessions.py); Flask's own default is 31 days.
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=settings.session_hours),
        SESSION_IDLE_TIMEOUT=dt.timedelta(minutes=settings.session_idle_minutes),
        CLOCK=time.time,  # what sessions are timed by; tests pass a clock they move
        MAX_CONTENT_LENGTH=settings.max_upload_mb * 1024 * 1024,
    )
    app.config["DEBUG"] = False  # never the debugger, whatever FLASK_DEBUG says
    if test_config:
        app.config.update(test_config)
    csrf.init_app(app)

    from registry.web import db, errors, filters, ratelimit, security
    from registry.web.views import auth, home, review, submit, upload

    db.init_app(app)
    errors.init_app(app)
    filters.init_app(app)
    security.init_app(app)
    ratelimit.init_app(app)
    if settings.proxies:  # behind N reverse proxies: take the client's address from X-Forwarded-For
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxies, x_proto=settings.proxies)  # type: ignore[method-assign]
    for blueprint in (home.bp, auth.bp, submit.bp, upload.bp, review.bp):
        app.register_blueprint(blueprint)
    return app
