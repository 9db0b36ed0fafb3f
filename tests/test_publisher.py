"""The publisher: only approved, sourced rows; incremental equals rebuild."""

from __future__ import annotations

import json
import sqlite3

from registry.services import publisher
from registry.store.connection import connect
from registry.store.schema import declared_columns, table_rows
from tests.conftest import invoke


def org(slug):
    """SQL for the id of the organisation with this slug."""
    return f"(select id from organisations where slug = '{slug}')"


def rows(path, sql, params=()):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def intake_exec(settings, sql, params=()):
    conn = sqlite3.connect(settings.intake_db)
    conn.execute(sql, params)
    conn.commit()
    conn.close()


def assert_incremental_equals_rebuild(settings, tmp_path):
    publisher.publish(settings)
    snapshot = tmp_path / "rebuilt.db"
    publisher.rebuild(settings, snapshot)
    live, fresh = connect(settings.registry_db), connect(snapshot)
    for table in declared_columns("registry"):
        assert table_rows(live, table) == table_rows(fresh, table), table


def test_seed_rows_are_published_with_labels(seeded):
    row = rows(
        seeded.registry_db,
        "select vendor, client_sector, client_country, client_country_code, arrangement "
        "from relationships where client_id = (select id from organisations where slug = 'belgian-federal-police')",
    )
    assert row == [("Clearview AI", "Law enforcement", "Belgium", "BE", "Unknown")]


def test_pending_relationship_is_not_published(seeded, tmp_path):
    count = rows(seeded.registry_db, "select count(*) from relationships")[0][0]
    intake_exec(
        seeded,
        f"update relationships set status = 'pending' where client_id = {org('coinbase')}",
    )
    assert_incremental_equals_rebuild(seeded, tmp_path)
    assert rows(seeded.registry_db, "select count(*) from relationships")[0][0] == count - 1
    assert rows(seeded.registry_db, "select count(*) from relationships where client = 'Coinbase'")[0][0] == 0
    # Its citations and responses went with it.
    assert rows(
        seeded.registry_db, "select count(*) from responses where relationship_id not in (select id from relationships)"
    ) == [(0,)]


def test_relationship_whose_only_source_is_unapproved_is_not_published(seeded, tmp_path):
    intake_exec(
        seeded,
        "update sources set status = 'pending' where id in (select source_id from citations c "
        "join relationships r on r.id = c.relationship_id join organisations o on o.id = r.client_id "
        "where o.slug = 'dgse')",
    )
    assert_incremental_equals_rebuild(seeded, tmp_path)
    assert rows(seeded.registry_db, "select count(*) from relationships where client = 'DGSE'") == [(0,)]
    assert invoke("check").exit_code == 0


def test_withdrawn_relationship_leaves_registry_but_stays_in_intake(seeded, tmp_path):
    intake_exec(
        seeded,
        f"update relationships set status = 'withdrawn' where vendor_id = {org('palantir-technologies')}",
    )
    assert_incremental_equals_rebuild(seeded, tmp_path)
    assert rows(seeded.registry_db, "select count(*) from relationships where vendor = 'Palantir Technologies'") == [
        (0,)
    ]
    assert rows(
        seeded.intake_db,
        f"select status from relationships where vendor_id = {org('palantir-technologies')}",
    ) == [("withdrawn",)]


def test_renamed_organisation_updates_every_label(seeded, tmp_path):
    intake_exec(seeded, "update organisations set name = 'Clearview AI, Inc.' where slug = 'clearview-ai'")
    report = publisher.publish(seeded)
    assert report.changes["organisations"] == {"removed": 0, "updated": 1, "added": 0}
    vendors = rows(seeded.registry_db, "select distinct vendor from relationships where vendor like 'Clearview%'")
    assert vendors == [("Clearview AI, Inc.",)]
    assert_incremental_equals_rebuild(seeded, tmp_path)


def test_rebuild_replaces_content_of_the_live_file(seeded):
    inode = seeded.registry_db.stat().st_ino
    publisher.rebuild(seeded)
    assert seeded.registry_db.stat().st_ino == inode  # readers with the file open see the new content
    assert invoke("check").exit_code == 0


def test_publish_out_writes_a_release_that_validates_as_a_data_package(seeded, tmp_path):
    import frictionless

    out = tmp_path / "releases"
    result = invoke("publish", "--out", str(out))
    assert result.exit_code == 0, result.output
    (folder,) = out.iterdir()
    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    assert package["licenses"][0]["name"] == "CC-BY-4.0"
    assert package["previous_release"] is None
    resources = {r["path"]: r for r in package["resources"]}
    assert resources["relationships.csv"]["rows"] == 28
    fields = {f["name"]: f for f in resources["relationships.csv"]["schema"]["fields"]}
    assert fields["client_country"]["description"] == "The client's country."
    assert fields["trial_days"]["type"] == "integer"
    report = frictionless.validate(folder / "datapackage.json")
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    snapshot = folder / "registry.db"
    assert rows(snapshot, "select count(*) from relationships") == [(28,)]


def test_release_lists_what_changed_since_the_previous_one(seeded, tmp_path):
    out = tmp_path / "releases"
    assert invoke("publish", "--out", str(out)).exit_code == 0
    intake_exec(seeded, f"update relationships set status = 'withdrawn' where client_id = {org('equinox')}")
    intake_exec(seeded, "update organisations set description = 'Changed.' where slug = 'walmart'")
    assert invoke("publish").exit_code == 0
    result = invoke("publish", "--out", str(out))
    assert result.exit_code == 0, result.output
    first, second = sorted(out.iterdir())
    package = json.loads((second / "datapackage.json").read_text(encoding="utf-8"))
    assert package["previous_release"] == first.name
    assert package["changes"]["relationships"] == {"added": 0, "changed": 0, "withdrawn": 1}
    assert package["changes"]["organisations"] == {"added": 0, "changed": 1, "withdrawn": 0}
    assert "relationships: +0 ~0 -1" in result.output
