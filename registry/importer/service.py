"""Import a file with a mapping: as one pending submission, or stored and published at once."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

from registry.approval import publishing
from registry.config import Settings
from registry.importer.mapping import Plan, check_vocabulary, compile_plan, load_mapping
from registry.importer.readers import read_table
from registry.importer.run import ImportReport, run_import
from registry.store import imports, intake
from registry.store import submissions as store
from registry.store.database import connect, transaction

CLI_ACTOR = {"id": None, "name": "command line"}


class _DryRun(Exception):
    """Raised to roll a dry run back after it has done everything else."""


@dataclass
class ImportResult:
    report: ImportReport
    reference: str | None
    dry_run: bool
    preview: list[dict[str, Any]] = field(default_factory=list)


def plan_for(path: Path, mapping: dict[str, Any], text: str, vocabulary: Any) -> tuple[Plan, Any]:
    """Open the file as the mapping says and compile the mapping against its columns."""
    options = {k: mapping[k] for k in ("format", "json_path", "sheet") if mapping.get(k)}
    table = read_table(path, fmt=options.get("format"), json_path=options.get("json_path"), sheet=options.get("sheet"))
    check_vocabulary(mapping, vocabulary)
    return compile_plan(mapping, table.columns, text), table


def import_file(
    settings: Settings,
    path: Path,
    mapping_path: Path | None = None,
    *,
    mapping_text: str | None = None,
    dry_run: bool = False,
    approve: bool = False,
    skip_invalid: bool = False,
    progress: Callable[[int], None] | None = None,
    actor: dict[str, Any] = CLI_ACTOR,
    submitter: tuple[str | None, str | None] = (None, None),
    file_name: str | None = None,
) -> ImportResult:
    """Import `path`; on errors nothing is stored and ImportFailed carries the report."""
    if mapping_path is not None:
        mapping_text = mapping_path.read_text(encoding="utf-8") if mapping_path.exists() else None
        mapping = load_mapping(mapping_path)
    else:
        import yaml

        mapping = yaml.safe_load(mapping_text or "") or {}
    reference = "S-" + secrets.token_hex(5).upper()
    status = "approved" if approve else "pending"
    try:
        with _transaction(settings, approve) as db:
            vocabulary = intake.load_vocabulary(db)
            plan, table = plan_for(path, mapping, mapping_text or "", vocabulary)
            payload = {
                "import": {"file": file_name or path.name, "mapping": mapping_text or "", "encoding": table.encoding}
            }
            submission_id = store.insert_submission(db, reference, "import", payload, *submitter, None)
            store.set_submission_status(db, submission_id, status)
            report = run_import(db, table, plan, vocabulary, status=status, submission_id=submission_id,
                                skip_invalid=skip_invalid or plan.skip_invalid, progress=progress)  # fmt: skip
            payload["import"]["summary"] = report.summary()
            store.update_payload(db, submission_id, payload)
            if approve:
                _audit_import(db, submission_id, reference, actor)
            if dry_run:
                preview = imports.import_preview(db, submission_id)  # read before it is rolled back
                raise _DryRun
    except _DryRun:
        return ImportResult(report, None, True, preview)
    return ImportResult(report, reference, False)


@contextlib.contextmanager
def _transaction(settings: Settings, approve: bool) -> Iterator[sqlite_utils.Database]:
    if approve:
        with publishing(settings) as db:
            yield db
        return
    db = connect(settings.intake_db)
    try:
        with transaction(db):
            yield db
    finally:
        db.close()


def _audit_import(db: sqlite_utils.Database, submission_id: int, reference: str, actor: dict[str, Any]) -> None:
    """One audit entry per table an approved import wrote: how many rows, from which submission."""
    for table in imports.WITH_STATUS:
        count = db.execute(f"SELECT count(*) FROM [{table}] WHERE submission_id = ?", [submission_id]).fetchone()[0]
        if count:
            store.audit(db, table, submission_id, "insert", actor, None, {"submission": reference, "rows": count},
                        f"import {reference} approved")  # fmt: skip
