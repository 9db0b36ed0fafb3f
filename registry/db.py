"""The intake database and its vocabulary, one connection per request on `g`."""

from __future__ import annotations

import sqlite_utils
from flask import Flask, current_app, g

from registry.store.database import connect
from registry.store.intake import load_vocabulary
from registry.validation import Vocabulary


def get_db() -> sqlite_utils.Database:
    """Return this request's connection to intake.db."""
    if "db" not in g:
        settings = current_app.config["SETTINGS"]
        g.db = connect(settings.intake_db, max_mb=settings.max_db_mb)
    return g.db


def get_vocabulary() -> Vocabulary:
    """Return the controlled vocabularies, read once per request."""
    if "vocabulary" not in g:
        g.vocabulary = load_vocabulary(get_db())
    return g.vocabulary


def close_db(exception: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(close_db)
