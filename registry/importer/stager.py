"""Write an import's staging file: the rows an import makes, checked and matched, kept apart
from intake.db until every row has been read (registry.store.staging moves them in)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from registry.store import staging


class Stager:
    """Stages batches of rows into a new staging file at `path`. The file exists, with its
    tables, once this is made."""

    def __init__(self, path: Path) -> None:
        self.path = path
        staging.create_staging(path)
        self.conn = staging.connect_staging(path)

    def write(self, constants: dict[str, Any], rows: dict[str, list[tuple[Any, ...]]]) -> None:
        """Stage the import's constants and these rows (tuples of staging.STAGED columns)."""
        staging.stage_constants(self.conn, constants)
        for table, batch in rows.items():
            if batch:
                staging.stage_rows(self.conn, table, batch)

    def close(self) -> None:
        """Commit the staged rows, ready for the move (staging.close_staging)."""
        staging.close_staging(self.conn)

    def abandon(self) -> None:
        """Stop staging without finishing the file (the import failed)."""
        self.conn.close()
