"""schema.sql: loads, is strict, and its public views match the public tables."""

from __future__ import annotations

import sqlite3

import pytest
import sqlite_utils

from registry.store.public import PUBLIC_TABLES, VOCABULARY_TABLES
from registry.store.schema import declared_columns, schema_for, schema_parts


def test_schema_has_three_parts():
    assert set(schema_parts()) == {"shared", "intake", "registry"}


def test_schema_loads_into_empty_databases():
    for kind in ("intake", "registry"):
        db = sqlite_utils.Database(memory=True)
        db.executescript(schema_for(kind))
        assert "organisations" in db.table_names()
        assert "countries" in db.table_names()


def test_every_table_is_strict():
    for kind in ("intake", "registry"):
        db = sqlite_utils.Database(memory=True)
        db.executescript(schema_for(kind))
        sqls = {r["name"]: r["sql"] for r in db.query("select name, sql from sqlite_master where type = 'table'")}
        loose = [name for name, sql in sqls.items() if not sql.rstrip().endswith("STRICT")]
        assert loose == []


def test_private_tables_are_not_in_the_registry_part():
    registry = declared_columns("registry")
    for table in ("submissions", "users", "reviews", "audit_log"):
        assert table in declared_columns("intake")
        assert table not in registry


def test_private_columns_are_not_in_the_registry_part():
    registry = declared_columns("registry")
    for table, columns in registry.items():
        assert not {"status", "submission_id", "created_at", "updated_at", "merged_into_id"} & set(columns), table


def test_public_views_have_the_columns_of_the_public_tables():
    intake = declared_columns("intake")
    registry = declared_columns("registry")
    db = sqlite_utils.Database(memory=True)
    db.executescript(schema_for("registry"))
    assert set(db.view_names()) == {"relationship_sources"}  # a view for readers over the public tables
    assert set(PUBLIC_TABLES) == set(registry) - set(db.view_names())
    for table in PUBLIC_TABLES:
        origin = table if table in VOCABULARY_TABLES else f"public_{table}"
        assert intake[origin] == registry[table], table


def test_faceted_columns_are_indexed():
    db = sqlite_utils.Database(memory=True)
    db.executescript(schema_for("registry"))
    indexed = {idx.columns[0] for idx in db["relationships"].indexes}
    assert {"vendor", "client_sector", "client_country", "arrangement", "disclosure", "start_date"} <= indexed


def test_arrangement_vocabulary_is_constrained():
    db = sqlite_utils.Database(memory=True)
    db.executescript(schema_for("intake"))
    db["arrangements"].insert({"code": "pitch", "label": "Pitch", "description": "x"})
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        db["arrangements"].insert({"code": "rumour", "label": "Rumour", "description": "x"})


def test_a_code_and_a_label_never_share_a_column_name():
    """A column that holds a vocabulary code (a foreign key to a vocabulary's `code`) in one
    database holds a code under that name in the other too: registry.db's `arrangement` is
    a label, so intake.db's code is `arrangement_code`, as it is in registry.db."""
    codes: dict[str, dict[tuple[str, str], str]] = {}
    columns: dict[str, dict[str, tuple[str, ...]]] = {}
    for kind in ("intake", "registry"):
        db = sqlite_utils.Database(memory=True)
        db.executescript(schema_for(kind))
        columns[kind] = {t: tuple(c.name for c in db[t].columns) for t in db.table_names()}
        codes[kind] = {
            (table, fk[3]): fk[2]
            for table in db.table_names()
            for fk in db.execute(f"PRAGMA foreign_key_list([{table}])").fetchall()
            if fk[2] in VOCABULARY_TABLES and fk[4] == "code"
        }
    assert ("relationships", "arrangement_code") in codes["intake"]
    for kind, other in (("intake", "registry"), ("registry", "intake")):
        for (table, column), vocabulary in codes[kind].items():
            if column in columns[other].get(table, ()):
                assert codes[other].get((table, column)) == vocabulary, f"{table}.{column}: a code in {kind}.db only"
