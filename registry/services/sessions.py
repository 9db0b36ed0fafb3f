"""Reviewer sessions: when one begins, whether it still holds, and ending it at logout.

A session is the signed cookie's content (`SessionCookie`): the account, a random
session id, the login time and the time of the last request. The server decides from
it, on every request, that the session is still within its absolute lifetime (from
login, REGISTRY_SESSION_HOURS) and its idle timeout (REGISTRY_SESSION_IDLE_MINUTES):
the cookie's own expiry only tells the browser when to drop it, and a copied cookie
carries the same times. Logging out records the session id in `ended_sessions`, so a
copy of the cookie replayed afterwards is refused.

Why a deny-list and not a row per live session: logging in then writes nothing, so a
full disk (finding 5 of issue 18: login answered 500 and nobody could get in to clean)
does not stop a reviewer logging in; logging out writes one small row. Checking a
request costs one statement with two primary-key lookups, in place of the account
lookup it replaces (docs/performance.md gives the figure)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from registry.store import sessions as session_store
from registry.store.writers import transaction

# The cookie's "seen" time is rewritten at most this often: a reviewer's every click need
# not change the cookie, and the idle timeout is counted in minutes anyway.
SEEN_RESOLUTION_SECONDS = 60


@dataclass(frozen=True)
class SessionPolicy:
    lifetime: float  # seconds from login
    idle: float  # seconds without a request; 0: no idle timeout


@dataclass(frozen=True)
class SessionCookie:
    """What a reviewer's signed session cookie holds (besides Flask-WTF's CSRF token)."""

    user_id: int
    session_id: str
    login: float
    seen: float

    KEYS = ("user_id", "session_id", "login", "seen")

    def as_dict(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "session_id": self.session_id, "login": self.login, "seen": self.seen}

    @classmethod
    def read(cls, values: Mapping[str, Any]) -> SessionCookie | None:
        """The session a cookie holds, or None when it holds none (or one of an older shape)."""
        user_id, session_id, login, seen = (values.get(key) for key in cls.KEYS)
        if not isinstance(user_id, int) or not isinstance(session_id, str):
            return None
        if not isinstance(login, int | float) or not isinstance(seen, int | float):
            return None
        return cls(user_id, session_id, float(login), float(seen))


def begin(user_id: int, now: float) -> SessionCookie:
    """A new session (a new id at each login: no session fixation). Writes nothing."""
    return SessionCookie(user_id, secrets.token_urlsafe(32), now, now)


def expired(cookie: SessionCookie, now: float, policy: SessionPolicy) -> bool:
    """Past its absolute lifetime or its idle timeout (or dated in the future)."""
    if now >= cookie.login + policy.lifetime or cookie.login > now + SEEN_RESOLUTION_SECONDS:
        return True
    return bool(policy.idle) and now >= cookie.seen + policy.idle


def resume(
    db: sqlite_utils.Database, cookie: SessionCookie, now: float, policy: SessionPolicy
) -> dict[str, Any] | None:
    """The account of a session that still holds, else None (expired, ended, account gone)."""
    if expired(cookie, now, policy):
        return None
    account = session_store.account_of_session(db, cookie.user_id, cookie.session_id)
    if account is None or account.pop("ended"):
        return None
    return account


def touched(cookie: SessionCookie, now: float) -> SessionCookie | None:
    """The cookie with this request as its last activity, when that is worth rewriting it."""
    if now - cookie.seen < SEEN_RESOLUTION_SECONDS:
        return None
    return SessionCookie(cookie.user_id, cookie.session_id, cookie.login, now)


def end(db: sqlite_utils.Database, cookie: SessionCookie, now: float, policy: SessionPolicy) -> None:
    """End a session for good: its cookie, or any copy of it, is refused from now on."""
    with transaction(db):
        session_store.forget_expired(db, _iso(now))
        session_store.end_session(
            db, cookie.session_id, cookie.user_id, _iso(now), _iso(cookie.login + policy.lifetime)
        )


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
