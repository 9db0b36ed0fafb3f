"""The intake database and its vocabulary for the app's requests.

Each request uses one connection to intake.db, on `g`. Under `registry serve` (the
REUSE_CONNECTIONS setting) each worker thread keeps its connection between requests:
opening one and closing the last one (which checkpoints the WAL) cost more than a
submission's own writes; and they checkpoint the WAL after their transactions, not inside
them (`checkpoint_outside_the_queue`). A request that ends inside a transaction has it
rolled back."""

from __future__ import annotations

import threading

import sqlite_utils
from flask import Flask, current_app, g

from registry.rules.fields import Vocabulary
from registry.store.connection import connect
from registry.store.vocabulary import load_vocabulary
from registry.store.writers import checkpoint_outside_the_queue


def get_db() -> sqlite_utils.Database:
    """Return this request's connection to intake.db."""
    if "db" not in g:
        settings = current_app.config["SETTINGS"]
        if current_app.config.get("REUSE_CONNECTIONS"):
            kept = current_app.extensions.setdefault("registry_connections", threading.local())
            if getattr(kept, "db", None) is None:
                kept.db = connect(settings.intake_db, max_mb=settings.max_db_mb)
                checkpoint_outside_the_queue(kept.db)
            g.db = kept.db
        else:
            g.db = connect(settings.intake_db, max_mb=settings.max_db_mb)
    return g.db


def get_vocabulary() -> Vocabulary:
    """Return the controlled vocabularies, read once per request."""
    if "vocabulary" not in g:
        g.vocabulary = load_vocabulary(get_db())
    return g.vocabulary


def close_db(exception: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is None:
        return
    if current_app.config.get("REUSE_CONNECTIONS"):
        if db.conn.in_transaction:
            db.conn.rollback()
    else:
        db.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(close_db)
