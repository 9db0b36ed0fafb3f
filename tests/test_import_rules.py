"""The rules real files need, through the real importer on small CSVs: a bad date says what
it is not and which formats were tried, `truncate`, the title case that keeps acronyms and
small words, `replace` without a group, the `grant` arrangement, and every mistake of a
mapping listed at once."""

from __future__ import annotations

import csv

import pytest
from click.testing import CliRunner

from registry.cli import cli
from registry.rules.fields import Fields
from tests.conftest import dump, query

MAPPING = """\
vendor: {new: {name: Rules Test Vendor, kind: company, sector: technology, country: US}}
source: {new: {title: Rules test list, language: en}}
client:
  name: {column: Agency}
  kind: {value: public-agency}
  sector: {value: law-enforcement}
  country: {value: US}
relationship:
  arrangement: {value: unknown}
  start_date: {column: Start, formats: ["%m/%d/%Y", "%Y"]}
"""


def write_csv(path, header, rows):
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    return path


def run_import(tmp_path, mapping, header, rows, *args):
    data = write_csv(tmp_path / "list.csv", header, rows)
    (tmp_path / "m.yml").write_text(mapping, encoding="utf-8")
    report = tmp_path / "report.csv"
    result = CliRunner().invoke(cli, ["import", str(data), "--mapping", str(tmp_path / "m.yml"), "--errors",
                                      str(report), *args])  # fmt: skip
    problems = []
    if report.exists():
        with report.open(encoding="utf-8", newline="") as f:
            problems = list(csv.DictReader(f))
    return result, problems


# A bad date ----------------------------------------------------------------------------


def test_a_bad_date_names_the_formats_tried(seeded, tmp_path):
    before = dump(seeded.intake_db)
    rows = [("Springfield Police", "03/15/2019"), ("Shelbyville Police", "12/31/20201"), ("Ogdenville PD", "soon")]
    result, problems = run_import(tmp_path, MAPPING, ("Agency", "Start"), rows)
    assert result.exit_code == 1
    assert dump(seeded.intake_db) == before
    by_row = {p["row"]: p for p in problems}
    assert set(by_row) == {"3", "4"}
    assert by_row["3"]["column"] == "relationship.start_date"
    assert by_row["3"]["problem"] == "'12/31/20201' is not a date (tried: MM/DD/YYYY, YYYY, YYYY-MM-DD, YYYY-MM)"
    assert "Too long" not in result.output
    assert by_row["4"]["problem"].startswith("'soon' is not a date (tried: MM/DD/YYYY")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("12/31/20201", "'12/31/20201' is not a date (tried: YYYY-MM-DD, YYYY-MM, YYYY)"),
        ("2020-02-30", "'2020-02-30' is not a date (tried: YYYY-MM-DD, YYYY-MM, YYYY)"),
        ("x" * 60, "'" + "x" * 40 + "…' is not a date"),
    ],
)
def test_the_date_rule_says_not_a_date(value, message):
    fields = Fields({"start_date": value})
    assert fields.date("start_date") is None
    assert fields.errors[0].message.startswith(message)


def test_a_good_date_in_a_mapping_format_is_stored_at_its_precision(seeded, tmp_path):
    rows = [("Springfield Police", "03/15/2019"), ("Shelbyville Police", "2018"), ("Ogdenville PD", "2017-05")]
    result, _ = run_import(tmp_path, MAPPING, ("Agency", "Start"), rows, "--approve")
    assert result.exit_code == 0, result.output
    got = dict(query(seeded.registry_db, "select client, start_date from relationships where vendor = ?",
                     ["Rules Test Vendor"]))  # fmt: skip
    assert got == {"Springfield Police": "2019-03-15", "Shelbyville Police": "2018", "Ogdenville PD": "2017-05"}


# Transforms ----------------------------------------------------------------------------

TRANSFORMS = """\
vendor: {new: {name: Rules Test Vendor, kind: company, sector: technology, country: US}}
source: {new: {title: Rules test list, language: en}}
client:
  name: {column: Agency, transforms: [title, {replace: ['\\s+Co\\b', ' County']}]}
  kind: {value: public-agency}
  sector: {value: law-enforcement}
  country: {value: US}
relationship:
  arrangement: {value: unknown}
  summary: {column: Summary, transforms: [collapse, {truncate: 1000}]}
"""
LONG = " ".join(["The agency bought licences for every patrol officer in the county."] * 20)  # 1,379 characters


@pytest.mark.parametrize(
    ("typed", "titled"),
    [
        ("SHERIFF'S OFFICE", "Sheriff's Office"),
        ("24TH PRECINCT", "24th Precinct"),
        ("UINTAH CSO", "Uintah CSO"),
        ("DEPARTMENT OF PUBLIC SAFETY AND THE ARTS", "Department of Public Safety and the Arts"),
        ("THE WOODLANDS TOWNSHIP", "The Woodlands Township"),
        ("O'BRIEN COUNTY PD", "O'Brien County PD"),
        ("WINSTON-SALEM POLICE", "Winston-Salem Police"),
        ("ST. LOUIS CO. PD", "St. Louis Co. PD"),
        ("PRÉFECTURE DE POLICE DE PARIS", "Préfecture de Police de Paris"),
        ("McAllen Police", "McAllen Police"),  # typed in mixed case on purpose: kept
    ],
)
def test_title_keeps_acronyms_small_words_and_ordinals(typed, titled):
    from registry.importer.mapping import SIMPLE_TRANSFORMS

    assert SIMPLE_TRANSFORMS["title"](typed) == titled


@pytest.mark.parametrize(
    ("text", "most", "cut"),
    [
        ("The quick brown fox jumps", 100, "The quick brown fox jumps"),
        ("The quick brown fox jumps", 25, "The quick brown fox jumps"),
        ("The quick brown fox jumps", 24, "The quick brown fox…"),
        ("The quick brown fox jumps", 16, "The quick brown…"),
        ("The quick brown fox jumps", 15, "The quick…"),
        ("Supercalifragilistic", 10, "Supercali…"),
    ],
)
def test_truncate_cuts_at_a_word_boundary(text, most, cut):
    from registry.importer.transforms import truncate

    assert truncate(text, most) == cut
    assert len(truncate(text, most)) <= most


def test_transforms_through_the_importer(seeded, tmp_path):
    rows = [("UINTAH CO SHERIFF'S OFFICE", LONG), ("24TH DISTRICT POLICE OF THE CITY", "Short and kept.")]
    result, _ = run_import(tmp_path, TRANSFORMS, ("Agency", "Summary"), rows, "--approve")
    assert result.exit_code == 0, result.output
    assert "1 relationship.summary value(s) cut by truncate" in result.output
    got = dict(query(seeded.registry_db, "select client, summary from relationships where vendor = ?",
                     ["Rules Test Vendor"]))  # fmt: skip
    assert set(got) == {"Uintah County Sheriff's Office", "24th District Police of the City"}
    summary = got["Uintah County Sheriff's Office"]
    assert len(LONG) > 1000 and len(summary) <= 1000
    assert summary.endswith("the…") and LONG.startswith(summary[:-1])
    assert LONG[len(summary) - 1] == " "  # cut where a word ends
    assert got["24th District Police of the City"] == "Short and kept."


@pytest.mark.parametrize("most", [0, 1, "ten", True])
def test_truncate_needs_a_number(seeded, tmp_path, most):
    mapping = TRANSFORMS.replace("{truncate: 1000}", f"{{truncate: {most}}}")
    result, _ = run_import(tmp_path, mapping, ("Agency", "Summary"), [("A", "B")], "--dry-run")
    assert result.exit_code == 1
    assert "relationship.summary.transforms[1]: truncate takes a number of characters" in result.output


def test_replace_needs_no_group(seeded, tmp_path):
    mapping = TRANSFORMS.replace(
        "[title, {replace: ['\\s+Co\\b', ' County']}]", "[{replace: ['\\s+PD$', ' Police Department']}]"
    )
    assert mapping != TRANSFORMS
    result, _ = run_import(tmp_path, mapping, ("Agency", "Summary"), [("Tampa PD", "x"), ("PDX Airport", "y")],
                           "--approve")  # fmt: skip
    assert result.exit_code == 0, result.output
    got = {name for (name,) in query(seeded.registry_db, "select client from relationships where vendor = ?",
                                     ["Rules Test Vendor"])}  # fmt: skip
    assert got == {"Tampa Police Department", "PDX Airport"}


# Every mistake at once -----------------------------------------------------------------

MISTAKES = """\
vendor: {new: {name: Rules Test Vendor, kind: company, sector: technology, country: US}}
source: {new: {title: Rules test list, language: en}}
client:
  name: {column: Agencyy}
  kind: {value: public-agency}
  sector: {value: law-enforcment}
  country: {column: Country}
  city: {column: Town, transforms: [titel]}
  colour: {value: red}
relationship:
  arrangement: {value: unknown}
  start_date: {column: Start, formats: ["%m/%d/%Y"], defualt: 2020}
observations:
  - {metric: searches, value: {column: Searches}}
"""


def test_every_mistake_of_a_mapping_is_listed_at_once(seeded, tmp_path):
    before = dump(seeded.intake_db)
    result, _ = run_import(tmp_path, MISTAKES, ("Agency", "Start"), [("Springfield Police", "03/15/2019")])
    assert result.exit_code == 1
    assert dump(seeded.intake_db) == before
    expected = [
        "client.sector: 'law-enforcment' is not a known sector",
        "client: unknown field(s) colour",
        "client.name: the file has no column 'Agencyy'",
        "client.country: the file has no column 'Country'",
        "client.city: the file has no column 'Town'",
        "relationship.start_date: unknown key(s) defualt",
        "observations[0]: 'unit' is required",
    ]
    for message in expected:
        assert message in result.output, message
    assert f"{len(expected)} mistakes in the mapping:" in result.output
    assert "Traceback" not in result.output


def test_a_transform_mistake_is_listed_with_the_columns(seeded, tmp_path):
    mapping = MISTAKES.replace("{column: Town, transforms: [titel]}", "{column: Start, transforms: [titel]}")
    result, _ = run_import(tmp_path, mapping, ("Agency", "Start"), [("Springfield Police", "03/15/2019")])
    assert "client.city.transforms[0]: unknown transform 'titel'" in result.output
    assert "client.name: the file has no column 'Agencyy'" in result.output


BREACH_MISTAKES = """\
source: {new: {title: Rules test breaches, language: en}}
breach:
  organisation: {name: {column: Entity}, sector: {value: healthcare}, kind: {value: company}}
  title: {column: Titel}
  breach_types: {column: Type, split: ",", map: {Theft: theft, Arson: arson}}
  match: [colour]
"""


def test_every_mistake_of_a_breach_mapping_is_listed_at_once(seeded, tmp_path):
    result, _ = run_import(tmp_path, BREACH_MISTAKES, ("Entity", "Type"), [("Clinic", "Theft")])
    assert result.exit_code == 1
    for message in (
        "breach.description: required",
        "breach.title: the file has no column 'Titel'",
        "breach.match: a list of fields among",
        "breach.breach_types: 'arson' is not a known code",
        "breach.organisation.sector: 'healthcare' is not a known sector",
    ):
        assert message in result.output, message
    assert "5 mistakes in the mapping:" in result.output


def test_one_mistake_reads_as_before(seeded, tmp_path):
    mapping = MAPPING.replace("{column: Agency}", "{column: Agencyy}")
    result, _ = run_import(tmp_path, mapping, ("Agency", "Start"), [("Springfield Police", "03/15/2019")])
    assert result.exit_code == 1
    assert "client.name: the file has no column 'Agencyy'" in result.output
    assert "mistakes in the mapping" not in result.output


def test_only_date_fields_carry_the_formats_tried():
    """An unread date is a str subclass the staging pipe (marshal) refuses: a field the date rule
    does not read gets the plain text, which is staged like any other."""
    import marshal

    from registry.importer.mapping import _Compiler

    compiler = _Compiler(["Cell"])
    product = compiler.spec({"column": "Cell", "formats": ["%Y"]}, "relationship.product")({"Cell": "Model X"})
    assert type(product) is str and marshal.loads(marshal.dumps(product)) == "Model X"
    start = compiler.spec({"column": "Cell", "formats": ["%Y"]}, "relationship.start_date")({"Cell": "Model X"})
    assert start == "Model X" and start.tried == ("YYYY",)  # type: ignore[attr-defined]


# A grant -------------------------------------------------------------------------------


def test_a_free_transfer_is_a_grant_published_with_its_label(seeded, tmp_path):
    mapping = MAPPING.replace("arrangement: {value: unknown}", "arrangement: {value: grant}")
    result, problems = run_import(tmp_path, mapping, ("Agency", "Start"), [("Ogden Police Department", "2014")],
                                  "--approve")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert problems == []
    assert query(seeded.registry_db, "select arrangement from relationships where client = ?",
                 ["Ogden Police Department"]) == [("Grant or free transfer",)]  # fmt: skip
    assert query(seeded.registry_db, "select description from arrangements where code = 'grant'")[0][0].startswith(
        "The vendor or a government gave the product or service without payment"
    )
    # A trial length still belongs to a trial only.
    bad = mapping.replace("start_date:", "trial_days: {value: 30}\n  start_date:")
    result, problems = run_import(tmp_path, bad, ("Agency", "Start"), [("Provo Police Department", "2014")],
                                  "--dry-run")  # fmt: skip
    assert result.exit_code == 1
    assert [(p["row"], p["column"], p["problem"]) for p in problems] == [
        ("2", "relationship.trial_days", "a trial length only applies to a trial, not to 'grant'")
    ]
