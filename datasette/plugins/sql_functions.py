"""SQLite's functions that could do more than linear work on one call, made linear.

No jump happens inside a function call, so neither Datasette's time limit nor an
interrupt stops one (sql_limits.py explains why that bounds a row's work by the work of
one call). Three of SQLite 3.40's functions do much more than read their input:

- `instr(X, Y)` and `replace(X, Y, Z)` compare Y at every position of X: 0.3 s a call for a
  256 KB X and a 128 KB Y that matches until its last character. On texts (and blobs) they
  run here in Python, whose search is linear (CPython's two-way search), about 1 µs a call
  more than SQLite's own on short values;
- `printf('%.*c', N, 'x')` (and `format`, its other name) writes its N characters one
  at a time without looking at the length limit: 3.4 s and nothing returned for
  N = 2,147,483,647. A width or a precision larger than the length limit would make a
  value longer than the limit anyway, so the call gets SQLite's own "string or blob too
  big"; other calls are run by SQLite, on an in-memory connection of the same limit.

Numbers, NULLs and short mixes of text and blob go to SQLite's own functions (on that
in-memory connection), so results are SQLite's to the character.

One hook: prepare_connection."""

from __future__ import annotations

import re
import sqlite3
import threading
from typing import Any

from datasette import hookimpl

SHORT = 4096  # characters: below this SQLite's quadratic worst case is microseconds
SPEC = re.compile(r"%(?:[-+ 0#,!]*)(\*|\d+)?(?:\.(\*|\d*))?l{0,2}([a-zA-Z%])")
BOUNDED_BY_PRECISION = set("sqQwz")  # for these a precision is a maximum, not a length
local = threading.local()


def sqlite_of(conn: sqlite3.Connection) -> sqlite3.Connection:
    """This thread's in-memory connection with `conn`'s length limit, to run SQLite's own functions."""
    memory = getattr(local, "memory", None)
    if memory is None:
        memory = local.memory = sqlite3.connect(":memory:")
    memory.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, conn.getlimit(sqlite3.SQLITE_LIMIT_LENGTH))
    return memory


def builtin(conn: sqlite3.Connection, name: str, args: tuple) -> Any:
    marks = ", ".join("?" * len(args))
    return sqlite_of(conn).execute(f"select {name}({marks})", args).fetchone()[0]


def too_big(conn: sqlite3.Connection) -> bytes:
    """A value one byte over the limit: SQLite answers it with its own "string or blob too big"."""
    return bytes(conn.getlimit(sqlite3.SQLITE_LIMIT_LENGTH) + 1)


def as_text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def same_kind(*values: Any) -> bool:
    """Whether the values are all texts or all blobs: Python's search is then SQLite's, made linear."""
    return all(isinstance(v, str) for v in values) or all(isinstance(v, bytes) for v in values)


def long_text(*values: Any) -> bool:
    """Whether the values are texts or blobs, one of them long enough to need the linear path."""
    return all(isinstance(v, (str, bytes)) for v in values) and any(len(v) > SHORT for v in values)


def instr(conn: sqlite3.Connection):
    def run(haystack: Any, needle: Any) -> Any:
        if same_kind(haystack, needle):
            return haystack.find(needle) + 1
        if long_text(haystack, needle):  # a text and a blob: SQLite reads both as text
            return as_text(haystack).find(as_text(needle)) + 1
        return builtin(conn, "instr", (haystack, needle))

    return run


def replace(conn: sqlite3.Connection):
    def run(text: Any, old: Any, new: Any) -> Any:
        if not (all(isinstance(v, str) for v in (text, old, new)) or long_text(text, old, new)):
            return builtin(conn, "replace", (text, old, new))
        if not old:
            return text  # SQLite gives X back as it is
        limit = conn.getlimit(sqlite3.SQLITE_LIMIT_LENGTH)
        text, old, new = as_text(text), as_text(old), as_text(new)
        if len(new) > len(old) and len(text) + text.count(old) * (len(new) - len(old)) > limit:
            return too_big(conn)  # never build more than the limit
        return text.replace(old, new)

    return run


def printf(conn: sqlite3.Connection):
    def run(*args: Any) -> Any:
        if (
            args
            and isinstance(args[0], str)
            and oversized(args[0], args[1:], conn.getlimit(sqlite3.SQLITE_LIMIT_LENGTH))
        ):
            return too_big(conn)
        return builtin(conn, "printf", args)

    return run


def oversized(template: str, args: tuple, limit: int) -> bool:
    """Whether a width or precision of `template` (`*`: the next argument) asks for more than `limit` characters."""
    position = 0
    for width, precision, kind in SPEC.findall(template):
        asked = []
        for part in (width, precision):
            if part == "*":
                value = args[position] if position < len(args) else 0
                position += 1
                asked.append(whole(value))
            else:
                asked.append(int(part) if part else 0)
        if kind != "%":
            position += 1
        if asked[0] > limit or (kind not in BOUNDED_BY_PRECISION and asked[1] > limit):
            return True
    return False


def whole(value: Any) -> int:
    """The number SQLite's printf() takes from an argument for a `*`: 1e8 and '1e8' are 100,000,000 too."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0
    if number != number:  # nan
        return 0
    return int(min(abs(number), 2**31))  # inf: as large as SQLite reads


@hookimpl
def prepare_connection(conn):
    conn.create_function("instr", 2, instr(conn))
    conn.create_function("replace", 3, replace(conn))
    conn.create_function("printf", -1, printf(conn))
    conn.create_function("format", -1, printf(conn))
