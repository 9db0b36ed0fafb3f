"""Bulk import: the two real data sets in full, every format, bad input, all or nothing."""

from __future__ import annotations

import csv
import json
import sqlite3

import pytest
from click.testing import CliRunner

from registry.cli import cli
from registry.importer.mapping import compile_plan, load_mapping
from registry.services import approval
from registry.store import imports
from registry.store.connection import connect
from registry.store.writers import transaction
from tests.conftest import ROOT, SHARED, dump, invoke, query

ATLAS = SHARED / "data" / "eff-atlas-2020" / "Atlas_of_Surveillance-20201007.csv"
FLOCK = SHARED / "data" / "nando-flock-private-eyes"
MAPPINGS = ROOT / "seed" / "mappings"


def run(*args):
    return CliRunner().invoke(cli, ["import", *map(str, args)])


def report_rows(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_atlas_face_recognition_in_full(seeded, tmp_path):
    errors = tmp_path / "atlas-report.csv"
    result = run(ATLAS, "--mapping", MAPPINGS / "eff-atlas-face-recognition.yml", "--approve", "--errors", errors)
    assert result.exit_code == 0, result.output
    # 369 face recognition rows: 300 name a vendor, 68 name none, 1 repeats AOS5547.
    assert "5,784 rows read, 5,415 outside the mapping's 'where', 300 stored as 302 new relationships" in result.output
    skipped = report_rows(errors)
    assert sum(r["problem"].startswith("no vendor named") for r in skipped) == 68
    assert [r for r in skipped if r["value"] == "AOS5547"] == [
        {
            "row": "5370",
            "column": "identifier",
            "value": "AOS5547",
            "problem": "duplicate of row 5369: not stored twice",
        }
    ]
    vendors = dict(query(seeded.registry_db, "select vendor, count(*) from relationships group by vendor"))
    assert vendors["Idemia"] == 257  # 256 alone, 1 shared with DataWorks Plus
    assert vendors["DataWorks Plus"] == 13  # 11 + "Idemia, Dataworks Plus" + "Vigilant Solutions, Dataworks"
    assert vendors["Clearview AI"] == 22 + 19  # the seed's 22 and the Atlas's 19, one vendor organisation
    assert query(seeded.registry_db, "select count(*) from organisations where name = 'Clearview AI'") == [(1,)]
    # "FL " (a trailing space in the State column) becomes US-FL.
    # "FL " (a trailing space in the State column) becomes US-FL, through the mapping itself.
    with ATLAS.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    fl_space = [r for r in rows if r["State"] == "FL "]
    assert fl_space
    plan = compile_plan(load_mapping(MAPPINGS / "eff-atlas-face-recognition.yml"), list(rows[0]))
    assert {plan.client["subdivision"](r) for r in fl_space} == {"US-FL"}
    stored = query(seeded.registry_db, "select count(*) from organisations where subdivision = 'US-FL'")[0][0]
    assert stored > 0
    assert query(seeded.registry_db, "select count(*) from organisation_identifiers where value = 'AOS5547'") == [(0,)]
    # Each relationship cites its own Atlas row.
    (locator,) = query(
        seeded.registry_db,
        "select c.locator from citations c join sources s on s.id = c.source_id join organisation_identifiers i "
        "on i.organisation_id = (select client_id from relationships where id = c.relationship_id) "
        "where s.slug = 'eff-atlas-of-surveillance-export-2020-10-07' and i.value = 'AOS1090'",
    )[0]
    with ATLAS.open(encoding="utf-8") as f:
        line = next(n for n, r in enumerate(csv.DictReader(f), start=2) if r["AOSNUMBER"] == "AOS1090")
    assert locator == f"row {line} (AOS1090)"
    assert invoke("check").exit_code == 0


@pytest.mark.slow
def test_flock_agencies_and_usage_in_full(seeded):
    # --skip-invalid: one "agency" is a person's name, "Lynne Drake" (tests/test_persons.py), never published.
    agencies = run(FLOCK / "agency20240426.csv", "--mapping", MAPPINGS / "flock-agencies.yml", "--approve",
                   "--skip-invalid")  # fmt: skip
    assert agencies.exit_code == 0, agencies.output
    assert "5,152 rows read" in agencies.output and "1 rejected" in agencies.output
    assert query(seeded.registry_db, "select count(*) from organisations where name = 'Lynne Drake'") == [(0,)]
    usage = run(FLOCK / "latest_usage04262023.csv", "--mapping", MAPPINGS / "flock-usage.yml", "--approve")
    assert usage.exit_code == 0, usage.output
    assert "365 stored as 0 new relationships (and 365 already in the registry)" in usage.output
    # "Sylvania OH PD" (the state only inside the name) gets US-OH.
    assert query(seeded.registry_db, "select subdivision from organisations where name = 'Sylvania OH PD'") == [
        ("US-OH",)
    ]
    assert query(seeded.registry_db, "select subdivision from organisations where name = 'Allegan County SO MI'") == [
        ("US-MI",)
    ]
    flock = query(
        seeded.registry_db,
        "select count(*), count(distinct client_id) from relationships where vendor = 'Flock Safety'",
    )
    assert flock == [(5150, 5150)]  # one agency is listed twice under the same name; one is a person
    figures = dict(query(seeded.registry_db, "select metric, count(*) from observations group by metric"))
    assert figures["vehicles detected in the last 30 days"] == 365 - 13  # 13 portals say NA
    assert figures["data retention"] == 365 - 8 - 7  # 8 NA, 7 "-Infinity days"
    assert figures["hotlist hits in the last 30 days"] == 365 - 33 - 37  # NA, "Data Unavailable"
    (sylvania,) = query(
        seeded.registry_db,
        "select o.low, o.unit, o.period_end from observations o join relationships r on r.id = o.relationship_id "
        "where r.client = 'Sylvania OH PD' and o.metric = 'cameras owned'",
    )
    assert sylvania == (15.0, "cameras", "2024-04-26")
    assert invoke("check").exit_code == 0


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


MAPPING = """
vendor: {new: {name: Clearview AI}}
source: {new: {title: Test list, language: fr}}
client:
  name: {column: Client}
  kind: {value: public-agency}
  sector: {column: Type, map: {Police: law-enforcement, Gendarmerie: law-enforcement, Banque: banking-finance}}
  country: {column: Pays}
relationship:
  arrangement: {column: Stade, map: {essai: trial, contrat: contract}, default: unknown}
  start_date: {column: Début, formats: ["%d/%m/%Y", "%m/%Y", "%Y"]}
"""
ROWS = [
    ("Client", "Type", "Pays", "Stade", "Début"),
    ("Préfecture de police de Paris", "Police", "France", "essai", "03/02/2020"),
    ("Gendarmerie nationale", "Gendarmerie", "FR", "contrat", "2019"),
    ("Banque Öberg", "Banque", "Suède", "", "11/2019"),
]


@pytest.fixture
def mapping(tmp_path):
    return write(tmp_path / "mapping.yml", MAPPING)


def csv_text(rows, delimiter=","):
    return "\r\n".join(delimiter.join(r) for r in rows) + "\r\n"


@pytest.mark.parametrize(
    ("encoding", "delimiter"), [("utf-8", ","), ("utf-8-sig", ";"), ("cp1252", ";"), ("latin-1", "\t")]
)
def test_csv_in_any_encoding_and_delimiter(seeded, tmp_path, mapping, encoding, delimiter):
    rows = ROWS if encoding != "cp1252" else [*ROWS, ("Police “municipale” de Nice", "Police", "France", "", "")]
    path = write(tmp_path / "list.csv", csv_text(rows, delimiter), encoding)
    result = run(path, "--mapping", mapping, "--approve")
    assert result.exit_code == 0, result.output
    sql = (
        "select client, arrangement || '|' || coalesce(start_date, '') || '|' || coalesce(client_country, '') "
        "from relationships where vendor = 'Clearview AI' and disclosure is null"
    )
    got = dict(query(seeded.registry_db, sql))
    assert got["Préfecture de police de Paris"] == "Trial|2020-02-03|France"
    assert got["Gendarmerie nationale"] == "Contract|2019|France"
    assert got["Banque Öberg"] == "Unknown|2019-11|Sweden"
    if encoding == "cp1252":
        assert "Police “municipale” de Nice" in got


def test_xlsx_values_are_read_and_formulas_never_run(seeded, tmp_path, mapping):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in ROWS:
        sheet.append(list(row))
    sheet.append(['=HYPERLINK("http://evil.example","click")', "Police", "France", "", ""])
    book.save(tmp_path / "list.xlsx")
    result = run(tmp_path / "list.xlsx", "--mapping", mapping, "--dry-run")
    # The formula's cell has no cached value (it was never computed): its row has no name.
    assert result.exit_code == 1
    assert "row 5, client.name: This field is required." in result.output
    assert "HYPERLINK" not in result.output


def test_json_envelope_and_ndjson(seeded, tmp_path, mapping):
    records = [dict(zip(ROWS[0], r, strict=True)) for r in ROWS[1:]]
    write(tmp_path / "list.json", json.dumps({"meta": {}, "data": {"clients": records}}))
    with_path = write(tmp_path / "m.yml", "json_path: data.clients\n" + MAPPING)
    assert run(tmp_path / "list.json", "--mapping", with_path, "--dry-run").exit_code == 0
    wrong = write(tmp_path / "w.yml", "json_path: data.agencies\n" + MAPPING)
    result = run(tmp_path / "list.json", "--mapping", wrong, "--dry-run")
    assert result.exit_code == 1
    assert "the path 'data.agencies' finds nothing (no key 'agencies')" in result.output
    write(tmp_path / "list.ndjson", "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n")
    result = run(tmp_path / "list.ndjson", "--mapping", mapping, "--approve")
    assert result.exit_code == 0, result.output
    assert query(seeded.registry_db, "select count(*) from relationships where client = 'Banque Öberg'") == [(1,)]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty"),
        ("Client,Type,Pays,Stade,Début\r\n", "the file has a header but no data rows"),
        ("Client,Type,Pays,Stade,Début\r\nA,Police,France\r\n", "row 2 has 3 cells, the header has 5"),
        ('Client,Type,Pays,Stade,Début\r\n"Unclosed,Police,France,,\r\n', "an unclosed quote?"),
        ("\ufeffClient,Type\r\n".encode("utf-16").decode("latin-1"), "not a text file in a supported encoding"),
    ],
)
def test_unreadable_files_are_refused_with_a_message(seeded, tmp_path, mapping, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content.encode("latin-1") if "\x00" in content else content.encode("utf-8"))
    before = dump(seeded.intake_db)
    result = run(path, "--mapping", mapping)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert dump(seeded.intake_db) == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("{column: Client}", "{column: Nom}"), "client.name: the file has no column 'Nom'"),
        (("Banque: banking-finance", "Banque: banking"), "client.sector: 'banking' is not a known sector"),
        (("default: unknown", "default: rumour"), "relationship.arrangement: 'rumour' is not a known arrangement"),
        (("source: {new: {title: Test list, language: fr}}", ""), "source: describe the file itself"),
        (("{column: Pays}", "{column: Pays, transforms: [{extract: '[A-Z]+'}]}"), "needs a group ( )"),
    ],
)
def test_bad_mappings_are_refused_before_any_row(seeded, tmp_path, change, message):
    mapping = write(tmp_path / "m.yml", MAPPING.replace(*change))
    path = write(tmp_path / "list.csv", csv_text(ROWS))
    before = dump(seeded.intake_db)
    result = run(path, "--mapping", mapping)
    assert result.exit_code == 1
    assert message in result.output
    assert dump(seeded.intake_db) == before


def test_one_bad_row_stores_nothing_unless_skipping(seeded, tmp_path, mapping):
    rows = [*ROWS, ("=cmd|' /C calc'!A0", "Police", "Atlantis", "", "30/02/2020")]
    path = write(tmp_path / "list.csv", csv_text(rows))
    report = tmp_path / "report.csv"
    before = dump(seeded.intake_db), dump(seeded.registry_db)
    result = run(path, "--mapping", mapping, "--approve", "--errors", report)
    assert result.exit_code == 1
    assert "import refused, nothing stored: 2 error(s)" in result.output
    assert (dump(seeded.intake_db), dump(seeded.registry_db)) == before
    problems = {(r["row"], r["column"]): r for r in report_rows(report)}
    assert problems[("5", "client.country")]["problem"].startswith("'Atlantis' is not a known country")
    assert problems[("5", "relationship.start_date")]["value"] == "30/02/2020"
    skipping = run(path, "--mapping", mapping, "--approve", "--skip-invalid", "--errors", report)
    assert skipping.exit_code == 0, skipping.output
    assert "3 stored" in skipping.output and "1 rejected" in skipping.output
    assert query(seeded.registry_db, "select count(*) from relationships where client like '%cmd%'") == [(0,)]
    assert {r["row"] for r in report_rows(report)} == {"5"}


def test_formula_like_cells_are_stored_as_text_and_neutralised_in_reports(seeded, tmp_path, mapping):
    rows = [*ROWS, ("Harmless PD", "Police", '=HYPERLINK("http://evil.example")', "", "")]
    path = write(tmp_path / "list.csv", csv_text(rows))
    report = tmp_path / "report.csv"
    run(path, "--mapping", mapping, "--errors", report)
    (problem,) = [r for r in report_rows(report) if r["column"] == "client.country"]
    assert problem["value"].startswith("'=HYPERLINK")  # a spreadsheet shows it as text, never runs it
    rows = [*ROWS, ("=1+1 Sheriff", "Police", "France", "", "")]
    path = write(tmp_path / "list.csv", csv_text(rows))
    assert run(path, "--mapping", mapping, "--approve").exit_code == 0
    assert query(seeded.registry_db, "select client from relationships where client like '=%'") == [("=1+1 Sheriff",)]


def test_dry_run_stores_nothing(seeded, tmp_path, mapping):
    path = write(tmp_path / "list.csv", csv_text(ROWS))
    before = dump(seeded.intake_db), dump(seeded.registry_db)
    result = run(path, "--mapping", mapping, "--dry-run")
    assert result.exit_code == 0
    assert "Dry run: nothing stored." in result.output
    assert "3 stored" in result.output
    assert (dump(seeded.intake_db), dump(seeded.registry_db)) == before


def test_pending_import_waits_for_a_reviewer_then_publishes(seeded, tmp_path, mapping, reviewer):
    path = write(tmp_path / "list.csv", csv_text(ROWS))
    before = dump(seeded.registry_db)
    result = run(path, "--mapping", mapping)
    assert result.exit_code == 0
    assert "Stored as pending submission S-" in result.output
    assert dump(seeded.registry_db) == before  # nothing public yet, not even the aliases
    (submission_id,) = query(seeded.intake_db, "select id from submissions where kind = 'import'")[0]
    approval.approve(seeded, submission_id, {"id": reviewer["id"], "name": "alice"})
    assert query(seeded.registry_db, "select count(*) from relationships where client = 'Banque Öberg'") == [(1,)]
    assert invoke("check").exit_code == 0


def test_rejected_import_leaves_nothing(seeded, tmp_path, mapping, reviewer):
    path = write(tmp_path / "list.csv", csv_text(ROWS))
    counts = query(
        seeded.intake_db, "select (select count(*) from organisations), (select count(*) from relationships)"
    )
    run(path, "--mapping", mapping)
    (submission_id,) = query(seeded.intake_db, "select id from submissions where kind = 'import'")[0]
    db = connect(seeded.intake_db)
    approval.reject(db, submission_id, {"id": reviewer["id"], "name": "alice"}, "Not a real list.")
    db.close()
    assert (
        query(seeded.intake_db, "select (select count(*) from organisations), (select count(*) from relationships)")
        == counts
    )


def test_matching_joins_exact_names_and_keeps_the_spelling_as_alias(seeded, tmp_path, mapping):
    rows = [ROWS[0], ("Federal Bureau of Investigation", "Police", "US", "", ""), ("F.B.I.", "Police", "US", "", ""),
            ("Justice Dept.", "Police", "US", "", "")]  # fmt: skip
    path = write(tmp_path / "list.csv", csv_text(rows))
    result = run(path, "--mapping", mapping, "--approve")
    assert result.exit_code == 0, result.output
    assert "3 matched to existing organisations, 0 new organisations" in result.output
    aliases = query(seeded.registry_db, "select alias from organisation_aliases where alias = 'Justice Dept.'")
    assert aliases == [("Justice Dept.",)]


@pytest.mark.slow
def test_importing_the_same_file_twice_adds_nothing(seeded):
    mapping = MAPPINGS / "flock-usage.yml"
    agencies = FLOCK / "agency20240426.csv"
    assert run(agencies, "--mapping", MAPPINGS / "flock-agencies.yml", "--approve", "--skip-invalid").exit_code == 0
    assert run(FLOCK / "latest_usage04262023.csv", "--mapping", mapping, "--approve").exit_code == 0
    counts = query(seeded.registry_db, "select (select count(*) from observations), (select count(*) from citations), "
                   "(select count(*) from relationships), (select count(*) from sources)")  # fmt: skip
    again = run(FLOCK / "latest_usage04262023.csv", "--mapping", mapping, "--approve")
    assert again.exit_code == 0, again.output
    assert "0 new organisations" in again.output
    assert query(seeded.registry_db, "select (select count(*) from observations), (select count(*) from citations), "
                 "(select count(*) from relationships), (select count(*) from sources)") == counts  # fmt: skip


def test_dates_are_checked_one_by_one_and_in_order(seeded, tmp_path):
    mapping = write(
        tmp_path / "m.yml",
        MAPPING.replace(
            '  start_date: {column: Début, formats: ["%d/%m/%Y", "%m/%Y", "%Y"]}',
            '  start_date: {column: Début, formats: ["%d/%m/%Y", "%m/%Y", "%Y"]}\n  end_date: {value: "2019-06"}',
        ),
    )
    path = write(tmp_path / "list.csv", csv_text(ROWS))
    result = run(path, "--mapping", mapping, "--dry-run")
    assert result.exit_code == 1
    assert "row 2, relationship.end_date: 2019-06 is before start_date 2020-02-03" in result.output
    assert "row 3" not in result.output  # 2019 is not after June 2019: its precision is the year


def test_a_second_pending_import_waits_for_the_first(seeded, tmp_path, mapping):
    path = write(tmp_path / "list.csv", csv_text(ROWS))
    first = run(path, "--mapping", mapping)
    assert first.exit_code == 0
    before = dump(seeded.intake_db)
    second = run(path, "--mapping", mapping)
    assert second.exit_code == 1
    assert "is waiting for review: approve or reject it first" in second.output
    assert dump(seeded.intake_db) == before
    assert run(path, "--mapping", mapping, "--dry-run").exit_code == 0  # a preview is still possible


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- just\n- a list\n", "a YAML mapping of keys"),
        (MAPPING.replace("  name: {column: Client}", "  name: [Client]"), "client.name: expected {column: ...}"),
        (
            MAPPING.replace(
                "map: {Police: law-enforcement, Gendarmerie: law-enforcement, Banque: banking-finance}",
                "map: [Police, Banque]",
            ),
            "wrong shape",
        ),
        ("format: [csv]\n" + MAPPING, "format, json_path and sheet are single words"),
        ("client: {name: {column: Client}\n", "not valid YAML"),
        (MAPPING.replace("  city:", "  city:") + "\nsurprise: 1\n", "unknown key(s): surprise"),
    ],
)
def test_mappings_of_the_wrong_shape_get_a_message_not_a_traceback(seeded, tmp_path, text, message):
    mapping = write(tmp_path / "m.yml", text)
    path = write(tmp_path / "list.csv", csv_text(ROWS))
    result = run(path, "--mapping", mapping, "--dry-run")
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_figure_that_is_not_a_date_or_number_is_a_row_error(seeded, tmp_path):
    text = (
        MAPPING
        + """
observations:
  - metric: searches
    unit: searches
    value: {column: Recherches}
    period_end: {column: Jour, formats: ["%Y-%m-%d"]}
"""
    )
    mapping = write(tmp_path / "m.yml", text)
    rows = [(*ROWS[0], "Recherches", "Jour"), (*ROWS[1], "12", "2020-02-03"), (*ROWS[2], "inf", "2020-02-03"),
            (*ROWS[3], "7", "hier")]  # fmt: skip
    result = run(write(tmp_path / "list.csv", csv_text(rows)), "--mapping", mapping, "--dry-run")
    assert result.exit_code == 1
    assert "row 3, observation.searches.low: 'inf' is not a finite number" in result.output
    assert "row 4, observation.searches.period_end: 'hier' is not a date" in result.output


def add_springfields(settings, name):
    """Two approved police departments of one name, in Illinois and Missouri."""
    conn = sqlite3.connect(settings.intake_db)
    for state in ("US-IL", "US-MO"):
        conn.execute(
            "insert into organisations (slug, name, name_key, kind, sector, country, subdivision, status, created_at, "
            "updated_at) values (?, ?, 'springfield police department', 'public-agency', 'law-enforcement', 'US', ?, "
            "'approved', 'x', 'x')",
            [f"springfield-{state.lower()}", name, state],
        )
    conn.commit()
    conn.close()


def test_a_name_matching_two_organisations_is_not_guessed(seeded, tmp_path, mapping):
    add_springfields(seeded, "Springfield Police Department")
    rows = [ROWS[0], ("Springfield Police Department", "Police", "US", "", "")]
    result = run(write(tmp_path / "list.csv", csv_text(rows)), "--mapping", mapping, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "0 matched to existing organisations, 1 new organisations" in result.output


def test_semicolons_with_commas_inside_cells(seeded, tmp_path, mapping):
    rows = [ROWS[0], ("Police municipale, Nice", "Police", "France", "", "2019")]
    path = write(tmp_path / "list.csv", csv_text(rows, ";"))
    result = run(path, "--mapping", mapping, "--approve")
    assert result.exit_code == 0, result.output
    assert query(
        seeded.registry_db, "select client_country from relationships where client = 'Police municipale, Nice'"
    ) == [("France",)]


def test_a_dry_run_does_not_hold_the_write_lock(seeded):
    from registry.importer import service

    writes = []

    def progress(rows):
        if rows and not writes:  # mid-import: a contributor submits a form
            conn = sqlite3.connect(seeded.intake_db, timeout=0.2)
            conn.execute(
                "insert into submissions (reference, kind, payload, created_at) values ('S-MID', 'source', '{}', 'x')"
            )
            conn.commit()
            conn.close()
            writes.append(rows)

    result = service.import_file(
        seeded, FLOCK / "agency20240426.csv", MAPPINGS / "flock-agencies.yml", dry_run=True, progress=progress
    )
    assert result.dry_run and result.report.rows_read == 5152
    assert writes == [5000]
    assert query(seeded.intake_db, "select reference from submissions") == [("S-MID",)]
    assert query(seeded.intake_db, "select count(*) from organisations where name = 'Sylvania OH PD'") == [(0,)]


def test_a_row_contradicting_an_earlier_one_is_reported(seeded, tmp_path, mapping):
    rows = [ROWS[0], ("Alpha PD", "Police", "US", "essai", "2019"), ("Alpha PD", "Police", "US", "contrat", "2021")]
    report = tmp_path / "report.csv"
    result = run(write(tmp_path / "list.csv", csv_text(rows)), "--mapping", mapping, "--approve", "--errors", report)
    assert result.exit_code == 0, result.output
    assert query(seeded.registry_db, "select arrangement, start_date, citation_count from relationships "
                 "where client = 'Alpha PD'") == [("Trial", "2019", 2)]  # fmt: skip
    (problem,) = report_rows(report)
    assert problem["row"] == "3" and "the earlier row's are kept" in problem["problem"]


def test_ambiguous_names_do_not_multiply(seeded, tmp_path, mapping):
    add_springfields(seeded, "Springfield PD")
    text = MAPPING.replace("  country: {column: Pays}", "  country: {column: Pays}\n  subdivision: {column: Etat}")
    mapping = write(tmp_path / "m.yml", text)
    rows = [(*ROWS[0], "Etat")] + [("Springfield PD", "Police", "US", "", "", state)
                                   for state in ("US-IL", "US-MO", "", "", "", "US-IL")]  # fmt: skip
    path = write(tmp_path / "list.csv", csv_text(rows))
    for _ in range(2):
        result = run(path, "--mapping", mapping, "--approve")
        assert result.exit_code == 0, result.output
    assert query(
        seeded.intake_db, "select count(*) from organisations where name_key = 'springfield police department'"
    ) == [
        (3,)  # IL and MO as they were, and one with no state, proposed for review
    ]


def test_a_dry_run_without_databases_says_what_to_run(instance, tmp_path, mapping):
    result = run(write(tmp_path / "list.csv", csv_text(ROWS)), "--mapping", mapping, "--dry-run")
    assert result.exit_code == 1
    assert "database file not found (run `registry init` first)" in result.output
    assert not instance.intake_db.exists()


def test_a_rejection_stopped_half_way_is_finished_by_init(seeded, tmp_path, mapping, reviewer):
    """Rejecting an import removes its rows in short transactions after the decision; if the
    process stops before the end, `registry init` removes the rest and the decision stays."""
    path = write(tmp_path / "list.csv", csv_text(ROWS))
    counts = "select (select count(*) from organisations), (select count(*) from relationships)"
    before = query(seeded.intake_db, counts)
    run(path, "--mapping", mapping)
    (submission_id,) = query(seeded.intake_db, "select id from submissions where kind = 'import'")[0]
    assert query(seeded.intake_db, counts) != before
    db = connect(seeded.intake_db)
    with transaction(db):  # the rejecting transaction, as if the process died right after it
        db.execute("update submissions set status = 'rejected' where id = ?", [submission_id])
        imports.mark_removing(db, submission_id)
    db.close()
    assert invoke("init").exit_code == 0
    assert query(seeded.intake_db, counts) == before
    assert query(seeded.intake_db, "select status, json_extract(payload, '$.import.removing') from submissions "
                 "where id = ?", [submission_id]) == [("rejected", None)]  # fmt: skip
    assert invoke("check").exit_code == 0


def test_a_dry_run_leaves_no_file_behind(seeded, tmp_path, mapping):
    """A dry run works on a snapshot of intake.db: the snapshot and its lock files go afterwards."""
    path = write(tmp_path / "list.csv", csv_text(ROWS))
    for _ in range(2):
        assert run(path, "--mapping", mapping, "--dry-run").exit_code == 0
    assert [p.name for p in seeded.instance.iterdir() if p.name.startswith(".snapshot-")] == []


def test_an_approved_import_is_audited_under_its_submission(seeded, tmp_path, mapping, reviewer):
    path = write(tmp_path / "list.csv", csv_text(ROWS))
    run(path, "--mapping", mapping)
    (submission_id, reference) = query(seeded.intake_db, "select id, reference from submissions where kind = 'import'")[
        0
    ]
    approval.approve(seeded, submission_id, {"id": reviewer["id"], "name": "alice"})
    [(table, row_id, new)] = query(
        seeded.intake_db, "select table_name, row_id, new_value from audit_log where reason like '%import%'"
    )
    assert (table, row_id) == ("submissions", submission_id)
    logged = json.loads(new)
    assert logged["submission"] == reference
    relationships = query(
        seeded.intake_db, "select count(*) from relationships where submission_id = ?", [submission_id]
    )
    assert logged["rows"]["relationships"] == relationships[0][0] > 0


def test_links_and_identifiers_follow_the_shared_text_rules(seeded, tmp_path):
    """A citation locator or an identifier with direction overrides, control characters or
    too many characters is listed and left out, never published."""
    rows = [
        ("Good Agency", "https://example.org/a", "page 3", "ID-1"),
        ("Bidi Agency", "https://example.org/b", "page 3\u202e\x07evil", "ID-\u202e2"),
        ("Long Agency", "https://example.org/c", "p" * 300, "I" * 5000),
    ]
    path = tmp_path / "list.csv"
    path.write_text("Agency,Link,Loc,Ident\n" + "".join(f"{a},{b},{c},{d}\n" for a, b, c, d in rows), encoding="utf-8")
    mapping = tmp_path / "m.yml"
    mapping.write_text(
        "vendor: {new: {name: Clearview AI}}\n"
        "source: {new: {title: Test list, language: en}}\n"
        "client: {name: {column: Agency}, kind: {value: public-agency}, sector: {value: law-enforcement}, "
        "country: {value: US}}\n"
        "relationship: {arrangement: {value: unknown}}\n"
        "sources: [{url: {column: Link}, locator: {column: Loc}}]\n"
        "identifier: {column: Ident, scheme: other}\n",
        encoding="utf-8",
    )
    result = run(path, "--mapping", mapping, "--approve")
    assert result.exit_code == 0, result.output
    locators = [r[0] for r in query(seeded.registry_db, "select locator from citations")]
    assert "page 3" in locators
    assert not [x for x in locators if "\u202e" in x or "\x07" in x or len(x) > 200]
    values = [r[0] for r in query(seeded.registry_db, "select value from organisation_identifiers")]
    assert "ID-1" in values
    assert not [v for v in values if "\u202e" in v or len(v) > 200]
    report = (seeded.instance / "reports" / "list.errors.csv").read_text(encoding="utf-8")
    assert "this link is not cited" in report and "the identifier is not stored" in report
    bad = tmp_path / "bad.yml"
    bad.write_text(mapping.read_text(encoding="utf-8").replace("scheme: other", "scheme: passport"), encoding="utf-8")
    refused = run(path, "--mapping", bad, "--dry-run")
    assert refused.exit_code == 1 and "scheme 'passport' is not one of" in refused.output


def test_the_row_number_is_text_like_every_cell(seeded, tmp_path):
    """{row} (which stands for a file's own `row` column too) is the row's number as text: the
    transforms of a spec naming it apply to it as to any cell."""
    mapping = write(tmp_path / "m.yml", MAPPING + "locator: {column: row, transforms: [trim]}\n")
    path = write(tmp_path / "list.csv", csv_text([(*ROWS[0], "row"), *[(*r, " x ") for r in ROWS[1:]]]))
    result = run(path, "--mapping", mapping, "--approve")
    assert result.exit_code == 0, result.output
    locators = [r[0] for r in query(seeded.registry_db, "select locator from citations")]
    assert {"2", "3", "4"} <= set(locators)
