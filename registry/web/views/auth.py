"""Login and logout for reviewers; who is logged in; who may review."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from registry.services.accounts import authenticate
from registry.store import submissions as submission_store
from registry.web.db import get_db
from registry.web.forms.review import LoginForm, LogoutForm
from registry.web.ratelimit import limiter, login_account, login_account_limit, login_limit

bp = Blueprint("auth", __name__)


@bp.before_app_request
def load_user() -> None:
    user_id = session.get("user_id")
    g.user = submission_store.user_by_id(get_db(), user_id) if user_id else None


def reviewer_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Let reviewers and admins in; send others to the login page."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.user is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if g.user["role"] not in ("reviewer", "admin"):
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def safe_next(target: str | None) -> str:
    """Only a path on this site; anything else (another host, //host, a scheme, characters
    a browser strips or turns into a slash: tabs, newlines, backslashes) goes to the queue."""
    if not target or not target.startswith("/") or any(c.isspace() or c == "\\" or ord(c) < 32 for c in target):
        return url_for("review.queue")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return url_for("review.queue")
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"], scope="login-address")
@limiter.limit(login_account_limit, methods=["POST"], key_func=login_account, scope="login-account")
def login() -> str | Response:
    form = LoginForm()
    if form.validate_on_submit():
        assert form.name.data is not None and form.password.data is not None  # DataRequired
        user = authenticate(get_db(), form.name.data, form.password.data)
        if user is not None:
            session.clear()  # a new session id on login: no session fixation
            session["user_id"] = user["id"]
            session.permanent = True
            return redirect(safe_next(request.args.get("next")), 303)
        form.password.errors = ["Wrong account name or password."]
    return render_template("login.html", form=form)


@bp.post("/logout")
def logout() -> Response:
    if LogoutForm().validate_on_submit():
        session.clear()
        flash("Logged out.")
    return redirect(url_for("home.index"), 303)
