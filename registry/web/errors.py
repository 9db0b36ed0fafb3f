"""Error pages: a short, generic page for every error; never a stack trace or an internal name."""

from __future__ import annotations

from flask import Flask, current_app, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from registry.store.connection import DatabaseError, StorageFullError

# What a reader is told, per status; the exception's own text is never shown.
MESSAGES = {
    400: ("Bad request", "The request was not understood. Go back, reload the page and try again."),
    403: ("Not allowed", "Your account may not open this page."),
    404: ("Not found", "Nothing here. The address may be mistyped, or the page was removed."),
    405: ("Method not allowed", "This address does not accept that kind of request."),
    429: ("Too many requests", "Too many requests from you in a short time. Wait a little and try again."),
    500: ("Something went wrong", "The registry could not answer. Nothing you sent was half-stored; try again later."),
}


def render_error(status: int, title: str | None = None, message: str | None = None) -> tuple[str, int]:
    default_title, default_message = MESSAGES.get(status, (f"Error {status}", "The request could not be answered."))
    return render_template(
        "error.html", status=status, title=title or default_title, message=message or default_message
    ), status


def http_error(error: HTTPException) -> tuple[str, int]:
    return render_error(error.code or 500)


def csrf_error(error: CSRFError) -> tuple[str, int]:
    return render_error(
        400,
        "The form expired",
        "The form's security token (CSRF) was missing, wrong or too old, so nothing was stored. "
        "Go back, reload the page and send it again.",
    )


def internal_error(error: InternalServerError) -> tuple[str, int]:
    original = getattr(error, "original_exception", None)
    if original is not None:
        current_app.logger.error("Unhandled error", exc_info=original)
    return render_error(500)


def database_unavailable(error: DatabaseError) -> tuple[str, int]:
    """The databases are missing or unreadable: say what to run, not a stack trace."""
    return render_template("unavailable.html"), 503


def storage_full(error: StorageFullError) -> tuple[str, int]:
    """The disk is full: nothing was stored; say so plainly."""
    current_app.logger.error("Disk full: %s", error)
    return render_error(
        507,
        "The registry is out of space",
        "The server's disk is full, so nothing you sent was stored. Please try again later; "
        "the operators have been told.",
    )


def too_large(error: Exception) -> tuple[str, int]:
    """An upload over the limit: say so, and what to do instead."""
    limit = current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
    return render_template("too_large.html", limit=limit), 413


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(CSRFError, csrf_error)
    app.register_error_handler(InternalServerError, internal_error)
    app.register_error_handler(DatabaseError, database_unavailable)
    app.register_error_handler(StorageFullError, storage_full)
    app.register_error_handler(413, too_large)
