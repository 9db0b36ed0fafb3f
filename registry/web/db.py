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
from registry.store.connection import DatabaseError, connect
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
    if app.config.get("REUSE_CONNECTIONS"):
        hold_shared_memory(app)


def hold_shared_memory(app: Flask) -> None:
    """Keep one connection to intake.db open for the worker's life.

    While any connection is open, intake.db's `-shm` and `-wal` files stay; when the last
    one closes SQLite deletes them, and on a full disk a new connection cannot create them
    again ("disk I/O error"). Measured under `registry serve` on a full 24 MB tmpfs: every
    page of the intake app, login included, answered 503 when the disk filled before a
    worker thread had opened its connection (issue 18, finding 5). Held open here, a full
    disk refuses writes only (507), and reviewers can still log in."""
    try:
        app.extensions["registry_intake_holder"] = connect(app.config["SETTINGS"].intake_db)
    except DatabaseError as e:  # a missing or unusable file: the first request says so
        app.logger.warning("intake.db not held open: %s", e)
