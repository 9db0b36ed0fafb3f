"""The intake app's home page: what the registry is, what it holds, where to read it."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, send_file

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


@bp.get("/registry.css")
def stylesheet() -> Response:
    """The public site's stylesheet (datasette/static/registry.css), one file for both apps'
    single look, served from this app's own host (no page asks another host for anything)."""
    settings = current_app.config["SETTINGS"]
    return send_file(settings.datasette_dir / "static" / "registry.css", mimetype="text/css", max_age=300)
