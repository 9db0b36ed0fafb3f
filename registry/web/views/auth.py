"""Login and logout for reviewers; who is logged in; who may review.

The rules of a session (lifetime, idle timeout, ending it) are in
registry/services/sessions.py, those of login throttling in registry/web/throttle.py."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from registry.services import sessions
from registry.services.accounts import authenticate
from registry.web import throttle
from registry.web.db import get_db
from registry.web.forms.review import LoginForm, LogoutForm
from registry.web.ratelimit import limiter, login_account, login_account_limit, login_limit

bp = Blueprint("auth", __name__)


def now() -> float:
    """The time sessions are judged by (the CLOCK setting, which tests move)."""
    return float(current_app.config["CLOCK"]())


def policy() -> sessions.SessionPolicy:
    return sessions.SessionPolicy(
        lifetime=current_app.permanent_session_lifetime.total_seconds(),
        idle=current_app.config["SESSION_IDLE_TIMEOUT"].total_seconds(),
    )


def forget_session() -> None:
    """Drop the reviewer's session from the cookie, keeping its CSRF token (a form
    posted after the session ended then goes to the login page, not "The form expired")."""
    for key in sessions.SessionCookie.KEYS:
        session.pop(key, None)
    session.permanent = False


@bp.before_app_request
def load_user() -> None:
    g.user, g.session_cookie = None, sessions.SessionCookie.read(session)
    if g.session_cookie is None:
        if "user_id" in session:  # a cookie of an older shape, with no session id: over
            forget_session()
        return
    g.user = sessions.resume(get_db(), g.session_cookie, now(), policy())
    if g.user is None:
        forget_session()
    elif touched := sessions.touched(g.session_cookie, now()):
        session.update(touched.as_dict())


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
@limiter.limit(
    login_limit,
    methods=["POST"],
    scope="login-address",
    exempt_when=throttle.known_device,
    on_breach=throttle.refusal("address"),
)
@limiter.limit(
    login_account_limit,
    methods=["POST"],
    key_func=login_account,
    scope="login-account",
    exempt_when=throttle.known_device,
    on_breach=throttle.refusal("account"),
)
@limiter.limit(
    throttle.login_device_limit,
    methods=["POST"],
    key_func=throttle.device_key,
    scope="login-device",
    exempt_when=throttle.unknown_device,
    on_breach=throttle.refusal("device"),
)
def login() -> str | Response:
    form = LoginForm()
    if form.validate_on_submit():
        assert form.name.data is not None and form.password.data is not None  # DataRequired
        user = authenticate(get_db(), form.name.data, form.password.data)
        if user is not None:
            session.clear()  # a new session id on login: no session fixation
            session.update(sessions.begin(user["id"], now()).as_dict())
            session.permanent = True
            response = redirect(safe_next(request.args.get("next")), 303)
            throttle.remember_device(response, user["name"])
            return response
        form.password.errors = ["Wrong account name or password."]
    return render_template("login.html", form=form)


@bp.post("/logout")
def logout() -> Response:
    if LogoutForm().validate_on_submit():
        cookie = g.session_cookie if g.user is not None else None
        session.clear()  # the browser's copy goes even if recording the end fails (full disk)
        if cookie is not None:
            sessions.end(get_db(), cookie, now(), policy())
        flash("Logged out.")
    return redirect(url_for("home.index"), 303)
