"""The intake app's home page: what the registry is, what it holds, where to read it."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from registry.store import public
from registry.store.connection import DatabaseError, connect

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> str:
    """Show what the registry is, its published counts and links into Datasette."""
    settings = current_app.config["SETTINGS"]
    try:
        db = connect(settings.registry_db, readonly=True)
    except DatabaseError:
        counts, unavailable = None, True
    else:
        try:
            counts, unavailable = public.published_counts(db), False
        finally:
            db.close()
    return render_template(
        "home.html",
        counts=counts,
        unavailable=unavailable,
        datasette=current_app.config["DATASETTE_URL"],
    )
