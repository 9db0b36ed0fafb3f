"""The `registry` command: a thin layer that turns domain errors into clear messages."""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import click

from registry.config import Settings, SettingsError, load_settings
from registry.importer import service
from registry.importer.mapping import MappingError
from registry.importer.readers import ReadError, count_rows
from registry.importer.run import ImportFailed
from registry.rules.countries import country_rows, subdivision_rows
from registry.rules.fields import ValidationError
from registry.services import accounts, backup, cleanup, publisher, release, seed
from registry.services.check import check as run_check
from registry.store import imports as import_store
from registry.store import records as record_store
from registry.store import vocabulary as vocabulary_store
from registry.store.connection import DatabaseError, StorageFullError, connect
from registry.store.schema import create
from registry.store.writers import transaction

# Errors that mean "your input or your files are wrong", not "the program is broken".
USER_ERRORS = (
    DatabaseError,
    SettingsError,
    seed.SeedError,
    publisher.PublishError,
    record_store.UnknownReferenceError,
    sqlite3.IntegrityError,
    sqlite3.OperationalError,
    StorageFullError,
    backup.BackupError,
)


def settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as e:
        raise click.ClickException(str(e)) from e


@click.group()
@click.version_option(package_name="exposure-registry")
def cli() -> None:
    """The exposure registry: who was a client of which surveillance vendor."""
    # Every file a command or the servers create is the owner's alone (0600, folders
    # 0700): intake.db, uploads, backups and copies hold contributors' contact details
    # and password hashes. Datasette runs as the same user, so it still reads registry.db.
    os.umask(0o077)


@cli.command()
def init() -> None:
    """Create intake.db and registry.db from schema.sql and load the vocabularies."""
    s = settings()
    try:
        vocabularies = seed.read_vocabularies(s.seed_dir)
        for path, kind in ((s.intake_db, "intake"), (s.registry_db, "registry")):
            created = create(path, kind)
            if kind == "intake" and not created:
                for reference in import_store.clean_up(path):  # an import killed mid-way: its rows go
                    click.echo(f"Removed the unfinished import {reference} (its process had stopped).")
            db = connect(path)
            with transaction(db):
                vocabulary_store.load_reference_data(db, vocabularies, country_rows(), subdivision_rows())
            db.close()
            click.echo(f"{'Created' if created else 'Checked'} {path}")
    except USER_ERRORS as e:
        raise click.ClickException(str(e)) from e
    except KeyError as e:
        raise click.ClickException(f"{s.seed_dir / 'vocabularies.yml'}: missing vocabulary {e}") from e


@cli.command("seed")
@click.option(
    "--dir", "seed_dir", type=click.Path(file_okay=False, path_type=Path), help="Seed folder (default: seed/)."
)
def seed_command(seed_dir: Path | None) -> None:
    """Load the seed data into intake.db as approved rows (running it again changes nothing)."""
    s = settings()
    try:
        db = connect(s.intake_db)
        try:
            data = seed.load_seed(db, seed_dir or s.seed_dir)
        finally:
            db.close()
    except USER_ERRORS as e:
        raise click.ClickException(f"seed not loaded, nothing changed:\n{e}") from e
    click.echo(
        f"Seed loaded: {len(data.sources)} sources, {len(data.organisations)} organisations, "
        f"{len(data.disclosures)} disclosures, {len(data.relationships)} relationships, {len(data.breaches)} breaches"
    )


@cli.command()
@click.option("--rebuild", is_flag=True, help="Build registry.db from scratch instead of updating it.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write a versioned release (SQLite, CSV per table, datapackage.json) into this folder.",
)
def publish(rebuild: bool, out: Path | None) -> None:
    """Publish approved rows from intake.db to registry.db (or a versioned release with --out)."""
    s = settings()
    try:
        if out is not None:
            made = release.write_release(s, out)
            since = f" (changes since {made.previous})" if made.previous else ""
            click.echo(f"Release written to {made.folder}{since}:")
            for table, change in made.changes.items():
                if any(change.values()):
                    click.echo(f"  {table}: +{change['added']} ~{change['changed']} -{change['withdrawn']}")
            return
        report = publisher.rebuild(s) if rebuild else publisher.publish(s)
    except USER_ERRORS as e:
        raise click.ClickException(f"not published, registry.db unchanged: {e}") from e
    click.echo(report.summary())


@cli.command()
def check() -> None:
    """Check both databases: integrity, no private or withdrawn text anywhere in registry.db's
    file, up to date."""
    s = settings()
    try:
        if done := publisher.recover(s):  # a decision a crash left unpublished: not the operator's job
            click.echo(done)
        problems = run_check(s)
    except USER_ERRORS as e:
        raise click.ClickException(str(e)) from e
    if problems:
        raise click.ClickException("check failed:\n" + "\n".join(f"- {p}" for p in problems))
    click.echo(
        f"ok: {s.registry_db} holds only public tables, columns and values, no private or withdrawn text "
        "anywhere in its file, and matches a rebuild"
    )


@cli.command("backup")
@click.argument("destination", type=click.Path(file_okay=False, path_type=Path))
def backup_command(destination: Path) -> None:
    """Copy intake.db and registry.db into DESTINATION (a new folder), online: the servers
    may keep running. The copy holds private data: keep it private."""
    s = settings()
    try:
        copied = backup.backup(s, destination)
    except USER_ERRORS as e:
        raise click.ClickException(f"no backup made: {e}") from e
    for c in copied:
        click.echo(f"  {c.name}: {c.rows:,} rows, {c.size:,} bytes, integrity ok")
    click.echo(f"Backup written to {destination}")


@cli.command("restore")
@click.argument("source", type=click.Path(file_okay=False, exists=True, path_type=Path))
def restore_command(source: Path) -> None:
    """Restore a backup made by `registry backup` into a new REGISTRY_INSTANCE folder."""
    s = settings()
    try:
        copied = backup.restore(s, source)
    except USER_ERRORS as e:
        raise click.ClickException(f"nothing restored: {e}") from e
    for c in copied:
        click.echo(f"  {c.name}: {c.rows:,} rows")
    click.echo(f"Restored into {s.instance}; run `registry check`, then `registry serve`")


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mapping", "mapping_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="YAML mapping: which column feeds which field (see README).")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Check everything, store nothing.")
@click.option("--approve", is_flag=True, help="Store and publish at once instead of a pending submission.")
@click.option("--skip-invalid", is_flag=True, help="Store the valid rows; list the invalid ones in the report.")
@click.option("--errors", "errors_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the error report (default: instance/reports/FILE.errors.csv).")  # fmt: skip
def import_command(
    file: Path, mapping_path: Path, dry_run: bool, approve: bool, skip_invalid: bool, errors_path: Path | None
) -> None:
    """Import a leaked client list (CSV, XLSX, JSON, NDJSON): all rows or none."""
    s = settings()
    report_path = errors_path or s.instance / "reports" / f"{file.stem}.errors.csv"
    try:
        report_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise click.ClickException(f"import refused, nothing stored: cannot write the error report there: {e}") from e
    total = count_rows(file)
    try:
        with click.progressbar(length=total or 0, label="Importing", file=sys.stderr, show_pos=True) as bar:
            state = {"done": 0}

            def progress(rows: int) -> None:
                bar.update(rows - state["done"])
                state["done"] = rows

            result = service.import_file(s, file, mapping_path, dry_run=dry_run, approve=approve,
                                         skip_invalid=skip_invalid, progress=progress)  # fmt: skip
    except ImportFailed as e:
        _write_report(e.report, report_path)
        lines = [f"{_where(p)}, {p.column}: {p.problem}" + (f" ({p.value!r})" if p.value else "")
                 for p in e.report.errors[:20]]  # fmt: skip
        more = f"\n... and {len(e.report.errors) - 20} more" if len(e.report.errors) > 20 else ""
        raise click.ClickException(
            f"import refused, nothing stored: {len(e.report.errors)} error(s), all listed in {report_path}\n"
            + "\n".join(lines)
            + more
        ) from e
    except (*USER_ERRORS, ReadError, MappingError, ValidationError) as e:
        raise click.ClickException(f"import refused, nothing stored: {e}") from e
    report = result.report
    if report.errors or report.skipped or report.flagged:
        _write_report(report, report_path)
    click.echo(report.summary())
    if report.skipped:
        click.echo(f"Skipped rows are listed in {report_path}")
    for p in report.flagged:  # every one: a reviewer must state why each is an organisation, or reject
        click.echo(f"{_where(p)}, {p.column}: looks like a private person's name ({p.value!r})")
    if report.flagged:
        click.echo(
            f"{len(report.flagged):,} name(s) of organisations look like a private person's: a reviewer approves "
            "them only with a statement of why they are organisations (or the mapping gives one in the "
            "person_name_reason of the group naming them: client, vendor.new, vendors.new, breach.organisation, "
            "breach.vendor); --approve refuses them."
        )
    if result.breaches:
        _echo_breaches(result.breaches, report)
    if result.dry_run:
        click.echo("Dry run: nothing stored.")
    elif approve:
        click.echo(f"Stored and published as {result.reference}.")
    else:
        click.echo(f"Stored as pending submission {result.reference}: a reviewer approves it at /review.")


def _where(problem: Any) -> str:
    """Where a problem is: "row N" of the file, or "the mapping" for a name the mapping gives (its row 0)."""
    return f"row {problem.row}" if problem.row else "the mapping"


def _echo_breaches(breaches: list[dict[str, Any]], report: Any) -> None:
    """A dry run's first breaches as they would be published (registry.store.imports.breach_preview)."""
    click.echo(f"First {len(breaches)} of the {report.breaches_stored:,} new breaches, as they would be published:")
    for b in breaches:
        click.echo("\n".join(f"  {line}" for line in _breach_lines(b)))


def _breach_lines(b: dict[str, Any]) -> list[str]:
    """One breach of a preview in a few lines of words."""
    organisation = b["organisation"] + (" (new)" if b["organisation_new"] else "")
    vendor = f"{b['vendor']}{' (new)' if b['vendor_new'] else ''}" if b["vendor"] else "none named"
    happened = (b["start_date"] or "?") + (f" to {b['end_date']}" if b["end_date"] else "")
    return [
        f"- {b['title']}",
        f"  organisation: {organisation}{', ' + b['country'] if b['country'] else ''}; vendor: {vendor}",
        f"  happened {happened}; discovered {b['discovered_date'] or '?'}; notified {b['notified_date'] or '?'}",
        f"  affected: {_affected_text(b)}",
        f"  types: {b['breach_types'] or 'none'}; data: {b['data_kinds'] or 'none'}; held on: {b['media'] or 'none'}",
    ]


def _affected_text(b: dict[str, Any]) -> str:
    """'500 people', '1,000 to 5,000 records', or 'not given'."""
    low, high, unit = b["affected_low"], b["affected_high"], b["affected_unit"] or ""
    if low is None:
        return "not given"
    shown = f"{low:,}" if low == high else f"{low:,} to {high:,}"
    return f"{shown} {unit}".strip()


def _write_report(report: Any, path: Path) -> None:
    try:
        report.write_csv(path)
    except OSError as e:
        raise click.ClickException(f"cannot write the error report {path}: {e}") from e


@cli.command("clean")
@click.option("--every", type=click.IntRange(min=10), metavar="SECONDS",
              help="Clean again every SECONDS until stopped (as `registry serve` does).")  # fmt: skip
def clean_command(every: int | None) -> None:
    """Delete uploads past REGISTRY_UPLOAD_RETENTION_HOURS, old import jobs and the copies
    of databases that killed processes left behind."""
    s = settings()
    while True:
        try:
            report = cleanup.clean_up(s, time.time())
        except OSError as e:
            if every is None:
                raise click.ClickException(f"clean-up stopped: {e.strerror}") from e
            click.echo(f"clean-up failed, trying again in {every} s: {e.strerror}", err=True)
        else:
            if every is None or any((report.uploads, report.sent, report.jobs, report.leftovers)):
                click.echo(report.summary())
        if every is None:
            return
        time.sleep(every)


@cli.command("create-user")
@click.argument("name")
@click.option("--role", type=click.Choice(["reviewer", "admin"]), required=True, help="What the account may do.")
@click.password_option(help="Prompted, twice, when not given (at least 12 characters).")
def create_user(name: str, role: str, password: str) -> None:
    """Create a reviewer or admin account (the password is stored hashed with argon2)."""
    s = settings()
    try:
        db = connect(s.intake_db)
        try:
            accounts.create_user(db, name, password, role)
        finally:
            db.close()
    except (*USER_ERRORS, accounts.AccountError) as e:
        raise click.ClickException(f"account not created: {e}") from e
    click.echo(f"Created {role} account '{name}'")


@cli.command()
@click.option("--port", type=int, help="Intake app port (default 5000, or REGISTRY_PORT).")
@click.option("--datasette-port", type=int, help="Datasette port (default 8001, or REGISTRY_DATASETTE_PORT).")
def serve(port: int | None, datasette_port: int | None) -> None:
    """Serve the intake app and Datasette together until interrupted."""
    from registry.serve import serve_both

    s = settings()
    try:
        serve_both(s, port or s.intake_port, datasette_port or s.datasette_port)
    except USER_ERRORS as e:
        raise click.ClickException(str(e)) from e


if __name__ == "__main__":  # `python -m registry.cli`: how `registry serve` starts its cleaner
    cli()
