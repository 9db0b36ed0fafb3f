"""The exposure registry: who was a client of which surveillance or data vendor."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, render_template
from flask_wtf import CSRFProtect

from registry.config import load_settings
from registry.store.database import DatabaseError

csrf = CSRFProtect()


def database_unavailable(error: DatabaseError) -> tuple[str, int]:
    """The databases are missing or unreadable: say what to run, not a stack trace."""
    return render_template("unavailable.html"), 503


def too_large(error: Exception) -> tuple[str, int]:
    """An upload over the limit: say so, and what to do instead."""
    limit = current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
    return render_template("too_large.html", limit=limit), 413


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the intake app; `test_config` overrides settings (tests, `registry serve`)."""
    settings = load_settings()
    app = Flask(__name__)
    app.config.from_mapping(
        SETTINGS=settings,
        SECRET_KEY=settings.secret_key(),
        DATASETTE_URL=settings.datasette_url,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.https,  # set REGISTRY_HTTPS=1 behind a TLS proxy
        MAX_CONTENT_LENGTH=settings.max_upload_mb * 1024 * 1024,
    )
    if test_config:
        app.config.update(test_config)
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", 8 * 3600)
    csrf.init_app(app)

    from registry import db, security
    from registry.views import auth, home, review, submit, upload

    db.init_app(app)
    security.init_app(app)
    app.register_error_handler(DatabaseError, database_unavailable)
    app.register_error_handler(413, too_large)
    for blueprint in (home.bp, auth.bp, submit.bp, upload.bp, review.bp):
        app.register_blueprint(blueprint)
    return app
