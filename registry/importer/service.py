"""Import a file with a mapping: as one pending submission, or stored and published at once."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils
import yaml

from registry.config import Settings
from registry.importer import budget as reading_budget
from registry.importer import stager
from registry.importer.mapping import MappingError, Plan, compile_checked, load_mapping
from registry.importer.readers import read_table
from registry.importer.run import ImportFailed, ImportReport, NameCheck, run_import
from registry.rules.persons import unstated_person
from registry.services.approval import audit_import, publishing
from registry.store import imports, staging
from registry.store import submissions as submission_store
from registry.store import vocabulary as vocabulary_store
from registry.store.connection import DatabaseError, connect
from registry.store.copies import snapshot
from registry.store.writers import transaction

CLI_ACTOR = {"id": None, "name": "command line"}
DRY_RUN_BREACHES = 5  # a dry run shows this many of the first breaches, as they would be published


@dataclass
class ImportResult:
    report: ImportReport
    reference: str | None
    dry_run: bool
    preview: list[dict[str, Any]] = field(default_factory=list)
    breaches: list[dict[str, Any]] = field(default_factory=list)  # a dry run's first breaches, as published


def plan_for(
    path: Path,
    mapping: Any,
    text: str,
    vocabulary: Any,
    name: str | None = None,
    budget: reading_budget.Budget | None = None,
) -> tuple[Plan, Any]:
    """Open the file as the mapping says and compile the mapping against its columns. With a
    `budget` (an upload from the web), the file is first opened in a child process within it:
    what opening costs (an XLSX's shared strings, a JSON file) is then known to fit before
    this process pays it, and the rows are then read here at full speed."""
    if not isinstance(mapping, dict):
        raise MappingError("a mapping is a YAML mapping of keys (vendor, source, client, relationship...)")
    options = {k: mapping[k] for k in ("format", "json_path", "sheet") if mapping.get(k)}
    if not all(isinstance(v, str) for v in options.values()):
        raise MappingError("format, json_path and sheet are single words, e.g. format: csv")
    opening = {"fmt": options.get("format"), "json_path": options.get("json_path"), "sheet": options.get("sheet"),
               "name": name}  # fmt: skip
    if budget is not None:
        reading_budget.sample(path, 1, budget, **opening)
    table = read_table(path, **opening)
    try:
        return compile_checked(mapping, table.columns, vocabulary, text), table
    except (TypeError, AttributeError, ValueError, KeyError) as e:
        # A list where a mapping belongs, a number where text does: the shape is wrong.
        raise MappingError(f"a key of the mapping has the wrong shape ({type(e).__name__}: {e}); see the README") from e


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
    budget: reading_budget.Budget | None = None,
    name_check: NameCheck | None = None,
) -> ImportResult:
    """Import `path`; on errors nothing is stored and ImportFailed carries the report. With a
    `budget`, the file is opened within it first (see plan_for). `name_check` flags new
    organisations whose names look like persons' (registry.importer.run.NameCheck)."""
    if mapping_path is not None:
        mapping_text = mapping_path.read_text(encoding="utf-8") if mapping_path.exists() else None
        mapping = load_mapping(mapping_path)
    else:
        try:
            mapping = yaml.safe_load(mapping_text or "") or {}
        except yaml.YAMLError as e:
            raise MappingError(f"the mapping is not valid YAML: {e}") from e
        except RecursionError as e:
            raise MappingError("the mapping is nested too deeply to be a mapping") from e
    reference = "S-" + secrets.token_hex(5).upper()
    # Published at once, a new client named like a person is nobody's to review: its row is refused.
    options = {"skip_invalid": skip_invalid, "progress": progress, "file_name": file_name, "budget": budget,
               "separate": path.exists() and path.stat().st_size >= stager.SEPARATE_FROM,
               "refuse_persons": approve and not dry_run,
               "name_check": name_check or person_name_check}  # fmt: skip
    if dry_run:
        # On a snapshot of intake.db, thrown away afterwards: a long preview never takes
        # the write lock that contributors' submissions need.
        with snapshot(settings.intake_db) as copy:
            db = connect(copy)
            try:
                submission_id, plan, table, vocabulary, payload = _begin(db, path, mapping, mapping_text, reference,
                                                                        submitter, options, dry_run=True)  # fmt: skip
                report = _write(db, copy, reference, submission_id, plan, table, vocabulary, payload, options)
                breaches = (
                    imports.breach_preview(db, submission_id, DRY_RUN_BREACHES) if plan.breach is not None else []
                )
                return ImportResult(report, None, True, imports.import_preview(db, submission_id), breaches)
            finally:
                db.close()
    if approve and not settings.registry_db.exists():  # found out now, not after writing every row
        raise DatabaseError(f"{settings.registry_db} does not exist: run `registry publish` first")
    with imports.import_lock(settings.intake_db) as taken:
        if not taken:
            raise imports.ImportConflict("another import is being written: wait until it has finished")
        db = connect(settings.intake_db)
        try:
            imports.remove_abandoned(db, settings.intake_db)  # holding the lock: any unfinished import is a dead one
            submission_id, plan, table, vocabulary, payload = _begin(db, path, mapping, mapping_text, reference,
                                                                    submitter, options, dry_run=False)  # fmt: skip
            try:
                report = _write(db, settings.intake_db, reference, submission_id, plan, table, vocabulary, payload,
                                options)  # fmt: skip
                payload["import"]["summary"] = report.summary()
                # Judged once, here: the review page reads these rows rather than every name again.
                payload["import"]["person_ids"] = sorted(report.flagged_ids)
                _finish(settings, db, submission_id, reference, payload, approve, actor)
            except BaseException:
                imports.remove_import_in_chunks(db, submission_id)  # nothing of a failed import is kept
                raise
        finally:
            db.close()
    return ImportResult(report, reference, False)


PERSON_NAME = (
    "this name of a new organisation looks like a private person's: the registry never publishes people as "
    "organisations; if it is an organisation's (a doctor's practice named after the doctor), say why with "
    "person_name_reason where the mapping names it (breach.organisation, breach.vendor, vendor.new, vendors.new)"
)


def person_name_check(record: dict[str, Any]) -> str | None:
    """registry.rules.persons on a name the import gives an organisation it creates (run.NameCheck)."""
    return PERSON_NAME if unstated_person(record["name"], record.get("person_name_reason")) else None


def _write(
    db: sqlite_utils.Database,
    intake_db: Path,
    reference: str,
    submission_id: int,
    plan: Plan,
    table: Any,
    vocabulary: Any,
    payload: dict[str, Any],
    options: dict[str, Any],
) -> ImportReport:
    """Read, check and match every row into a staging file, then move the rows into intake.db
    in short write transactions (registry.store.staging)."""
    path = staging.staging_path(intake_db, reference)
    rows = stager.Stager(path, separate=options["separate"])  # a large file's, by a second process
    try:
        first_ids = payload["import"]["first_ids"]
        report = run_import(db, table, plan, vocabulary, status="pending", submission_id=submission_id,
                            skip_invalid=options["skip_invalid"] or plan.skip_invalid, progress=options["progress"],
                            first_ids=first_ids, stage=rows, name_check=options["name_check"],
                            refuse_persons=options["refuse_persons"])  # fmt: skip
        if options["refuse_persons"] and report.flagged:  # published at once: refused, each named with its row
            report.errors.extend(report.flagged)
            raise ImportFailed(report)
        rows.close()
        staging.move(db, path, first_ids["relationships"])
        return report
    finally:
        rows.abandon()
        path.unlink(missing_ok=True)


def _begin(
    db: sqlite_utils.Database,
    path: Path,
    mapping: Any,
    mapping_text: str | None,
    reference: str,
    submitter: tuple[str | None, str | None],
    options: dict[str, Any],
    *,
    dry_run: bool,
) -> tuple[int, Plan, Any, Any, dict[str, Any]]:
    """Check the mapping against the file and record the import as an unfinished
    submission ('importing', hidden from reviewers), in one short write transaction."""
    vocabulary = vocabulary_store.load_vocabulary(db)
    file_name = options["file_name"]
    # reads the file: before the lock
    plan, table = plan_for(path, mapping, mapping_text or "", vocabulary, file_name, options["budget"])
    with transaction(db):
        waiting = imports.pending_import(db)
        if waiting and not dry_run:
            raise MappingError(
                f"import {waiting} is waiting for review: approve or reject it first (imports are reviewed one "
                "at a time, so that one never depends on rows of another)"
            )
        # Where its rows start in each table: a removal finds them by primary key.
        first_ids = imports.next_ids(db)
        payload = {"import": {"file": file_name or path.name, "mapping": mapping_text or "",
                              "encoding": table.encoding, "first_ids": first_ids}}  # fmt: skip
        submission_id = submission_store.insert_submission(db, reference, "import", payload, *submitter, None)
        submission_store.set_submission_status(db, submission_id, "importing")
    return submission_id, plan, table, vocabulary, payload


def _finish(
    settings: Settings,
    db: sqlite_utils.Database,
    submission_id: int,
    reference: str,
    payload: dict[str, Any],
    approve: bool,
    actor: dict[str, Any],
) -> None:
    """Make a written import whole: pending for a reviewer, or approved and published,
    in one transaction (until then none of its rows is visible to anyone)."""
    imports.sync_commits(db)  # the commit that makes the import whole is synced
    if not approve:
        with transaction(db):
            submission_store.update_payload(db, submission_id, payload)
            submission_store.set_submission_status(db, submission_id, "pending")
        return
    with publishing(settings) as pub:
        submission_store.update_payload(pub, submission_id, payload)
        submission_store.set_submission_status(pub, submission_id, "approved")
        counts = imports.approve_import(pub, submission_id)
        audit_import(pub, submission_id, reference, counts, actor, f"import {reference} approved")
