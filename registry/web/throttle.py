"""Login throttling that slows guessing without letting a stranger lock a reviewer out.

OWASP's device cookies ("Slow Down Online Guessing Attacks with Device Cookies"): a
browser that has logged in to an account gets a signed, long-lived device cookie naming
that account. A login attempt for that account from that browser is a *known device*:
it is counted against the device's own allowance (REGISTRY_LOGIN_DEVICE_LIMIT) and no
other. Every other attempt is an *unknown device*: counted per address
(REGISTRY_LOGIN_LIMIT) and per account from all unknown devices together
(REGISTRY_LOGIN_ACCOUNT_LIMIT).

So a stranger with any number of addresses gets 20 guesses an hour at an account
(the account limit) and can, at worst, stop that account logging in from browsers it has
never logged in from; the reviewer's own browsers still get in (before, five wrong
passwords from anywhere locked the account for everyone: finding 8 of issue 18). A
device cookie cannot be forged without the secret key, and a stolen one gives its own
allowance, for one account, and no more.

The counters live in the rate limiter's store (ratelimit.db), never in intake.db: a
failed login writes nothing there.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from flask import Response as FlaskResponse
from flask import current_app, g, make_response, request, url_for
from flask_limiter import RequestLimit
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from registry.web.errors import render_error

DEVICE_COOKIE = "registry_device"
DEVICE_DAYS = 180  # a browser not used to log in for this long is a stranger again
_SALT = "registry-login-device"


def login_device_limit() -> str:
    return current_app.config["SETTINGS"].login_device_limit


def posted_account() -> str:
    """The account a login form names, as the account limit counts it."""
    return (request.form.get("name") or "").strip().casefold()[:200]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt=_SALT)


def _device() -> dict[str, Any] | None:
    """This browser's device cookie, if it carries a valid signature, else None."""
    if "login_device" not in g:
        value: Any = None
        token = request.cookies.get(DEVICE_COOKIE)
        if token:
            try:
                value = _serializer().loads(token, max_age=DEVICE_DAYS * 86400)
            except BadSignature:  # forged, altered, too old or signed with another key
                value = None
        ok = isinstance(value, dict) and isinstance(value.get("account"), str) and isinstance(value.get("nonce"), str)
        g.login_device = value if ok else None
    return g.login_device


def known_device() -> bool:
    """This browser has logged in before to the account the form names."""
    device = _device()
    return device is not None and device["account"] == posted_account()


def unknown_device() -> bool:
    return not known_device()


def device_key() -> str:
    """The known device's own counter (only asked for when `known_device()`)."""
    device = _device()
    return "device:" + (device["nonce"] if device else "none")


def remember_device(response: Response, account: str) -> None:
    """Mark this browser as a known device of `account` (after a right password)."""
    device = _device()
    account = account.strip().casefold()
    same = device is not None and device["account"] == account
    nonce = device["nonce"] if same and device else secrets.token_urlsafe(16)
    response.set_cookie(
        DEVICE_COOKIE,
        _serializer().dumps({"account": account, "nonce": nonce}),
        max_age=DEVICE_DAYS * 86400,
        path=url_for("auth.login"),  # sent with login requests only
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        httponly=True,
        samesite="Strict",
    )


# What each login limit tells the person refused (Flask-Limiter still adds Retry-After).
# The same words whether or not the account exists, so they reveal no account names.
_REFUSALS = {
    "address": "Too many login attempts from your address. Wait a little and try again.",
    "account": (
        "Too many login attempts for this account from browsers that have not logged in to it "
        "before. Wait a little, or log in from a browser you have used for it."
    ),
    "device": "Too many wrong passwords from this browser. Wait a little and try again.",
}


def refusal(kind: str) -> Callable[[RequestLimit], FlaskResponse]:
    """The 429 page of one login limit (`on_breach`)."""

    def refuse(limit: RequestLimit) -> FlaskResponse:
        return make_response(render_error(429, "Too many login attempts", _REFUSALS[kind]))

    return refuse
