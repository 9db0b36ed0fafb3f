"""The importer checks each distinct value once and keeps the answer: every row repeating a bad
value is still reported under its own number, and a client's spellings still meet. The move
into intake.db runs without row-by-row foreign key checks: a reference to a row removed
meanwhile is still caught. Slugs are checked a batch at a time, and a large file's rows are
staged by a second process: the same rows either way."""

from __future__ import annotations

import pytest

from registry.importer import service, stager
from registry.importer.run import ImportFailed, _default_summary
from registry.rules.records import build_organisation, free_text_errors
from registry.store import staging
from registry.store.connection import DatabaseError, connect
from registry.store.vocabulary import load_vocabulary
from tests.conftest import query

MAPPING = """
vendor: {new: {name: Clearview AI}}
source: {new: {title: Test list, language: en}}
client:
  name: {column: Client, transforms: [collapse]}
  kind: {value: public-agency}
  sector: {value: law-enforcement}
  country: {column: Country}
  subdivision: {column: State, transforms: [trim, upper], prefix: "US-"}
relationship:
  arrangement: {column: Stage, map: {trial: trial, paid: contract}, default: unknown}
  start_date: {column: Start, formats: ["%m/%d/%Y"]}
observations:
  - metric: searches
    unit: searches
    value: {column: Searches, null_if: [Unknown]}
"""
HEADER = "Client,Country,State,Stage,Start,Searches"


def import_rows(settings, tmp_path, rows: list[str]):
    (tmp_path / "m.yml").write_text(MAPPING, encoding="utf-8")
    (tmp_path / "list.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return service.import_file(settings, tmp_path / "list.csv", tmp_path / "m.yml")


def test_a_repeated_bad_value_is_reported_on_every_row(seeded, tmp_path):
    rows = [
        "Oakdale Police Department,US,OH,trial,02/30/2020,12",  # no 30 February
        "Oakdale Police Department,USA,OH,trial,02/30/2020,12",
        "Pinewood Police Department,États-Unis,XX ,paid,01/02/2020,many",  # no state XX; not a figure
        "Pinewood Police Department,US,XX,paid,01/02/2020,many",
        "Cedar Sheriff's Office,US,TX,paid,01/02/2020,3",
    ]
    with pytest.raises(ImportFailed) as failed:
        import_rows(seeded, tmp_path, rows)
    errors = [(p.row, p.column, p.value) for p in failed.value.report.errors]
    assert errors.count((2, "relationship.start_date", "02/30/2020")) == 1
    assert errors.count((3, "relationship.start_date", "02/30/2020")) == 1
    for row in (4, 5):
        assert (row, "client.subdivision", "US-XX") in errors
        assert (row, "observation.searches.low", "many") in errors
    assert not [e for e in errors if e[0] == 6]
    assert query(seeded.intake_db, "select count(*) from submissions where kind = 'import'") == [(0,)]


def test_spellings_of_one_client_meet_whatever_the_country_is_called(seeded, tmp_path):
    rows = [
        "Oakdale Police Department,US,OH,trial,02/03/2020,12",
        "Oakdale  Police Department,United States,OH ,trial,02/03/2020,Unknown",  # the same relationship
        "Oakdale PD,États-Unis,oh,paid,02/04/2020,",  # another spelling: an alias, and a later stage (reported)
        "Oakdale Police Department,US,TX,paid,01/02/2020,3",  # another place: another organisation
    ]
    result = import_rows(seeded, tmp_path, rows)
    report = result.report
    assert (report.rows_stored, report.new_organisations, report.relationships_stored) == (4, 2, 2)
    assert [(p.row, p.column) for p in report.skipped] == [(4, "relationship")]
    submission = query(seeded.intake_db, "select id from submissions where reference = ?", [result.reference])[0][0]
    assert query(
        seeded.intake_db,
        "select name, country, subdivision from organisations where submission_id = ? and name like 'Oakdale%' "
        "order by subdivision",
        [submission],
    ) == [("Oakdale Police Department", "US", "US-OH"), ("Oakdale Police Department", "US", "US-TX")]
    assert query(seeded.intake_db, "select alias from organisation_aliases where submission_id = ?", [submission]) == [
        ("Oakdale PD",)
    ]
    assert query(seeded.intake_db, "select count(*) from citations where submission_id = ?", [submission]) == [(4,)]
    assert query(
        seeded.intake_db, "select low from observations where submission_id = ? order by low", [submission]
    ) == [
        (3.0,),
        (12.0,),
    ]
    assert query(seeded.intake_db, "pragma foreign_key_check") == []


def test_a_reference_to_a_row_removed_meanwhile_fails_the_move(seeded, tmp_path):
    """Staged rows refer to organisations and sources stored before the import; if one of them
    were gone by the time the rows are moved, the move fails instead of storing a dangling row."""
    db = connect(seeded.intake_db)
    vendor, source = db.execute("select min(id), (select min(id) from sources) from organisations").fetchone()
    gone = db.execute("select max(id) + 1000 from organisations").fetchone()[0]  # no such organisation
    first_relationship = db.execute("select max(id) + 1 from relationships").fetchone()[0]
    path = tmp_path / "staging.db"
    stage = staging.open_staging(path)
    staging.stage_constants(stage, {"disclosure_id": None, "status": "pending", "approved_at": None,
                                    "submission_id": None, "created_at": "2024-01-01T00:00:00Z"})  # fmt: skip
    relationship = {"id": first_relationship, "vendor_id": vendor, "client_id": gone, "arrangement_code": "unknown",
                    "summary": "A client."}  # fmt: skip
    staging.stage_rows(stage, "relationships", [tuple(map(relationship.get, staging.STAGED["relationships"]))])
    citation = {"id": 1, "relationship_id": first_relationship, "source_id": source, "locator": "row 2"}
    staging.stage_rows(stage, "citations", [tuple(map(citation.get, staging.STAGED["citations"]))])
    staging.close_staging(stage)
    try:
        with pytest.raises(DatabaseError, match=f"relationships.client_id: organisations {gone} was removed"):
            staging.move(db, path, first_relationship)
        assert db.execute("pragma foreign_keys").fetchone() == (1,)  # checked again on this connection
    finally:
        db.close()


def test_new_organisations_whose_slugs_are_taken_get_the_next_free_numbers(seeded, tmp_path):
    """Slugs are checked against intake.db a batch at a time; the numbers are those one query per
    organisation gave: the first free one, in the order of the rows."""
    db = connect(seeded.intake_db)
    for slug in ("oakdale-police-department", "oakdale-police-department-3"):
        db.execute("insert into organisations (slug, name, name_key, kind, sector, country, subdivision, status, "
                   "created_at, updated_at) values (?, 'Oakdale Police Department', 'oakdale police department', "
                   "'public-agency', 'law-enforcement', 'US', 'US-TX', 'approved', 'x', 'x')", [slug])  # fmt: skip
    db.conn.commit()
    db.close()
    rows = ["Oakdale Police Department,US,OH,trial,02/03/2020,12", "Oakdale Police Department,US,CA,paid,,"]
    result = import_rows(seeded, tmp_path, rows)
    assert result.report.new_organisations == 2
    assert query(
        seeded.intake_db,
        "select subdivision, slug from organisations where submission_id is not null "
        "and name_key = 'oakdale police department' order by id",
    ) == [
        ("US-OH", "oakdale-police-department-2"),
        ("US-CA", "oakdale-police-department-4"),
    ]


def test_a_large_file_is_staged_by_a_second_process_with_the_same_rows(seeded, tmp_path, monkeypatch):
    monkeypatch.setattr(stager, "SEPARATE_FROM", 0)  # every file is large
    started = []
    popen = stager.subprocess.Popen
    monkeypatch.setattr(stager.subprocess, "Popen", lambda *a, **k: started.append(a[0]) or popen(*a, **k))
    rows = ["Oakdale Police Department,US,OH,trial,02/03/2020,12", "Oakdale PD,USA,OH,paid,02/04/2020,",
            "Pinewood Police Department,US,TX,paid,01/02/2020,3"]  # fmt: skip
    result = import_rows(seeded, tmp_path, rows)
    assert len(started) == 1 and started[0][1:3] == ["-m", "registry.importer.stager"]
    submission = query(seeded.intake_db, "select id from submissions where reference = ?", [result.reference])[0][0]
    assert query(seeded.intake_db, "select o.name, r.arrangement_code, r.start_date from relationships r join "
                 "organisations o on o.id = r.client_id where r.submission_id = ? order by r.id", [submission]) == [
        ("Oakdale Police Department", "trial", "2020-02-03"),
        ("Pinewood Police Department", "contract", "2020-01-02"),
    ]  # fmt: skip
    assert query(seeded.intake_db, "select count(*) from citations where submission_id = ?", [submission]) == [(3,)]
    assert query(seeded.intake_db, "select alias from organisation_aliases where submission_id = ?", [submission]) == [
        ("Oakdale PD",)
    ]
    assert list(seeded.intake_db.parent.glob("intake.db.staging-*")) == []


def test_a_staging_process_that_dies_fails_the_import_clearly(tmp_path):
    rows = stager.Stager(tmp_path / "staging.db", separate=True)
    rows.process.kill()
    rows.process.wait()
    constants = {"disclosure_id": None, "status": "pending", "approved_at": None, "submission_id": None,
                 "created_at": "2024-01-01T00:00:00Z"}  # fmt: skip
    with pytest.raises(stager.StagingError, match=r"staging the rows in staging\.db failed"):
        rows.write(constants, {"citations": [(1, 1, 1, "row 2", None)]})
    rows.abandon()


def test_a_staging_process_that_fails_says_why_and_nothing_is_kept(tmp_path):
    """The child's own error (here rows of the wrong width: SQLite refuses them) ends it with
    one line that the importer's error carries."""
    rows = stager.Stager(tmp_path / "staging.db", separate=True)
    constants = {"disclosure_id": None, "status": "pending", "approved_at": None, "submission_id": None,
                 "created_at": "2024-01-01T00:00:00Z"}  # fmt: skip
    try:
        rows.write(constants, {"citations": [(1, 1)]})  # far fewer values than staged columns
        with pytest.raises(stager.StagingError, match=r"staging the rows in staging\.db failed: ProgrammingError"):
            rows.close()
        assert rows.process.returncode == 2
    finally:
        rows.abandon()


@pytest.mark.parametrize("name", ["A" * 300, "Ä" * 299 + "é", "Fédération \"Ça\" <&> 'Ñ' " * 11 + "x"])
def test_a_name_that_passes_the_name_rule_makes_a_default_summary_that_passes_the_summary_rule(name, seeded):
    """run._Job._client checks the default summary only of a name that fails the name rule
    (or spans lines): this pins the reason, should the rules in registry/rules/records.py change."""
    db = connect(seeded.intake_db)
    vocabulary = load_vocabulary(db)
    db.close()
    name = name[:300]
    build_organisation({"name": name, "slug": "org", "kind": "company", "sector": "retail"}, vocabulary)  # passes
    assert free_text_errors({"summary": _default_summary(name), "notes": None, "locator": "-"}) == []
