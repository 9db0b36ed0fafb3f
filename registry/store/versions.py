"""Whether a database file changed since a value was computed from it: SQLite's
`PRAGMA data_version`, which changes whenever another connection commits.

Values from two connections cannot be compared, so every cache kept per version of a file
(Datasette's plugins: counted_facets' cubes and codes, csv_stream's column scans) asks the
same read-only connection, one per file, here."""

from __future__ import annotations

import sqlite3
import threading

_connections: dict[str, sqlite3.Connection] = {}
_lock = threading.Lock()


def data_version(path: str) -> int:
    """The file's data version as this process's connection to it sees it now."""
    with _lock:
        conn = _connections.get(path)
        if conn is None:
            conn = _connections[path] = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        return conn.execute("PRAGMA data_version").fetchone()[0]
