"""A mapping's figures: one number (`value`) or a range (`low` and `high`), each stored as
given; a mapping that mixes them, gives half a range or a key the importer does not read is
refused before any row is read; a row whose high is below its low is an error of that row."""

from __future__ import annotations

import pytest

from registry.importer import service
from registry.importer.mapping import MappingError
from registry.importer.run import ImportFailed
from tests.conftest import query

HEAD = """
vendor: {new: {name: Clearview AI}}
source: {new: {title: Test list, language: en}}
client:
  name: {column: Client}
  kind: {value: public-agency}
  sector: {value: law-enforcement}
  country: {value: US}
relationship:
  arrangement: {value: trial}
observations:
"""
RANGE = """  - metric: searches
    unit: searches
    low: {column: Low}
    high: {column: High}
"""
ONE = """  - metric: accounts
    unit: accounts
    value: {column: Accounts}
"""
CSV = "Client,Low,High,Accounts\n"


def run(settings, tmp_path, figures: str, rows: list[str]):
    (tmp_path / "m.yml").write_text(HEAD + figures, encoding="utf-8")
    (tmp_path / "list.csv").write_text(CSV + "\n".join(rows) + "\n", encoding="utf-8")
    return service.import_file(settings, tmp_path / "list.csv", tmp_path / "m.yml")


def stored(settings, reference: str) -> list[tuple]:
    return query(
        settings.intake_db,
        "select o.name, ob.metric, ob.low, ob.high from observations ob join relationships r on r.id = "
        "ob.relationship_id join organisations o on o.id = r.client_id join submissions s on s.id = "
        "ob.submission_id where s.reference = ? order by o.name, ob.metric",
        [reference],
    )


def test_a_range_and_a_single_figure_are_stored_as_given(seeded, tmp_path):
    rows = ["Oakdale Police Department,1,5,30", "Pinewood Police Department,2000,2000,", "Cedar Sheriff,,,7"]
    result = run(seeded, tmp_path, RANGE + ONE, rows)
    assert stored(seeded, result.reference) == [
        ("Cedar Sheriff", "accounts", 7.0, 7.0),
        ("Oakdale Police Department", "accounts", 30.0, 30.0),
        ("Oakdale Police Department", "searches", 1.0, 5.0),
        ("Pinewood Police Department", "searches", 2000.0, 2000.0),
    ]


def test_a_high_below_its_low_is_an_error_of_its_row_and_nothing_is_stored(seeded, tmp_path):
    before = query(seeded.intake_db, "select count(*) from observations")
    with pytest.raises(ImportFailed) as failed:
        run(seeded, tmp_path, RANGE, ["Oakdale Police Department,1,5,", "Pinewood Police Department,9,3,"])
    problems = [(p.row, p.column, p.problem) for p in failed.value.report.errors]
    assert problems == [(3, "observation.searches.high", "3 is below low 9")]
    assert query(seeded.intake_db, "select count(*) from observations") == before


def test_half_a_range_is_an_error_of_its_row(seeded, tmp_path):
    with pytest.raises(ImportFailed) as failed:
        run(seeded, tmp_path, RANGE, ["Oakdale Police Department,1,,"])
    assert [(p.row, p.column) for p in failed.value.report.errors] == [(2, "observation.searches.high")]


@pytest.mark.parametrize(
    ("figure", "message"),
    [
        ("  - {metric: searches, unit: searches, value: {column: Low}, low: {column: Low}}\n", "not both"),
        ("  - {metric: searches, unit: searches, low: {column: Low}}\n", "needs both 'low' and 'high'"),
        ("  - {metric: searches, unit: searches, high: {column: High}}\n", "needs both 'low' and 'high'"),
        ("  - {metric: searches, unit: searches}\n", "give either 'value'"),
        ("  - {metric: searches, unit: searches, value: {column: Low}, locator: page 3}\n", "locator"),
    ],
)
def test_a_mapping_the_importer_would_not_read_whole_is_refused(seeded, tmp_path, figure, message):
    before = query(seeded.intake_db, "select count(*) from submissions")
    with pytest.raises(MappingError, match=message):
        run(seeded, tmp_path, figure, ["Oakdale Police Department,1,5,3"])
    assert query(seeded.intake_db, "select count(*) from submissions") == before


def test_a_range_written_in_one_cell_is_stored_as_its_two_ends(seeded, tmp_path):
    # The issue: "1-5" under `value:` was stored as 1 to 1. Now 1 to 5; one number stays one figure.
    one_cell = "  - {metric: searches, unit: searches, value: {column: Low}}\n"
    rows = ["Oakdale Police Department,1-5,,", "Pinewood Police Department,2000,,", "Cedar Sheriff,10 to 1,,"]
    with pytest.raises(ImportFailed) as failed:
        run(seeded, tmp_path, one_cell, rows)
    assert [(p.row, p.column, p.problem) for p in failed.value.report.errors] == [
        (4, "observation.searches.high", "1 is below low 10")
    ]
    result = run(seeded, tmp_path, one_cell, rows[:2])
    assert stored(seeded, result.reference) == [
        ("Oakdale Police Department", "searches", 1.0, 5.0),
        ("Pinewood Police Department", "searches", 2000.0, 2000.0),
    ]
