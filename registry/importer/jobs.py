"""Imports started from the web run in a background thread; the page polls their progress.

The intake app runs as several worker processes, and the page that polls may be answered
by another worker than the one running the import: so each job's state is also kept in a
file (`uploads/jobs/<id>.pickle`, written by this module only), updated as rows are read
and when the job ends. A job whose process died (a restart, a kill) is reported failed.
"""

from __future__ import annotations

import errno
import logging
import os
import pickle
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from registry.importer.mapping import MappingError
from registry.importer.readers import ReadError
from registry.importer.run import ImportFailed, ImportReport
from registry.importer.service import ImportResult
from registry.importer.uploads import private_file
from registry.rules.fields import ValidationError
from registry.store.connection import DatabaseError, StorageFullError

# Failures a contributor can act on; anything else is a bug and is logged as such.
EXPECTED = (ImportFailed, ReadError, MappingError, ValidationError, DatabaseError)
SAVE_EVERY = 0.5  # seconds between two saves of a running job's progress


@dataclass
class Job:
    id: str
    kind: str  # "preview" or "submit"
    upload: str
    rows: int = 0
    state: str = "running"  # running, done, failed
    result: ImportResult | None = None
    error: str | None = None
    failure_report: ImportReport | None = None  # the errors of an import that stored nothing
    pid: int = field(default_factory=os.getpid)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def report(self) -> ImportReport | None:
        return self.result.report if self.result else self.failure_report


logger = logging.getLogger(__name__)
_jobs: dict[str, Job] = {}
_lock = threading.Lock()


def _path(folder: Path, job_id: str) -> Path:
    return folder / f"{job_id}.pickle"


def _save(folder: Path, job: Job) -> None:
    """Write the job's state atomically (a reader never sees half a file); a full disk
    is a StorageFullError, and no half-written file stays."""
    temporary = folder / f".{job.id}.{threading.get_ident()}.tmp"
    try:
        with private_file(temporary) as out:  # a report quotes the upload's rows
            out.write(pickle.dumps(replace(job), protocol=pickle.HIGHEST_PROTOCOL))
        temporary.replace(_path(folder, job.id))
    except OSError as e:
        temporary.unlink(missing_ok=True)
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StorageFullError(f"import jobs: {e.strerror}") from e
        raise


def _save_quietly(folder: Path, job: Job) -> None:
    """Save from the job's thread: a full disk must not kill the thread (this worker's
    memory still answers; other workers see the last state saved)."""
    try:
        _save(folder, job)
    except (StorageFullError, OSError) as e:
        logger.error("import job %s: state not saved (%s)", job.id, e)


def start(kind: str, upload: str, work: Callable[[Callable[[int], None]], ImportResult], folder: Path) -> Job:
    """Run `work(progress)` in a thread; return the job to poll (by id, from any worker)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    job = Job(secrets.token_urlsafe(12), kind, upload)
    with _lock:
        _jobs[job.id] = job
    _save(folder, job)
    saved = [time.monotonic()]

    def progress(rows: int) -> None:
        job.rows = rows
        if time.monotonic() - saved[0] > SAVE_EVERY:
            saved[0] = time.monotonic()
            _save_quietly(folder, job)

    def target() -> None:
        try:
            job.result = work(progress)
            job.state = "done"
        except ImportFailed as e:
            job.failure_report, job.error, job.state = e.report, str(e), "failed"
        except EXPECTED as e:
            job.error, job.state = str(e), "failed"
        except StorageFullError:  # its text names files of the instance: not for the contributor
            logger.error("import job %s: the disk is full", job.id)
            job.error, job.state = "the server's disk is full, so nothing was stored; try again later", "failed"
        except Exception as e:  # a bug: the page must still end, and the log keeps the trace
            logger.exception("import job %s failed", job.id)
            job.error, job.state = (
                f"an unexpected error stopped the import ({type(e).__name__}); nothing was stored",
                "failed",
            )
        _save_quietly(folder, job)

    threading.Thread(target=target, name=f"import-{job.id}", daemon=True).start()
    return job


def get(job_id: str, folder: Path) -> Job | None:
    """The job, from this process's memory or from its file (another worker runs it)."""
    with _lock:
        if job_id in _jobs:
            return _jobs[job_id]
    try:
        job: Job = pickle.loads(_path(folder, job_id).read_bytes())  # noqa: S301 (written by _save only)
    except FileNotFoundError:
        return None
    if job.state == "running" and not process_alive(job.pid):
        job.state = "failed"
        job.error = "the server restarted while the import ran; nothing was stored: send it again"
    return job


def process_alive(pid: int) -> bool:
    """Whether a process of this id still runs (one of another user counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
