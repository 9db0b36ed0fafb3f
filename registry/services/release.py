"""`registry publish --out DIR`: a versioned release of the public data, as a
Frictionless Data Package: the SQLite file, one CSV per public table, and
datapackage.json describing every table and column, with the licence, the release
date, row counts and what changed since the previous release."""

from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from registry.config import Settings
from registry.rules.spreadsheet import neutralise
from registry.services import publisher
from registry.store import public
from registry.store.connection import connect

LICENSE = {
    "name": "CC-BY-4.0",
    "path": "https://creativecommons.org/licenses/by/4.0/",
    "title": "Creative Commons Attribution 4.0",
}
TYPES = {"INTEGER": "integer", "REAL": "number", "TEXT": "string"}


@dataclass(frozen=True)
class Release:
    folder: Path
    previous: str | None
    changes: dict[str, dict[str, int]]


def write_release(settings: Settings, out: Path, today: dt.date | None = None) -> Release:
    """Write a new release folder in `out`; compare it with the latest one already there."""
    today = today or dt.date.today()
    out.mkdir(parents=True, exist_ok=True)
    previous = _latest(out)
    folder = _new_folder(out, f"registry-{today.isoformat()}")
    database = folder / "registry.db"
    publisher.rebuild(settings, database)
    db = connect(database, readonly=True)
    metadata = yaml.safe_load((settings.datasette_dir / "metadata.yml").read_text(encoding="utf-8"))
    described = metadata["databases"]["registry"]["tables"]
    try:
        resources = [_write_table(db, folder, table, described.get(table, {})) for table in public.PUBLIC_TABLES]
        changes = _changes(previous / "registry.db" if previous else None, db)
    finally:
        db.close()
    package = {
        "profile": "tabular-data-package",
        "name": "exposure-registry",
        "title": "Exposure registry",
        "description": " ".join(str(metadata.get("description_html", "")).split()),
        "version": folder.name,
        "created": dt.datetime.combine(today, dt.time(), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "licenses": [LICENSE],
        "sources": [{"title": "Breaches, leaks, FOIA releases, lawsuits and press reports: see sources.csv"}],
        "previous_release": previous.name if previous else None,
        "changes": changes,
        "resources": resources,
    }
    (folder / "datapackage.json").write_text(json.dumps(package, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return Release(folder, previous.name if previous else None, changes)


def _latest(out: Path) -> Path | None:
    def order(path: Path) -> tuple[str, int]:  # registry-2026-11-22, then -2, -3... -10
        cut = len("registry-YYYY-MM-DD")
        suffix = path.name[cut + 1 :]
        return path.name[:cut], int(suffix) if suffix.isdigit() else 1

    releases = sorted((p for p in out.glob("registry-*") if (p / "datapackage.json").exists()), key=order)
    return releases[-1] if releases else None


def _new_folder(out: Path, name: str) -> Path:
    candidate, n = out / name, 1
    while candidate.exists():
        n += 1
        candidate = out / f"{name}-{n}"
    candidate.mkdir()
    return candidate


def _write_table(db: Any, folder: Path, table: str, described: dict[str, Any]) -> dict[str, Any]:
    """Write one table as CSV (text cells that a spreadsheet would run are neutralised)."""
    columns = public.column_types(db, table)
    count = 0
    with (folder / f"{table}.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([name for name, _ in columns])
        for row in public.rows_of(db, table):
            writer.writerow([neutralise(v) if isinstance(v, str) else ("" if v is None else v) for v in row])
            count += 1
    fields = [
        {"name": name, "type": TYPES.get(kind, "string"), "description": described.get("columns", {}).get(name, "")}
        for name, kind in columns
    ]
    return {
        "name": table.replace("_", "-"),
        "path": f"{table}.csv",
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "description": described.get("description", ""),
        "rows": count,
        "schema": {
            "fields": fields,
            "primaryKey": list(public.COMPOSITE_KEYS.get(table, (public.PRIMARY_KEYS.get(table, "id"),))),
        },
    }


def _changes(previous: Path | None, db: Any) -> dict[str, dict[str, int]]:
    """Per table: rows added, changed and withdrawn since the previous release."""
    if previous is None or not previous.exists():
        return {t: {"added": public.count(db, t), "changed": 0, "withdrawn": 0} for t in public.PUBLIC_TABLES}
    old = connect(previous, readonly=True)
    try:
        return {t: public.compare(old, db, t) for t in public.PUBLIC_TABLES}
    finally:
        old.close()
