"""The person check on every name an import gives an organisation, not only a client's: a
vendor named by a column (`vendors: {column: ...}`, a breach's `vendor: {name: {column: ...}}`)
and the other names a mapping gives a new vendor (`new: {aliases: [...]}`, published with it).
The dry run lists the row, --approve refuses it naming the row and stores nothing, and a
statement in the mapping (person_name_reason) lets it through."""

from __future__ import annotations

import pytest

from registry.importer import service
from registry.importer.run import ImportFailed
from tests.conftest import dump, invoke, query

LIST = "Agency,Vendor\nSpringfield Police Department,Laura Poitras\nShelbyville Police Department,Acme Watch Inc\n"
BY_COLUMN = """
vendors: {column: Vendor}
source: {new: {title: Test client list, language: en}}
client:
  name: {column: Agency}
  kind: {value: public-agency}
  sector: {value: law-enforcement}
  country: {value: US}
"""
WITH_ALIAS = BY_COLUMN.replace(
    "vendors: {column: Vendor}", "vendor: {new: {name: Acme Watch Inc, aliases: [Laura Poitras]}}"
)
REASON = 'person_name_reason: "A film company named after its founder."'
BREACHES = "Entity,Associate\nOakdale Clinic,Laura Poitras\nPine Hospital,\n"
BREACH_MAPPING = """
source: {new: {title: Test breach list, language: en}}
breach:
  organisation: {name: {column: Entity}, kind: {value: other}, sector: {value: health}, country: {value: US}}
  vendor: {name: {column: Associate}}
  title: {template: "{Entity} breach"}
  description: {value: A breach.}
"""


def files(tmp_path, rows: str, mapping: str):
    (tmp_path / "list.csv").write_text(rows, encoding="utf-8")
    (tmp_path / "m.yml").write_text(mapping, encoding="utf-8")
    return str(tmp_path / "list.csv"), str(tmp_path / "m.yml")


CASES = {
    "vendor column": (LIST, BY_COLUMN, "row 2, vendors.name", "vendors: {column: Vendor, new: {" + REASON + "}}"),
    "vendor alias": (LIST, WITH_ALIAS, "the mapping, vendor.aliases", "aliases: [Laura Poitras], " + REASON),
    "breach vendor column": (BREACHES, BREACH_MAPPING, "row 2, breach.vendor.name",
                             "vendor: {name: {column: Associate}, " + REASON + "}"),
}  # fmt: skip
# What each case's mapping says without a statement, replaced by the case's statement.
UNSTATED = {"vendor column": "vendors: {column: Vendor}", "vendor alias": "aliases: [Laura Poitras]",
            "breach vendor column": "vendor: {name: {column: Associate}}"}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_the_dry_run_lists_the_row_naming_a_person(seeded, tmp_path, case):
    rows, mapping, where, _ = CASES[case]
    path, mapping_path = files(tmp_path, rows, mapping)
    dry = invoke("import", path, "--mapping", mapping_path, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"{where}: looks like a private person's name ('Laura Poitras')" in dry.output
    assert "1 name(s) of organisations look like a private person's" in dry.output


@pytest.mark.parametrize("case", CASES)
def test_approve_refuses_the_row_naming_a_person_and_stores_nothing(seeded, tmp_path, case):
    rows, mapping, where, _ = CASES[case]
    path, mapping_path = files(tmp_path, rows, mapping)
    before = dump(seeded.registry_db), query(seeded.intake_db, "select count(*) from organisations")
    refused = invoke("import", path, "--mapping", mapping_path, "--approve")
    assert refused.exit_code == 1
    assert "import refused, nothing stored: 1 error(s)" in refused.output
    assert f"{where}: this name of a new organisation looks like a private person's" in refused.output
    assert "('Laura Poitras')" in refused.output
    assert (dump(seeded.registry_db), query(seeded.intake_db, "select count(*) from organisations")) == before
    assert query(seeded.intake_db, "select count(*) from submissions") == [(0,)]


@pytest.mark.parametrize("case", CASES)
def test_a_stated_reason_in_the_mapping_lets_the_name_be_published(seeded, tmp_path, case):
    rows, mapping, _, statement = CASES[case]
    path, mapping_path = files(tmp_path, rows, mapping.replace(UNSTATED[case], statement))
    result = invoke("import", path, "--mapping", mapping_path, "--approve")
    assert result.exit_code == 0, result.output
    assert "looks like a private person's name" not in result.output
    published = query(seeded.registry_db, "select o.name, o.person_name_reason from organisations o "
                      "where o.name = 'Laura Poitras' or o.id in (select organisation_id from organisation_aliases "
                      "where alias = 'Laura Poitras')")  # fmt: skip
    assert [reason for _, reason in published] == ["A film company named after its founder."]
    assert invoke("check").exit_code == 0


def test_a_pending_import_keeps_the_vendor_it_flagged_for_the_reviewer(seeded, tmp_path):
    files(tmp_path, LIST, WITH_ALIAS)
    result = service.import_file(seeded, tmp_path / "list.csv", tmp_path / "m.yml")
    flagged = [(p.row, p.column, p.value) for p in result.report.flagged]
    assert flagged == [(0, "vendor.aliases", "Laura Poitras")]
    (acme,) = query(seeded.intake_db, "select id from organisations where name = 'Acme Watch Inc'")[0]
    assert result.report.flagged_ids == {acme}
    assert query(seeded.intake_db, "select json_extract(payload, '$.import.person_ids') from submissions "
                 "where reference = ?", [result.reference]) == [(f"[{acme}]",)]  # fmt: skip


def test_a_vendor_alias_that_is_an_organisations_passes(seeded, tmp_path):
    mapping = WITH_ALIAS.replace("aliases: [Laura Poitras]", "aliases: [Acme Surveillance Systems]")
    files(tmp_path, LIST, mapping)
    result = service.import_file(seeded, tmp_path / "list.csv", tmp_path / "m.yml", approve=True)
    assert result.report.flagged == []
    assert query(seeded.registry_db, "select alias from organisation_aliases a join organisations o on o.id = "
                 "a.organisation_id where o.name = 'Acme Watch Inc'") == [("Acme Surveillance Systems",)]  # fmt: skip


def test_import_failed_names_the_vendor_row(seeded, tmp_path):
    files(tmp_path, LIST, BY_COLUMN)
    with pytest.raises(ImportFailed) as failed:
        service.import_file(seeded, tmp_path / "list.csv", tmp_path / "m.yml", approve=True)
    assert [(p.row, p.column, p.value) for p in failed.value.report.errors] == [(2, "vendors.name", "Laura Poitras")]
