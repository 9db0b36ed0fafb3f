"""Rate limits: Flask-Limiter, with its counters in a small SQLite file every worker shares.

`limits` (the library under Flask-Limiter) ships stores for Redis, Memcached and MongoDB,
and an in-memory one that each worker process would keep to itself. The registry runs
without a server of that kind, so this module gives `limits` one more store: fixed-window
counters in `instance/ratelimit.db` (WAL, one short write statement per hit), which
all of gunicorn's workers see. Set REGISTRY_RATELIMIT_STORAGE to a `limits` URI
(e.g. `redis://localhost:6379`) to use another store.

When the store fails (a full disk: SQLITE_FULL; a Redis server gone), the counters go on
in each worker's memory (Flask-Limiter's in-memory fallback) until the store answers
again: limits still hold, per worker process instead of for all of them. Failing open
would let anyone guess passwords on a full disk; failing closed (a 500 to every limited
request) locked reviewers out when 7 uploads filled the disk (issue 18, finding 5), so
nobody could get in to clean up. A post that then cannot be stored is answered 507 by
the write that fails, not by the limiter.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from flask import Flask, current_app, render_template, request
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address
from limits.storage import Storage

SCHEME = "registry-sqlite"
logger = logging.getLogger(__name__)


class SQLiteStorage(Storage):
    """Fixed-window counters in a SQLite file: `registry-sqlite:///path/to/ratelimit.db`."""

    STORAGE_SCHEME = [SCHEME]  # noqa: RUF012 (limits' registry reads a list)

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = Path(uri.removeprefix(f"{SCHEME}://"))
        self.local = threading.local()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._create()
        except sqlite3.Error as e:  # a full disk at start: the limiter falls back to memory, and retries
            logger.error("rate-limit counters: cannot create %s (%s); counting in memory meanwhile", self.path.name, e)

    def _create(self) -> None:
        with self._connection() as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, hits INTEGER, expires REAL)")

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            conn.execute("PRAGMA synchronous = NORMAL")  # counters need not survive a power cut
            self.local.conn = conn
        return conn

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Count a hit in the key's window (a new window if the last one expired): one
        statement, so one short write transaction, whatever the number of workers."""
        now = time.time()
        conn = self._connection()
        ((hits,),) = conn.execute(
            "INSERT INTO counters (key, hits, expires) VALUES (:key, :amount, :expires) "
            "ON CONFLICT (key) DO UPDATE SET "
            "hits = CASE WHEN expires <= :now THEN :amount ELSE hits + :amount END, "
            "expires = CASE WHEN expires <= :now THEN :expires ELSE expires END "
            "RETURNING hits",
            {"key": key, "amount": amount, "expires": now + expiry, "now": now},
        ).fetchall()  # all: the statement ends (and commits) here
        if hits == amount:  # a new window: forget the expired counters of others too
            conn.execute("DELETE FROM counters WHERE expires <= ?", [now])
        return hits

    def get(self, key: str) -> int:
        row = (
            self._connection()
            .execute("SELECT hits FROM counters WHERE key = ? AND expires > ?", [key, time.time()])
            .fetchone()
        )
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._connection().execute("SELECT expires FROM counters WHERE key = ?", [key]).fetchone()
        return row[0] if row else time.time()

    def check(self) -> bool:
        """Whether counters can be written again (Flask-Limiter asks while it counts in
        memory): a read would succeed on a full disk, so count a probe hit."""
        try:
            self._create()
            self.incr("registry-storage-check", 1)
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        cursor = self._connection().execute("DELETE FROM counters")
        return cursor.rowcount

    def clear(self, key: str) -> None:
        self._connection().execute("DELETE FROM counters WHERE key = ?", [key])


def too_many_requests(error: Any) -> Any:
    """429: say what was limited and when to try again (Flask-Limiter adds Retry-After),
    or the page a limit made for itself (`on_breach`: the login limits, web/throttle.py)."""
    if getattr(error, "response", None) is not None:
        return error.response
    limit: RequestLimit | None = getattr(error, "limit", None)
    breached = limiter.current_limit  # the limit this request broke, with when it resets
    wait = wait_words(breached.reset_at - time.time()) if breached is not None else None
    return render_template("too_many.html", limit=str(limit.limit) if limit else None, wait=wait), 429


def wait_words(seconds: float) -> str:
    """How long to wait, in words: "30 seconds", "about 4 minutes", "about 2 hours"."""
    seconds = max(1, math.ceil(seconds))
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    if seconds < 90 * 60:
        return f"about {round(seconds / 60)} minutes"
    return f"about {round(seconds / 3600)} hours"


def submit_limit() -> str:
    return current_app.config["SETTINGS"].submit_limit


def mapping_limit() -> str:
    return current_app.config["SETTINGS"].mapping_limit


def preview_limit() -> str:
    return current_app.config["SETTINGS"].preview_limit


def login_limit() -> str:
    return current_app.config["SETTINGS"].login_limit


def login_account_limit() -> str:
    return current_app.config["SETTINGS"].login_account_limit


def login_account() -> str:
    """The account name a login form names (rate-limited apart from the address)."""
    return "account:" + (request.form.get("name") or "").strip().casefold()[:200]


limiter = Limiter(
    key_func=get_remote_address, headers_enabled=True, strategy="fixed-window", in_memory_fallback_enabled=True
)


def init_app(app: Flask) -> None:
    settings = app.config["SETTINGS"]
    app.config.setdefault("RATELIMIT_STORAGE_URI", settings.ratelimit_storage)
    app.config.setdefault("RATELIMIT_ENABLED", True)
    limiter.init_app(app)
    app.register_error_handler(429, too_many_requests)
