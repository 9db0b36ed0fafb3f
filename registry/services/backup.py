"""`registry backup` and `registry restore`: consistent copies of an instance's databases.

A backup uses SQLite's online backup API, so it is one consistent state of each database
while the servers go on taking submissions (intake.db is in WAL mode: the copy reads a
snapshot and writers are never blocked). Each copy is checked with integrity_check
before the backup is called done."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

from registry.config import Settings
from registry.store.connection import DatabaseError
from registry.store.copies import backup_database, integrity_problems_of

DATABASES = ("intake.db", "registry.db")


class BackupError(Exception):
    """A backup or a restore could not be made; nothing was overwritten."""


@dataclass(frozen=True)
class Copied:
    name: str
    size: int
    rows: int


def backup(settings: Settings, destination: Path) -> list[Copied]:
    """Copy intake.db and registry.db into `destination` (a new or empty folder)."""
    if destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
        raise BackupError(f"{destination}: not empty; give a new folder (backups are never overwritten)")
    for name in DATABASES:
        if not (settings.instance / name).exists():
            raise DatabaseError(f"{settings.instance / name}: database file not found (run `registry init` first)")
    partial = destination.with_name(f".{destination.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        partial.mkdir(parents=True)
    except OSError as e:
        raise BackupError(f"{destination}: cannot create it: {e.strerror or e}") from e
    try:
        copied = []
        for name in DATABASES:
            rows = backup_database(settings.instance / name, partial / name)
            if problems := integrity_problems_of(partial / name):
                raise BackupError(f"the copy of {name} is damaged: {'; '.join(problems[:5])}")
            copied.append(Copied(name, (partial / name).stat().st_size, rows))
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        (partial / "BACKUP.txt").write_text(
            f"Exposure registry backup of {settings.instance}, made {stamp}.\n"
            "It holds private data (submitter contacts, accounts, the audit log): keep it private.\n"
            "Restore with: REGISTRY_INSTANCE=NEW_FOLDER registry restore THIS_FOLDER\n",
            encoding="utf-8",
        )
        try:
            if destination.exists():
                destination.rmdir()
            partial.rename(destination)  # the backup appears whole or not at all
        except OSError as e:
            raise BackupError(f"{destination}: cannot create it: {e.strerror or e}") from e
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return copied


def restore(settings: Settings, source: Path) -> list[Copied]:
    """Copy a backup's databases into the (new) instance folder."""
    for name in DATABASES:
        if not (source / name).is_file():
            raise BackupError(f"{source}: not a registry backup ({name} is missing)")
        if problems := integrity_problems_of(source / name):
            raise BackupError(f"{source / name} is damaged: {'; '.join(problems[:5])}")
    existing = [name for name in DATABASES if (settings.instance / name).exists()]
    if existing:
        raise BackupError(
            f"{settings.instance} holds {', '.join(existing)} already; restore into a new REGISTRY_INSTANCE folder"
        )
    settings.instance.mkdir(parents=True, exist_ok=True)
    copied = []
    try:
        for name in DATABASES:
            rows = backup_database(source / name, settings.instance / name)
            copied.append(Copied(name, (settings.instance / name).stat().st_size, rows))
    except BaseException:
        for name in DATABASES:
            for suffix in ("", "-wal", "-shm"):
                (settings.instance / f"{name}{suffix}").unlink(missing_ok=True)
        raise
    return copied
