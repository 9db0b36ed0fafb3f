"""`registry check`: prove that registry.db is sound, public and up to date."""

from __future__ import annotations

import re
from pathlib import Path

import sqlite_utils

from registry.config import Settings
from registry.services.publisher import build_fresh
from registry.store import private, public
from registry.store.connection import connect
from registry.store.schema import actual_columns, declared_columns, integrity_problems, table_rows, text_cells


def check(settings: Settings) -> list[str]:
    """Return every problem found; an empty list means all is well."""
    intake = connect(settings.intake_db, readonly=True)
    registry = connect(settings.registry_db, readonly=True)
    try:
        problems = [f"intake.db: {p}" for p in integrity_problems(intake)]
        problems += [f"registry.db: {p}" for p in integrity_problems(registry)]
        problems += schema_problems(registry)
        problems += private_value_problems(registry, private.private_values(intake))
        problems += unsourced_problems(registry)
        if not problems:
            problems += rebuild_problems(settings, registry)
    finally:
        intake.close()
        registry.close()
    return problems


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


def private_value_problems(registry: sqlite_utils.Database, values: set[str]) -> list[str]:
    """Cells of registry.db that contain a value from a private column of intake.db."""
    if not values:
        return []
    # Whole words only: a reviewer called "admin" is not leaked by "Administration".
    alternatives = "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))
    pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
    problems = []
    contributed = [
        t for t in registry.table_names() if t not in public.VOCABULARY_TABLES and not public.is_search_table(t)
    ]
    for table in contributed:
        for column, cell in text_cells(registry, table):
            if pattern.search(cell):
                problems.append(f"registry.db {table}.{column} holds a private value")
                break
    return problems


def unsourced_problems(registry: sqlite_utils.Database) -> list[str]:
    """Published relationships without a citation."""
    return [
        f"registry.db relationship {row_id} has no citation" for row_id in public.unsourced_relationship_ids(registry)
    ]


def rebuild_problems(settings: Settings, registry: sqlite_utils.Database) -> list[str]:
    """Differences between registry.db and a database rebuilt from scratch."""
    built = build_fresh(settings.intake_db, Path(settings.registry_db).parent)
    fresh = connect(built, readonly=True)
    try:
        return [
            f"registry.db table {table} differs from a rebuild (run `registry publish`)"
            for table in declared_columns("registry")
            if table_rows(registry, table) != table_rows(fresh, table)
        ]
    finally:
        fresh.close()
        built.unlink(missing_ok=True)
