"""Every foreign key has an index SQLite can use for it.

Deleting a parent row makes SQLite look for its children through each foreign key that
points at it; without an index whose leading columns are the key's, that is a scan of the
whole child table per deleted row. Rejecting an import of about 130,000 organisations
held an intake worker at 100% CPU for over 20 minutes that way (issue 15, part 9:
`organisations.merged_into_id`, `organisation_redirects.organisation_id` and
`relationships.vendor_id`, whose only index was partial). The databases are made with
`registry.store.schema.create`, as `registry init` makes them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from registry.cli import cli
from registry.store.schema import create, schema_version
from tests.conftest import query


def usable_indexes(db: sqlite_utils.Database, table: str) -> list[tuple[str, ...]]:
    """The column lists of `table`'s indexes that are not partial (a partial index holds
    only some rows, so SQLite cannot use it to find every child of a parent)."""
    found = []
    for _, name, _unique, _origin, partial in db.execute(f"PRAGMA index_list([{table}])").fetchall():
        if partial:
            continue
        columns = tuple(r[2] for r in db.execute(f"PRAGMA index_info([{name}])").fetchall())
        found.append(columns)
    # A rowid or INTEGER PRIMARY KEY alias is an index of its own.
    pk = [r[1] for r in sorted(db.execute(f"PRAGMA table_info([{table}])").fetchall(), key=lambda r: r[5]) if r[5]]
    if pk:
        found.append(tuple(pk))
    return found


def foreign_keys(db: sqlite_utils.Database, table: str) -> dict[int, tuple[str, tuple[str, ...]]]:
    """id -> (parent table, child columns in order) of every foreign key of `table`."""
    keys: dict[int, tuple[str, list[str]]] = {}
    for fk_id, seq, parent, column, *_ in sorted(db.execute(f"PRAGMA foreign_key_list([{table}])").fetchall(),
                                                 key=lambda r: (r[0], r[1])):  # fmt: skip
        keys.setdefault(fk_id, (parent, []))[1].append(column)
        assert seq == len(keys[fk_id][1]) - 1
    return {k: (parent, tuple(columns)) for k, (parent, columns) in keys.items()}


def unindexed_foreign_keys(db: sqlite_utils.Database) -> list[str]:
    """'table.column -> parent' of every foreign key without an index it can use."""
    missing = []
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    for table in tables:
        indexes = usable_indexes(db, table)
        for parent, columns in sorted(foreign_keys(db, table).values(), key=lambda k: k[1]):
            if not any(index[: len(columns)] == columns for index in indexes):
                missing.append(f"{table}.{','.join(columns)} -> {parent}")
    return missing


@pytest.mark.parametrize("kind", ["intake", "registry"])
def test_every_foreign_key_has_a_usable_index(tmp_path: Path, kind: str):
    path = tmp_path / f"{kind}.db"
    create(path, kind)
    db = sqlite_utils.Database(path)
    assert foreign_keys(db, "relationships"), "the check reads no foreign keys"
    assert unindexed_foreign_keys(db) == []


def test_the_check_finds_a_missing_and_a_partial_index():
    db = sqlite_utils.Database(memory=True)
    db.executescript(
        "CREATE TABLE parents (id INTEGER PRIMARY KEY);"
        "CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parents(id), "
        " other_id INTEGER REFERENCES parents(id), third_id INTEGER REFERENCES parents(id), status TEXT);"
        "CREATE INDEX children_other ON children(other_id) WHERE status = 'approved';"
        "CREATE INDEX children_third_status ON children(status, third_id);"
    )
    assert unindexed_foreign_keys(db) == [
        "children.other_id -> parents",
        "children.parent_id -> parents",
        "children.third_id -> parents",
    ]
    db.execute("CREATE INDEX children_parent ON children(parent_id, status)")
    assert "children.parent_id -> parents" not in unindexed_foreign_keys(db)


def test_init_adds_new_indexes_to_an_existing_intake_db(seeded):
    """An intake.db made before the indexes were added (same tables, another user_version)
    gets them from `registry init`, with its rows kept."""
    conn = sqlite3.connect(seeded.intake_db)
    conn.execute("DROP INDEX organisations_merged_into")
    conn.execute("DROP INDEX relationships_vendor")
    conn.execute("PRAGMA user_version = 12345")
    conn.commit()
    conn.close()
    organisations = query(seeded.intake_db, "SELECT count(*) FROM organisations")[0][0]
    result = CliRunner().invoke(cli, ["init"])
    assert result.exit_code == 0, result.output
    assert unindexed_foreign_keys(sqlite_utils.Database(seeded.intake_db)) == []
    assert query(seeded.intake_db, "SELECT count(*) FROM organisations")[0][0] == organisations > 0
    assert query(seeded.intake_db, "PRAGMA user_version")[0][0] == schema_version("intake")
