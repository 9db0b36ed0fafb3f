"""`registry check`: prove that registry.db is sound, public and up to date, and that no
private or withdrawn text is anywhere in its file (registry/services/traces.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from registry.config import Settings
from registry.rules.persons import unstated_person
from registry.services import traces
from registry.services.publisher import build_fresh
from registry.store import public
from registry.store.connection import connect
from registry.store.schema import actual_columns, declared_columns, integrity_problems, table_rows


def check(settings: Settings) -> list[str]:
    """Return every problem found; an empty list means all is well."""
    intake = connect(settings.intake_db, readonly=True)
    registry = connect(settings.registry_db, readonly=True)
    try:
        problems = [f"intake.db: {p}" for p in integrity_problems(intake)]
        problems += [f"registry.db: {p}" for p in integrity_problems(registry)]
        problems += schema_problems(registry)
        problems += unsourced_problems(registry)
        problems += person_problems(registry)
        with rebuilt(settings) as fresh:
            # What a rebuild publishes is public: a private value equal to one is no leak.
            problems += traces.trace_problems(intake, registry, settings.registry_db, fresh)
            if not problems:
                problems += rebuild_problems(registry, fresh)
    finally:
        intake.close()
        registry.close()
    return problems


@contextmanager
def rebuilt(settings: Settings) -> Iterator[sqlite_utils.Database]:
    """A registry database built from scratch from intake.db, removed afterwards."""
    built = build_fresh(settings.intake_db, Path(settings.registry_db).parent)
    fresh = connect(built, readonly=True)
    try:
        yield fresh
    finally:
        fresh.close()
        built.unlink(missing_ok=True)


def schema_problems(registry: sqlite_utils.Database) -> list[str]:
    """Tables or columns in registry.db that schema.sql does not declare public."""
    declared = declared_columns("registry")
    problems = []
    for table, columns in actual_columns(registry).items():
        if table.startswith("sqlite_") or public.is_search_table(table):
            continue
        if table not in declared:
            kind = "a private table" if table in declared_columns("intake") else "an undeclared table"
            problems.append(f"registry.db holds {kind}: {table}")
            continue
        for column in set(columns) - set(declared[table]):
            problems.append(f"registry.db holds an undeclared column: {table}.{column}")
    return problems


def unsourced_problems(registry: sqlite_utils.Database) -> list[str]:
    """Published relationships and breaches without a citation."""
    found = [f"registry.db relationship {i} has no citation" for i in public.unsourced_relationship_ids(registry)]
    return found + [f"registry.db breach {i} has no citation" for i in public.unsourced_breach_ids(registry)]


def person_problems(registry: sqlite_utils.Database) -> list[str]:
    """Published organisations whose name, or one of their aliases, looks like a private person's,
    with no statement of why it is an organisation's (registry.rules.persons; the importer and the
    forms judge aliases too, and a reviewer's edit could add one)."""
    named = [
        f"registry.db organisation {org_id} '{name}' looks like a private person's name and has no "
        "person_name_reason: state why it is an organisation, or withdraw it"
        for org_id, name, reason in public.organisation_names(registry)
        if unstated_person(name, reason)
    ]
    return named + [
        f"registry.db organisation {org_id} has the alias '{alias}', which looks like a private person's name, "
        "and no person_name_reason: state why it is an organisation's, or remove the alias"
        for org_id, alias, reason in public.alias_names(registry)
        if unstated_person(alias, reason)
    ]


def rebuild_problems(registry: sqlite_utils.Database, fresh: sqlite_utils.Database) -> list[str]:
    """Differences between registry.db and a database rebuilt from scratch."""
    return [
        f"registry.db table {table} differs from a rebuild (run `registry publish`)"
        for table in declared_columns("registry")
        if table_rows(registry, table) != table_rows(fresh, table)
    ]
