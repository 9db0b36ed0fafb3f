"""Imports started from the web run in a background thread; the page polls their progress."""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from registry.importer.mapping import MappingError
from registry.importer.readers import ReadError
from registry.importer.run import ImportFailed
from registry.importer.service import ImportResult
from registry.store.database import DatabaseError
from registry.validation import ValidationError

# Failures a contributor can act on; anything else is a bug and is logged as such.
EXPECTED = (ImportFailed, ReadError, MappingError, ValidationError, DatabaseError)


@dataclass
class Job:
    id: str
    kind: str  # "preview" or "submit"
    upload: str
    rows: int = 0
    state: str = "running"  # running, done, failed
    result: ImportResult | None = None
    error: str | None = None
    failure: ImportFailed | None = None
    extra: dict[str, Any] = field(default_factory=dict)


logger = logging.getLogger(__name__)
_jobs: dict[str, Job] = {}
_lock = threading.Lock()


def start(kind: str, upload: str, work: Callable[[Callable[[int], None]], ImportResult]) -> Job:
    """Run `work(progress)` in a thread; return the job to poll."""
    job = Job(secrets.token_urlsafe(12), kind, upload)
    with _lock:
        _jobs[job.id] = job

    def progress(rows: int) -> None:
        job.rows = rows

    def target() -> None:
        try:
            job.result = work(progress)
            job.state = "done"
        except ImportFailed as e:
            job.failure, job.error, job.state = e, str(e), "failed"
        except EXPECTED as e:
            job.error, job.state = str(e), "failed"
        except Exception as e:  # a bug: the page must still end, and the log keeps the trace
            logger.exception("import job %s failed", job.id)
            job.error, job.state = (
                f"an unexpected error stopped the import ({type(e).__name__}); nothing was stored",
                "failed",
            )

    threading.Thread(target=target, name=f"import-{job.id}", daemon=True).start()
    return job


def get(job_id: str) -> Job | None:
    with _lock:
        return _jobs.get(job_id)
