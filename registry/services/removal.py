"""A rejected import's rows, removed after the decision on a thread of their own.

Rejecting an import of a million rows must not keep the reviewer's request (and an intake
worker) busy while its rows go: the request records the decision and the note that rows
remain (`$.import.removing`, registry.services.approval.record_rejection), starts this
thread and redirects. The thread removes the rows in short write transactions that let
other writers in (registry.store.imports.finish_removal), writing its progress for the
review page. It holds the import lock meanwhile, as an import does: no import is written
over a half-removed one, and `imports.clean_up` (run by `registry init`, `registry serve`
and `registry clean`) leaves it alone while it runs. If the process dies, the lock goes with
it and the next of those finishes the removal: the note stays until the last row is gone.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

from registry.store import imports
from registry.store.connection import DatabaseError, connect

logger = logging.getLogger(__name__)


def start(intake_db: Path, submission_id: int) -> threading.Thread:
    """Remove a rejected import's rows on a new thread; return it (tests wait on it)."""
    thread = threading.Thread(
        target=remove_rejected, args=(intake_db, submission_id), name=f"removal-{submission_id}", daemon=True
    )
    thread.start()
    return thread


def remove_rejected(intake_db: Path, submission_id: int) -> bool:
    """Remove the rows of a rejected import unless another process holds the import lock
    (an import or a clean-up, which finishes it); True if this call removed them."""
    with imports.import_lock(intake_db) as taken:
        if not taken:
            return False
        try:
            db = connect(intake_db)
            try:
                imports.tune_for_bulk(db)  # its deletes touch every index of the tables at random places
                imports.finish_removal(db, submission_id)
            finally:
                db.close()
        except (DatabaseError, sqlite3.Error):
            # The note stays: `registry clean` (every few minutes under `registry serve`) finishes it.
            logger.exception("removing the rows of rejected import %s stopped", submission_id)
            return False
    return True
