"""The registry command: init, seed, publish and check, including bad input."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner

from registry.cli import cli
from tests.conftest import dump, invoke


def test_every_command_has_help():
    for name, command in cli.commands.items():
        assert command.help, name
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0
        assert command.help.split()[0] in result.output


def test_init_is_idempotent(instance):
    assert invoke("init").exit_code == 0
    before = dump(instance.intake_db), dump(instance.registry_db)
    result = invoke("init")
    assert result.exit_code == 0
    assert "Checked" in result.output
    assert (dump(instance.intake_db), dump(instance.registry_db)) == before


def test_init_loads_countries_with_french_names(instance):
    invoke("init")
    conn = sqlite3.connect(instance.intake_db)
    row = conn.execute("select name, name_fr from countries where code = 'BE'").fetchone()
    assert row == ("Belgium", "Belgique")
    assert conn.execute("select name from subdivisions where code = 'US-OH'").fetchone() == ("Ohio",)


def test_seed_is_idempotent(instance):
    invoke("init")
    assert invoke("seed").exit_code == 0
    before = dump(instance.intake_db)
    result = invoke("seed")
    assert result.exit_code == 0, result.output
    assert dump(instance.intake_db) == before


def test_seed_before_init_names_the_missing_file(instance):
    result = CliRunner().invoke(cli, ["seed"])
    assert result.exit_code == 1
    assert "intake.db: database file not found" in result.output
    assert "registry init" in result.output
    assert not instance.intake_db.exists()


def test_corrupt_database_gets_a_clear_error(instance):
    invoke("init")
    instance.intake_db.write_bytes(b"this is not a database" * 100)
    result = CliRunner().invoke(cli, ["seed"])
    assert result.exit_code == 1
    assert "not a usable SQLite database" in result.output
    assert "Traceback" not in result.output


def test_publish_is_idempotent_and_reports_no_changes(seeded):
    before = dump(seeded.registry_db)
    result = invoke("publish")
    assert result.exit_code == 0
    assert "(no changes)" in result.output
    assert dump(seeded.registry_db) == before


def test_bad_port_setting_is_named(instance, monkeypatch):
    monkeypatch.setenv("REGISTRY_PORT", "fifty")
    result = CliRunner().invoke(cli, ["init"])
    assert result.exit_code == 1
    assert "REGISTRY_PORT='fifty' is not a port number" in result.output


def test_check_passes_on_a_published_database(seeded):
    result = invoke("check")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok:")


@pytest.mark.parametrize(
    ("plant", "message"),
    [
        (
            "create table submissions (id integer primary key, submitter_contact text)",
            "registry.db holds a private table: submissions",
        ),
        ("create table scratch (x text)", "registry.db holds an undeclared table: scratch"),
        ("alter table organisations add column status text", "undeclared column: organisations.status"),
    ],
)
def test_check_fails_on_planted_schema(seeded, plant, message):
    conn = sqlite3.connect(seeded.registry_db)
    conn.execute(plant)
    conn.commit()
    conn.close()
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 1
    assert message in result.output


def test_check_fails_when_a_submitter_email_is_published(seeded):
    email = "whistle.blower@example.org"
    intake = sqlite3.connect(seeded.intake_db)
    intake.execute(
        "insert into submissions (reference, kind, payload, submitter_contact, created_at) "
        "values ('S-1', 'relationship', '{}', ?, '2026-01-01T00:00:00Z')",
        [email],
    )
    intake.commit()
    intake.close()
    assert invoke("check").exit_code == 0  # private, and not published: fine
    registry = sqlite3.connect(seeded.registry_db)
    registry.execute(
        "update relationships set notes = 'tip from ' || ? where id = (select min(id) from relationships)", [email]
    )
    registry.commit()
    registry.close()
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 1
    assert "registry.db relationships.notes holds a private value" in result.output


def test_check_fails_when_registry_is_stale(seeded):
    intake = sqlite3.connect(seeded.intake_db)
    intake.execute("update organisations set name = 'Renamed' where slug = 'coinbase'")
    intake.commit()
    intake.close()
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 1
    assert "table organisations differs from a rebuild" in result.output
    assert invoke("publish").exit_code == 0
    assert invoke("check").exit_code == 0


def test_init_refuses_an_intake_db_from_another_schema_and_rebuilds_registry(seeded):
    for path in (seeded.intake_db, seeded.registry_db):
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA user_version = 12345")
        conn.execute("CREATE TABLE legacy_notes (note TEXT)")  # a table this schema.sql does not have
        conn.commit()
        conn.close()
    before = dump(seeded.intake_db)
    result = CliRunner().invoke(cli, ["init"])
    assert result.exit_code == 1
    assert "made by a different schema.sql" in result.output
    assert dump(seeded.intake_db) == before
    conn = sqlite3.connect(seeded.intake_db)
    conn.execute("PRAGMA user_version = 0")  # an intake.db from before versions: accepted as it is
    conn.commit()
    conn.close()
    assert invoke("init").exit_code == 0
    assert invoke("publish", "--rebuild").exit_code == 0
    assert invoke("check").exit_code == 0
