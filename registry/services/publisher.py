"""Write registry.db, the public database, from the approved rows of intake.db.

Two paths give the same content: `publish` updates registry.db in place, in one
transaction, so a running Datasette sees the change at once; `rebuild` builds a new
file from scratch, checks it, then copies it over the live one with SQLite's backup
API (readers see the old or the new database, never a mix). Both stamp registry.db
with intake.db's last publication (registry/store/publication.py); `recover` finishes a
decision that a crash left published in intake.db only, and is run by `registry serve`
before Datasette starts."""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from registry.config import Settings
from registry.store import public, publication
from registry.store.connection import DatabaseError, connect
from registry.store.schema import create, integrity_problems, remove, use_wal
from registry.store.writers import transaction


class PublishError(Exception):
    """Publishing failed; registry.db is as it was."""


@dataclass(frozen=True)
class PublishReport:
    path: Path
    counts: dict[str, int]
    changes: dict[str, dict[str, int]]

    def summary(self) -> str:
        changed = {t: c for t, c in self.changes.items() if any(c.values())}
        parts = [f"{t}: +{c['added']} ~{c['updated']} -{c['removed']}" for t, c in changed.items()]
        counts = ", ".join(f"{n} {k}" for k, n in self.counts.items())
        return f"{self.path}: {counts}" + (f" ({'; '.join(parts)})" if parts else " (no changes)")


def publish(settings: Settings) -> PublishReport:
    """Update registry.db in place from intake.db; rebuild it if it does not exist yet."""
    if not settings.registry_db.exists():
        return rebuild(settings)
    registry = connect(settings.registry_db)
    try:
        public.attach(registry, settings.intake_db, "intake", readonly=True)
        with transaction(registry):
            changes = public.sync(registry)
            publication.mark_current(registry, public="main", intake="intake")
        public.detach(registry, "intake")
        public.refresh_statistics(registry)
        return PublishReport(settings.registry_db, public.published_counts(registry), changes)
    finally:
        registry.close()


def rebuild(settings: Settings, destination: Path | None = None) -> PublishReport:
    """Build registry.db (or `destination`) from scratch, then swap it in."""
    live = destination is None or destination == settings.registry_db
    destination = destination or settings.registry_db
    destination.parent.mkdir(parents=True, exist_ok=True)
    built = build_fresh(settings.intake_db, destination.parent)
    try:
        fresh = connect(built)
        counts = public.published_counts(fresh)
        changes = {t: {"added": fresh[t].count, "updated": 0, "removed": 0} for t in public.PUBLIC_TABLES}
        if destination.exists():
            _copy_over(fresh, destination)  # a WAL destination stays in WAL mode
            fresh.close()
        else:
            fresh.close()
            if live:
                use_wal(built)
            remove(destination)  # the journal or WAL of a file deleted by hand must not apply to this one
            os.replace(built, destination)
    finally:
        with contextlib.suppress(FileNotFoundError):
            built.unlink()
    if live:
        recover(settings)  # a decision taken while this was being built is published now
    return PublishReport(destination, counts, changes)


def recover(settings: Settings) -> str | None:
    """Put registry.db in WAL mode and, if it does not hold intake.db's last publication
    (a process killed between the two files' commits), publish what it lacks: the
    interrupted decision's scope, as fast as the decision itself, or, when more is
    unknown, every public table (about as long as `registry publish`). Return what was
    done, or None. Run it with no Datasette open on the file if it may not be in WAL
    mode yet (`registry serve` runs it first)."""
    if not settings.registry_db.exists():
        return None
    use_wal(settings.registry_db)
    registry = connect(settings.registry_db)
    try:
        public.attach(registry, settings.intake_db, "intake", readonly=True)
        with transaction(registry):
            done = publication.catch_up(registry, public="main", intake="intake")
        public.detach(registry, "intake")
    finally:
        registry.close()
    return done


def build_fresh(intake_path: Path, folder: Path) -> Path:
    """Build a complete registry database in a new file in `folder`; return its path."""
    if not intake_path.exists():
        raise DatabaseError(f"{intake_path}: database file not found (run `registry init` first)")
    handle, name = tempfile.mkstemp(prefix=".registry-build-", suffix=".db", dir=folder)
    os.close(handle)
    path = Path(name)
    path.unlink()
    try:
        create(path, "registry", live=False)
        db = connect(path)
        public.attach(db, intake_path, "intake", readonly=True)
        with transaction(db):
            public.copy_all(db)
            publication.mark_current(db, public="main", intake="intake")
        public.detach(db, "intake")
        public.refresh_statistics(db, full=True)
        problems = integrity_problems(db)
        db.close()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if problems:
        path.unlink(missing_ok=True)
        raise PublishError("the rebuilt database failed its checks: " + "; ".join(problems))
    return path


def _copy_over(fresh: sqlite_utils.Database, destination: Path) -> None:
    target = connect(destination)
    try:
        fresh.conn.backup(target.conn)
    finally:
        target.close()
