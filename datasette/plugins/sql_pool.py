"""Readers' own SQL runs on a thread of its own, under a shorter time limit; every time
limit is kept by a watchdog's interrupts.

Datasette runs every statement on one pool of `num_sql_threads` threads and keeps its
time limit with a Python progress handler that SQLite calls every 1,000 instructions, at
its jumps only. Three heavy `?sql=` queries took the three threads, and an ordinary
one-row JSON page waited 49.6 s behind them. Here:

- Datasette's `sqlite_timelimit` is replaced by Watchdog.time_limit: one thread calls
  `interrupt()` on a connection past its deadline (again every GRACE until the statement
  returns); SQLite sees it at its next jump, and no Python runs meanwhile (see there);
- a request that brings its own SQL (`sql=` on the database page, `_where=` on a table
  page) runs its statements on SQL_THREADS threads (named `registry-sql-...`, whose
  connections sql_limits.py holds to its strict figures), so the pages always have their
  threads and readers' SQL takes at most one core of the server's two;
- such a request has TIME_LIMIT_MS for all its statements together (a table page's facets
  would each have had a second of their own); Datasette's `_timelimit`, which may only
  lower the limit of each statement, is set to it when absent or larger;
- at most WAITING such requests are running or queued at once; the next one is answered
  429 "too many SQL queries" with Retry-After, before any work (a 4xx: the server is
  well, the readers asked too much; a 5xx would page whoever watches for faults).

Any request's `_timelimit` must be a whole number of milliseconds (Datasette 0.65 answered
`_timelimit=abc` with a 500).

One hook: an ASGI wrapper (which also gives Datasette its routing executor)."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qsl, urlencode

from datasette.utils.asgi import Request

from datasette import database, hookimpl

SQL_THREADS = "registry-sql"  # sql_limits.py gives these threads' connections its strict limits
THREADS = 1
TIME_LIMIT_MS = 1000
GRACE = 0.1  # seconds
WAITING = 4
READERS_SQL = {"sql", "_where"}
TIME_LIMIT_WORDS = "_timelimit must be a whole number of milliseconds, such as 500"
# When the request being served brings its own SQL: its deadline, set when its first statement
# starts (a list shared by the request's tasks; empty until then). All of a request's
# statements (a table page's rows, count and facets) share the one TIME_LIMIT_MS.
readers_sql: ContextVar[list[float] | None] = ContextVar("readers_sql", default=None)
local = threading.local()  # .budget: that deadline, on the thread running one of its statements


class Watchdog:
    """One thread that interrupts a connection whose statement is past its deadline."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.deadlines: dict[sqlite3.Connection, float] = {}
        threading.Thread(target=self.run, name="sql-watchdog", daemon=True).start()

    @contextmanager
    def time_limit(self, conn: sqlite3.Connection, ms: int) -> Iterator[None]:
        """Datasette's `sqlite_timelimit(conn, ms)`, kept by interrupting `conn` from this thread.

        Datasette's own installs a Python progress handler called every 1,000 SQLite
        instructions: a long statement takes the GIL 50,000 times a second, and the event
        loop, which serves every other request, then waited for it (a static file took 2 s
        behind three 1 s queries). An interrupt costs nothing until it is needed."""
        deadline = time.monotonic() + ms / 1000
        budget = getattr(local, "budget", None)
        if budget:
            deadline = min(deadline, budget[0])
        with self.changed:
            self.deadlines[conn] = deadline
            self.changed.notify()
        try:
            yield
        finally:
            with self.changed:
                del self.deadlines[conn]

    def run(self) -> None:
        with self.changed:
            while True:
                now = time.monotonic()
                for conn, deadline in self.deadlines.items():
                    if deadline <= now:
                        conn.interrupt()  # again every GRACE: one sent between two statements is lost
                        self.deadlines[conn] = now + GRACE
                self.changed.wait(min(self.deadlines.values(), default=now + 60) - now)


def with_budget(budget: list[float], fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run `fn`, a statement of a request bringing its own SQL, under the request's deadline (set at its first)."""
    if not budget:
        budget.append(time.monotonic() + TIME_LIMIT_MS / 1000)
    local.budget = budget
    try:
        return fn(*args, **kwargs)
    finally:
        local.budget = None


def in_place(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run `fn`; if it fails, free what its frames hold here, on the connection's own thread.

    A failed statement's exception carries its frames, and Datasette's frame holds the cursor.
    Freed later on the event loop, the cursor resets its statement, which waits (holding the
    GIL) for the connection's lock while this thread runs its next statement: every request
    of the server waited for that statement (a static file took 2 s behind three 1 s queries)."""
    try:
        return fn(*args, **kwargs)
    except BaseException as error:
        seen: set[int] = set()
        chained: BaseException | None = error
        while chained is not None and id(chained) not in seen:
            seen.add(id(chained))
            traceback.clear_frames(chained.__traceback__)
            chained = chained.__cause__ or chained.__context__
        raise


class RoutingExecutor(ThreadPoolExecutor):
    """Datasette's executor: pages on its pool, readers' SQL on SQL_THREADS threads."""

    def __init__(self, max_workers: int) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="registry-pages")
        self.sql = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix=SQL_THREADS)

    def submit(self, fn, /, *args, **kwargs) -> Future:
        budget = readers_sql.get()  # run_in_executor calls submit in the request's context
        if budget is None:
            return super().submit(in_place, fn, *args, **kwargs)
        return self.sql.submit(in_place, with_budget, budget, fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.sql.shutdown(wait, cancel_futures=cancel_futures)
        super().shutdown(wait, cancel_futures=cancel_futures)


def on_pages(refresh):
    """Datasette's schema check at the start of every request, run on the pages' threads.

    It is Datasette's own statement, and it lets an interruption out as a 500: not behind
    readers' SQL nor under their deadline."""

    async def refresh_schemas() -> None:
        token = readers_sql.set(None)
        try:
            await refresh()
        finally:
            readers_sql.reset(token)

    return refresh_schemas


def bad_time_limit(args: list[tuple[str, str]]) -> bool:
    return any(key == "_timelimit" and not (value.isascii() and value.isdigit()) for key, value in args)


def limited(args: list[tuple[str, str]]) -> bytes:
    """The query string with `_timelimit` at most TIME_LIMIT_MS."""
    asked = [int(v) for k, v in args if k == "_timelimit"]
    kept = [(k, v) for k, v in args if k != "_timelimit"]
    return urlencode([*kept, ("_timelimit", str(min([TIME_LIMIT_MS, *asked])))]).encode()


async def answer(datasette, scope, receive, send, status: int, message: str, headers=()) -> None:
    """A refusal as JSON to a .json request (and to one asking for JSON), else as the site's error page."""
    if scope.get("path", "").endswith(".json"):
        body = json.dumps({"ok": False, "error": message, "status": status}).encode()
        kind = b"application/json; charset=utf-8"
    else:
        context = {"ok": False, "error": message, "status": status, "title": "This query cannot be run now"}
        page = await datasette.render_template(
            "error.html", context, request=Request({"csrftoken": lambda: "", **scope}, receive)
        )
        body, kind = page.encode(), b"text/html; charset=utf-8"
    start = [(b"content-type", kind), *headers]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": body})


@hookimpl
def asgi_wrapper(datasette):
    if datasette.executor is not None and not isinstance(datasette.executor, RoutingExecutor):
        pool, datasette.executor = datasette.executor, RoutingExecutor(datasette.setting("num_sql_threads"))
        pool.shutdown(wait=False)
        database.sqlite_timelimit = Watchdog().time_limit  # Database.execute looks it up at each call
        datasette.refresh_schemas = on_pages(datasette.refresh_schemas)
    running = 0

    def wrap(app):
        async def guarded(scope, receive, send):
            nonlocal running
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            args = parse_qsl(scope.get("query_string", b"").decode("utf-8", "replace"), keep_blank_values=True)
            if bad_time_limit(args):
                await answer(datasette, scope, receive, send, 400, TIME_LIMIT_WORDS)
                return
            if not READERS_SQL & {key for key, _ in args}:
                await app(scope, receive, send)
                return
            if running >= WAITING:
                message = "Too many SQL queries are running: try again in a few seconds"
                await answer(datasette, scope, receive, send, 429, message, [(b"retry-after", b"2")])
                return
            running += 1
            token = readers_sql.set([])
            try:
                await app({**scope, "query_string": limited(args)}, receive, send)
            finally:
                readers_sql.reset(token)
                running -= 1

        return guarded

    return wrap
