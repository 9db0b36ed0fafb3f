"""What the registry deletes on its own: uploads past their retention, the state of old
import jobs, the copies of databases that a killed process left behind, and the rows of
imports rejected or left unfinished by a process that stopped before removing them.

Nothing deleted here is the only copy of anything: a sent upload's rows are in intake.db,
a job's report can be had again with a new preview, and a leftover `.snapshot-*` or
`.registry-build-*` file is a copy of intake.db or registry.db; a rejected import was never
published, and one left unfinished was never whole. A snapshot holds every
private row of intake.db (emails, password hashes), so it goes as soon as the process
that made it has ended; any leftover goes once nothing has touched it for a while.

`clean_up(settings, now)` runs when `registry serve` starts, every few minutes while it
serves (a `registry clean --every` child process) and by hand with `registry clean`.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

from registry.config import Settings
from registry.importer import uploads
from registry.importer.jobs import process_alive
from registry.store import imports

LEFTOVER_SECONDS = 15 * 60  # a copy or temporary file untouched this long belongs to no live process
SIBLINGS = ("", "-wal", "-shm", "-journal", ".write-lock", ".waiting")
SNAPSHOT = re.compile(r"^\.snapshot-(\d+)-")  # registry/store/copies.py names them with the maker's pid

logger = logging.getLogger(__name__)


@dataclass
class CleanupReport:
    uploads: int = 0  # unsent uploads past their retention, deleted with their metadata
    sent: int = 0  # records of sent uploads past their retention
    jobs: int = 0  # import jobs' state files
    leftovers: int = 0  # database copies and temporary files of ended processes
    freed: int = 0  # bytes
    imports: int = 0  # rejected or unfinished imports whose rows a stopped process had left

    def summary(self) -> str:
        return (
            f"Deleted {self.uploads} expired upload(s), {self.sent} record(s) of sent uploads, "
            f"{self.jobs} import job file(s) and {self.leftovers} leftover copy(ies): "
            f"{self.freed / uploads.MB:.1f} MB freed"
            + (f"; removed the rows of {self.imports} rejected or unfinished import(s)" if self.imports else "")
        )


def clean_up(settings: Settings, now: float | None = None) -> CleanupReport:
    """Delete what the retention and the leftovers rule say may go, as of `now` (epoch seconds)."""
    now = time.time() if now is None else now
    report = CleanupReport()
    if not settings.instance.is_dir():
        return report
    _clean_uploads(settings, now, report)
    _clean_jobs(settings, now, report)
    _clean_leftovers(settings.instance, now, report)
    if settings.intake_db.exists():
        # Under the import lock: a removal or an import running now is left alone.
        report.imports = len(imports.clean_up(settings.intake_db))
    return report


def restrict_modes(settings: Settings) -> None:
    """Close an instance made before files were created private (0644 by default): only
    its owner may enter the folder, and the private files are the owner's alone. A file
    this user does not own is left as it is, with a warning."""
    if not settings.instance.is_dir():
        return
    private = [settings.instance / name for name in ("intake.db", "intake.db-wal", "intake.db-shm", "ratelimit.db",
                                                     "ratelimit.db-wal", "ratelimit.db-shm", "secret_key")]  # fmt: skip
    folder = uploads.folder(settings)
    for path in [settings.instance, *private, folder, *folder.rglob("*")]:
        try:
            if path.exists():
                path.chmod(0o700 if path.is_dir() else 0o600)
        except PermissionError:
            logger.warning("cannot make %s private: it belongs to another user", path.name)


def _clean_uploads(settings: Settings, now: float, report: CleanupReport) -> None:
    retention = settings.upload_retention_hours * 3600
    folder = uploads.folder(settings)
    described = set()
    for path in folder.glob(f"*{uploads.META}"):
        token = path.name.removesuffix(uploads.META)
        meta = uploads.read_meta(settings, token)
        described.add(token)
        created = float(meta.get("created_at") or 0) if meta else 0.0
        if not created:  # written before retention existed, or unreadable: its file's age
            created = _modified(path)
        if now - created < retention:
            continue
        report.freed += uploads.delete(settings, token, meta)
        if meta and meta.get("reference"):
            report.sent += 1
        else:
            report.uploads += 1
    for path in folder.iterdir():  # files without metadata: a request killed between the two writes
        if path.is_file() and path.name.split(".")[0] not in described and now - _modified(path) > LEFTOVER_SECONDS:
            report.freed += _unlink(path)
            report.leftovers += 1


def _clean_jobs(settings: Settings, now: float, report: CleanupReport) -> None:
    folder = uploads.folder(settings) / "jobs"
    if not folder.is_dir():
        return
    retention = settings.upload_retention_hours * 3600
    for path in folder.iterdir():
        age = now - _modified(path)
        if path.name.startswith("."):  # a half-written state file
            if age > LEFTOVER_SECONDS:
                report.freed += _unlink(path)
                report.leftovers += 1
        elif age >= retention:  # a running job rewrites its file every half second
            report.freed += _unlink(path)
            report.jobs += 1


def _clean_leftovers(instance: Path, now: float, report: CleanupReport) -> None:
    for path in [*instance.glob(".snapshot-*"), *instance.glob(".registry-build-*")]:
        if not path.name.endswith(".db"):
            continue  # a sibling: it goes with its database
        group = [path.with_name(path.name + s) for s in SIBLINGS]
        newest = max((_modified(p) for p in group if p.exists()), default=0.0)
        maker = SNAPSHOT.match(path.name)
        if now - newest > LEFTOVER_SECONDS or (maker and not process_alive(int(maker.group(1)))):
            for p in group:
                report.freed += _unlink(p)
            report.leftovers += 1
            logger.warning("deleted the leftover copy %s", path.name)


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def _unlink(path: Path) -> int:
    try:
        size = path.stat().st_size
        path.unlink()
    except FileNotFoundError:
        return 0
    return size
