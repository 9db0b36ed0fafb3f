"""The `registry` command: a thin layer that turns domain errors into clear messages."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import click

from registry import accounts, publisher, seed
from registry.check import check as run_check
from registry.config import Settings, SettingsError, load_settings
from registry.countries import country_rows, subdivision_rows
from registry.store import intake as store
from registry.store.database import DatabaseError, connect, create, transaction

# Errors that mean "your input or your files are wrong", not "the program is broken".
USER_ERRORS = (
    DatabaseError,
    SettingsError,
    seed.SeedError,
    publisher.PublishError,
    store.UnknownReferenceError,
    sqlite3.IntegrityError,
    sqlite3.OperationalError,
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


@cli.command()
def init() -> None:
    """Create intake.db and registry.db from schema.sql and load the vocabularies."""
    s = settings()
    try:
        vocabularies = seed.read_vocabularies(s.seed_dir)
        for path, kind in ((s.intake_db, "intake"), (s.registry_db, "registry")):
            created = create(path, kind)
            db = connect(path)
            with transaction(db):
                store.load_reference_data(db, vocabularies, country_rows(), subdivision_rows())
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
        f"{len(data.disclosures)} disclosures, {len(data.relationships)} relationships"
    )


@cli.command()
@click.option("--rebuild", is_flag=True, help="Build registry.db from scratch instead of updating it.")
@click.option("--out", type=click.Path(dir_okay=True, path_type=Path), help="Write a snapshot to this file or folder.")
def publish(rebuild: bool, out: Path | None) -> None:
    """Publish approved rows from intake.db to registry.db (or a snapshot with --out)."""
    s = settings()
    try:
        if out is not None:
            target = out / "registry.db" if out.is_dir() else out
            report = publisher.rebuild(s, target)
        elif rebuild:
            report = publisher.rebuild(s)
        else:
            report = publisher.publish(s)
    except USER_ERRORS as e:
        raise click.ClickException(f"not published, registry.db unchanged: {e}") from e
    click.echo(report.summary())


@cli.command()
def check() -> None:
    """Check both databases: integrity, no private data in registry.db, up to date."""
    s = settings()
    try:
        problems = run_check(s)
    except USER_ERRORS as e:
        raise click.ClickException(str(e)) from e
    if problems:
        raise click.ClickException("check failed:\n" + "\n".join(f"- {p}" for p in problems))
    click.echo(f"ok: {s.registry_db} holds only public tables, columns and values, and matches a rebuild")


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
