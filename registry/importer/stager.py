"""Write an import's staging file, from a second process for a large file.

Binding each value of the 2.7 million rows a million-row list makes takes SQLite's Python
module as long as a third of the reading and checking, and it holds the GIL while it does
(a thread would not help). So for a large file the importer sends its batches of row
tuples, marshalled, down a pipe to a child process that stages them (registry.store.staging)
while the next rows are read: two cores instead of one, neither waiting for the other
unless the pipe is full. A small file is staged in the importer's own process, which is
quicker than starting another interpreter. The child ends when the pipe closes without a
last message (the importer failed or was killed): the half-written file is left to the
clean-up of unfinished imports."""

from __future__ import annotations

import marshal
import sqlite3
import struct
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

from registry.store import staging
from registry.store.connection import DatabaseError

SEPARATE_FROM = 8 * 1024 * 1024  # bytes of a file from which its rows are staged by a second process
HEADER = struct.Struct("<Q")  # the length of the marshalled message that follows


class StagingError(DatabaseError):
    """The staging process failed (a full disk, say); the message is its error."""


class Stager:
    """Stages batches of rows into a new staging file at `path`: in this process, or by a child
    process when `separate`. The file exists, with its tables, once this is made."""

    def __init__(self, path: Path, *, separate: bool) -> None:
        self.path = path
        staging.create_staging(path)
        self.conn: sqlite3.Connection | None = None
        self.process: subprocess.Popen[bytes] | None = None
        if separate:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "registry.importer.stager", str(path)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        else:
            self.conn = staging.connect_staging(path)

    def write(self, constants: dict[str, Any], rows: dict[str, list[tuple[Any, ...]]]) -> None:
        """Stage the import's constants and these rows (tuples of staging.STAGED columns)."""
        if self.conn is not None:
            _stage(self.conn, constants, rows)
        else:
            self._send(("rows", constants, {table: batch for table, batch in rows.items() if batch}))

    def close(self) -> None:
        """Commit the staged rows, ready for the move (staging.close_staging)."""
        if self.conn is not None:
            staging.close_staging(self.conn)
            return
        self._send(("close", None, None))
        _, error = self._child.communicate()
        if self._child.returncode != 0:
            raise self._failed(error)

    def abandon(self) -> None:
        """Stop staging, if it has not ended, without finishing the file (the import failed)."""
        if self.conn is not None:
            self.conn.close()
        elif self.process is not None and self.process.returncode is None:
            self.process.kill()
            self.process.communicate()

    def _send(self, message: tuple[str, Any, Any]) -> None:
        data = marshal.dumps(message)
        pipe = self._child.stdin
        assert pipe is not None  # opened with stdin=PIPE
        try:
            pipe.write(HEADER.pack(len(data)))
            pipe.write(data)
            pipe.flush()
        except BrokenPipeError as e:  # the process ended: its error says why
            _, error = self._child.communicate()
            raise self._failed(error) from e

    def _failed(self, error: bytes) -> StagingError:
        lines = error.decode(errors="replace").strip().splitlines()
        return StagingError(
            f"staging the rows in {self.path.name} failed: {lines[-1] if lines else self._child.returncode}"
        )

    @property
    def _child(self) -> subprocess.Popen[bytes]:
        """The staging process (only when staging by a second process)."""
        assert self.process is not None, "staged in this process"
        return self.process


def _stage(conn: sqlite3.Connection, constants: dict[str, Any], rows: dict[str, list[tuple[Any, ...]]]) -> None:
    staging.stage_constants(conn, constants)
    for table, batch in rows.items():
        staging.stage_rows(conn, table, batch)


def _receive(source: IO[bytes]) -> tuple[str, Any, Any] | None:
    header = source.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (length,) = HEADER.unpack(header)
    data = source.read(length)
    return marshal.loads(data) if len(data) == length else None  # noqa: S302 (from the importer that started us)


def serve(path: Path, source: IO[bytes]) -> bool:
    """The child's side: stage what arrives from `source` into the staging file at `path`; True
    once closed, False if `source` ended first."""
    conn = staging.connect_staging(path)
    try:
        while (message := _receive(source)) is not None:
            kind, constants, rows = message
            if kind == "close":
                staging.close_staging(conn)
                return True
            _stage(conn, constants, rows)
        return False
    finally:
        conn.close()


def main(argv: list[str]) -> int:
    try:
        return 0 if serve(Path(argv[1]), sys.stdin.buffer) else 1
    except sqlite3.Error as e:  # a full disk, say: one line for the importer to report
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
