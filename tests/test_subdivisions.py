"""Subdivisions by code or by name (English and French), through the real importer: a name
becomes its ISO 3166-2 code, found within the row's country; an unknown one is answered with
the nearest of that country's subdivisions, never with the world's 5,000 codes."""

from __future__ import annotations

import csv

from click.testing import CliRunner

from registry.cli import cli
from registry.rules.countries import nearest_subdivisions, subdivision_code
from tests.conftest import dump, query

MAPPING = """\
vendor: {new: {name: Subdivision Test Vendor, kind: company, sector: technology, country: US}}
source: {new: {title: Subdivision test list, language: en}}
client:
  name: {column: Agency}
  kind: {value: public-agency}
  sector: {value: law-enforcement}
  country: {column: Country}
  subdivision: {column: Region}
relationship:
  arrangement: {value: unknown}
"""


def import_rows(tmp_path, rows, *args):
    path = tmp_path / "list.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([("Agency", "Country", "Region"), *rows])
    (tmp_path / "m.yml").write_text(MAPPING, encoding="utf-8")
    report = tmp_path / "report.csv"
    result = CliRunner().invoke(cli, ["import", str(path), "--mapping", str(tmp_path / "m.yml"), "--errors",
                                      str(report), *args])  # fmt: skip
    return result, report


def test_names_and_codes_resolve_within_the_country() -> None:
    assert subdivision_code("Texas", "US") == "US-TX"
    assert subdivision_code("TX", "United States") == "US-TX"
    assert subdivision_code("Bavière", "Allemagne") == "DE-BY"  # French names of both
    assert subdivision_code("quebec", "CA") == "CA-QC"  # no accent, no case
    assert subdivision_code("us-tx", None) == "US-TX"
    assert subdivision_code("Texas", None) is None  # by name only within a country ("Georgia")
    assert subdivision_code("Texas", "FR") is None


def test_nearest_are_of_the_rows_country() -> None:
    nearest = nearest_subdivisions("Texs", "US")
    assert nearest[0] == "US-TX (Texas)"
    assert 1 < len(nearest) <= 5 and all(n.startswith("US-") for n in nearest)


def test_import_stores_names_as_codes_and_matches_them_as_one(seeded, tmp_path) -> None:
    rows = [("Austin Police Department", "US", "Texas"), ("Munich Police", "Allemagne", "Bavière"),
            ("Quebec City Police", "Canada", "QC"), ("Houston Police Department", "USA", "US-TX")]  # fmt: skip
    result, _ = import_rows(tmp_path, rows, "--approve")
    assert result.exit_code == 0, result.output
    stored = dict(query(seeded.registry_db, "select name, subdivision from organisations where name in (?, ?, ?, ?)",
                        [r[0] for r in rows]))  # fmt: skip
    assert stored == {"Austin Police Department": "US-TX", "Munich Police": "DE-BY",
                      "Quebec City Police": "CA-QC", "Houston Police Department": "US-TX"}  # fmt: skip
    # The same agency again, its state by code: matched, not a second organisation.
    again, _ = import_rows(tmp_path, [("Austin Police Department", "US", "US-TX")], "--approve")
    assert again.exit_code == 0, again.output
    assert query(seeded.registry_db, "select count(*) from organisations where name = ?",
                 ["Austin Police Department"]) == [(1,)]  # fmt: skip


def test_unknown_subdivision_suggests_the_countrys_nearest_and_lists_no_vocabulary(seeded, tmp_path) -> None:
    before = dump(seeded.intake_db)
    result, report = import_rows(tmp_path, [("Austin Police Department", "US", "Texs"),
                                            ("Lyon Police", "France", "Bavière")])  # fmt: skip
    assert result.exit_code == 1
    assert dump(seeded.intake_db) == before
    with report.open(encoding="utf-8", newline="") as f:
        problems = {r["row"]: r for r in csv.DictReader(f)}
    texas = problems["2"]["problem"]
    assert problems["2"]["column"] == "client.subdivision"
    assert texas.startswith("'Texs' is not a known subdivision of US")
    assert "US-TX (Texas)" in texas and "DE-" not in texas
    assert "FR-" in problems["3"]["problem"] and "DE-BY" not in problems["3"]["problem"]
    # A handful of suggestions, not the world's codes: the whole report stays small.
    assert all(r["problem"].count(",") < 20 for r in problems.values())
    assert report.stat().st_size < 2000


def test_a_long_vocabulary_is_never_listed_whole() -> None:
    from registry.rules.fields import allowed_text

    short = allowed_text("rumour", {"contract", "trial", "unknown"})
    assert short == "one of: contract, trial, unknown"
    codes = {f"XX-{n:03d}" for n in range(500)}
    long = allowed_text("XX-12", codes)
    assert long.startswith("one of the 500 known values (nearest: ")
    assert len(long.split("nearest: ")[1].split(", ")) == 5 and "XX-499" not in long
