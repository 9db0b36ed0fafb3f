"""The level of government of public bodies: the rule that reads it from a name, the
organisation form, the importer, the seed, and what registry.db publishes of it."""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from collections import Counter

import pytest
from click.testing import CliRunner

from registry.cli import cli
from registry.rules.fields import ValidationError
from registry.rules.government import derive_level
from registry.rules.records import build_organisation
from registry.store.connection import connect
from registry.store.vocabulary import load_vocabulary
from tests.conftest import ROOT, SHARED, dump, post_form, query, text

ATLAS = SHARED / "data" / "eff-atlas-2020" / "Atlas_of_Surveillance-20201007.csv"
FLOCK = SHARED / "data" / "nando-flock-private-eyes" / "agency20240426.csv"


# The rule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "level"),
    [
        # the seed's public bodies
        ("Interpol", "international"),
        ("United States Department of Justice", "national"),
        ("Federal Bureau of Investigation", "national"),
        ("U.S. Immigration and Customs Enforcement", "national"),
        ("Police nationale", "national"),
        ("Police fédérale", "national"),
        ("Washington County Sheriff's Office", "local"),
        ("Orlando Police Department", "local"),
        # real names from the EFF Atlas of Surveillance and the Flock transparency portals
        ("U.S. Customs and Border Protection - Miami International Airport", "national"),
        ("Drug Enforcement Administration", "national"),
        ("Oregon State Police", "regional"),
        ("Florida Department of Law Enforcement", "regional"),
        ("Colorado Bureau of Investigation", "regional"),
        ("Arizona Department of Public Safety", "regional"),
        ("California Department of Justice", "regional"),  # a state's, not the nation's
        ("Palm Beach County Sheriff's Office", "local"),
        ("Colorado Springs Police Department", "local"),  # a city named after a state
        ("Federal Way Police Department", "local"),  # a city named "Federal Way"
        ("Upper Makefield Township Police Department", "local"),
        ("Sylvania OH PD", "local"),
        ("Alameda County District Attorney's Office", "local"),
        ("Europol", "international"),
        ("Ontario Provincial Police", "regional"),
        # the name does not say: left to people
        ("Direction générale de la Sécurité extérieure", None),
        ("Florida State University Police Department", None),
        ("Pojoaque Tribal Police Department", None),
    ],
)
def test_level_is_read_from_real_names(name, level):
    assert derive_level(name, "public-agency") == level


@pytest.mark.parametrize("kind", ["company", "ngo", "other"])
def test_a_private_body_has_no_level_whatever_its_name(kind):
    assert derive_level("National Basketball Association", kind) is None
    assert derive_level("Orange County Sheriff's Office", kind) is None


def test_an_international_body_is_international():
    assert derive_level("Some Intergovernmental Office", "international-body") == "international"


def test_the_rule_agrees_with_the_atlas_jurisdictions():
    """The Atlas's "Type of Juris" column gives each agency's level: the rule agrees on
    nearly all, and where it is wrong rather than silent it is rare."""
    want = {"Municipal": "local", "County": "local", "State": "regional", "Federal": "national"}
    with ATLAS.open(encoding="utf-8", errors="replace", newline="") as f:
        agencies = {(r["Agency"], r["Type of Juris"].strip()) for r in csv.DictReader(f)}
    tally: Counter[tuple[str, str]] = Counter()
    for name, juris in agencies:
        if juris in want:
            got = derive_level(name, "public-agency")
            tally[juris, "right" if got == want[juris] else "none" if got is None else "wrong"] += 1
    for juris in want:
        total = sum(n for (j, _), n in tally.items() if j == juris)
        assert total >= 20, juris
        assert tally[juris, "right"] / total >= 0.9, (juris, tally)
        assert tally[juris, "wrong"] / total <= 0.05, (juris, tally)
    assert sum(tally[j, "right"] for j in want) / sum(tally.values()) >= 0.95


def test_the_flock_agencies_are_mostly_local():
    with FLOCK.open(encoding="utf-8", newline="") as f:
        names = [r["name"] for r in csv.DictReader(f)]
    levels = Counter(derive_level(n, "public-agency") for n in names)
    assert levels["local"] / len(names) >= 0.8, levels
    assert levels["international"] == 0


# Records -------------------------------------------------------------------------------


@pytest.fixture
def vocabulary(seeded):
    db = connect(seeded.intake_db)
    try:
        yield load_vocabulary(db)
    finally:
        db.close()


def organisation(**changes):
    return {"name": "Orange County Sheriff's Office", "kind": "public-agency", "sector": "law-enforcement", **changes}


def test_a_given_level_is_kept_and_none_is_derived(vocabulary):
    assert build_organisation(organisation(), vocabulary).government_level == "local"
    assert build_organisation(organisation(government_level="regional"), vocabulary).government_level == "regional"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"government_level": "federal"}, "'federal' is not one of: international, local, national, regional"),
        (
            {"kind": "company", "government_level": "local"},
            "only a public agency or an international body has a level of government",
        ),
    ],
)
def test_bad_levels_are_refused_naming_the_field(vocabulary, changes, message):
    with pytest.raises(ValidationError) as e:
        build_organisation(organisation(**changes), vocabulary)
    assert [(x.field, x.message) for x in e.value.errors] == [("government_level", message)]


def test_the_schema_refuses_a_level_for_a_company(seeded):
    conn = sqlite3.connect(seeded.intake_db)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
            conn.execute("UPDATE organisations SET government_level = 'local' WHERE slug = 'walmart'")
    finally:
        conn.close()


# The organisation form -----------------------------------------------------------------

ORGANISATION = {"name": "Pinellas County Sheriff's Office", "kind": "public-agency", "sector": "law-enforcement"}


def payload(seeded) -> dict:
    return json.loads(query(seeded.intake_db, "select payload from submissions")[0][0])


def test_the_form_offers_the_levels(client, seeded):
    html = client.get("/submit/organisation").get_data(as_text=True)
    select = re.search(r'<select[^>]*name="government_level".*?</select>', html, re.S)
    assert select
    options = re.findall(r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)</option>', select.group(0))
    assert options[1:] == [
        ("international", "International"),
        ("local", "Local"),
        ("national", "National or federal"),
        ("regional", "State or regional"),
    ]
    assert options[0][0] == ""  # optional: left empty, the name decides
    assert '<label for="government_level">Level of government</label>' in html


def test_a_level_left_empty_is_derived_from_the_name(client, seeded):
    response = post_form(client, "/submit/organisation", ORGANISATION)
    assert response.status_code == 303
    assert payload(seeded)["organisations"][0]["government_level"] == "local"


def test_a_chosen_level_wins_over_the_name(client, seeded):
    response = post_form(client, "/submit/organisation", {**ORGANISATION, "government_level": "regional"})
    assert response.status_code == 303
    assert payload(seeded)["organisations"][0]["government_level"] == "regional"


def test_the_derived_level_is_shown_for_the_contributor_to_change(client, seeded):
    response = post_form(client, "/submit/organisation", {**ORGANISATION, "sector": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'<option[^>]*selected[^>]*value="local"|<option[^>]*value="local"[^>]*selected', html)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"government_level": "federal"}, "Not a valid choice"),
        ({"name": "Acme Surveillance", "kind": "company", "sector": "technology", "government_level": "national"},
         "only a public agency or an international body has a level of government"),
    ],
)  # fmt: skip
def test_the_form_refuses_a_bad_level_at_its_field(client, seeded, data, message):
    response = post_form(client, "/submit/organisation", {**ORGANISATION, **data})
    assert response.status_code == 422
    assert message in text(response)
    assert 'id="government_level-errors"' in response.get_data(as_text=True)
    assert query(seeded.intake_db, "select count(*) from submissions")[0][0] == 0


# The importer --------------------------------------------------------------------------

MAPPING = """
vendor: {new: {name: Clearview AI}}
source: {new: {title: Test list, language: en}}
client:
  name: {column: Client}
  kind: {value: public-agency}
  sector: {value: law-enforcement}
  country: {value: US}
LEVEL
relationship:
  arrangement: {value: unknown}
"""
ROWS = "Client,Level\r\nPinellas County Sheriff's Office,\r\nNew Jersey State Police,\r\nAcme Task Force,national\r\n"


def run_import(tmp_path, mapping: str, rows: str = ROWS, *options: str):
    (tmp_path / "list.csv").write_text(rows, encoding="utf-8")
    (tmp_path / "mapping.yml").write_text(mapping, encoding="utf-8")
    args = ["import", str(tmp_path / "list.csv"), "--mapping", str(tmp_path / "mapping.yml"), *options]
    return CliRunner().invoke(cli, args)


def levels(seeded) -> dict[str, str | None]:
    names = ("Pinellas County Sheriff's Office", "New Jersey State Police", "Acme Task Force")
    found = query(seeded.intake_db, "select name, government_level from organisations where name in (?, ?, ?)", names)
    return dict(found)


def test_import_maps_the_level_and_derives_it_when_absent(seeded, tmp_path):
    result = run_import(tmp_path, MAPPING.replace("LEVEL", "  government_level: {column: Level}"), ROWS, "--approve")
    assert result.exit_code == 0, result.output
    assert levels(seeded) == {
        "Pinellas County Sheriff's Office": "local",
        "New Jersey State Police": "regional",
        "Acme Task Force": "national",
    }


def test_import_without_a_level_in_the_mapping_derives_it(seeded, tmp_path):
    result = run_import(tmp_path, MAPPING.replace("LEVEL\n", ""), ROWS, "--approve")
    assert result.exit_code == 0, result.output
    assert levels(seeded) == {
        "Pinellas County Sheriff's Office": "local",
        "New Jersey State Police": "regional",
        "Acme Task Force": None,
    }


def test_import_refuses_a_bad_level_naming_the_row(seeded, tmp_path):
    before = dump(seeded.intake_db)
    rows = ROWS.replace("Acme Task Force,national", "Acme Task Force,federal")
    result = run_import(tmp_path, MAPPING.replace("LEVEL", "  government_level: {column: Level}"), rows)
    assert result.exit_code == 1
    assert "row 4" in result.output and "client.government_level" in result.output, result.output
    assert "'federal' is not one of" in result.output
    assert "Traceback" not in result.output
    assert dump(seeded.intake_db) == before


def test_a_mapping_naming_an_unknown_level_is_refused(seeded, tmp_path):
    result = run_import(tmp_path, MAPPING.replace("LEVEL", "  government_level: {value: galactic}"))
    assert result.exit_code == 1
    assert "client.government_level: 'galactic' is not a known government_level" in result.output


# The seed and registry.db --------------------------------------------------------------


def test_seed_levels(seeded):
    found = dict(query(seeded.registry_db, "select slug, government_level from organisations"))
    assert found["fbi"] == "national"
    assert found["us-department-of-justice"] == "national"
    assert found["belgian-federal-police"] == "national"
    assert found["us-department-of-homeland-security"] == "national"
    assert found["interpol"] == "international"
    assert found["walmart"] is None and found["clearview-ai"] is None


def test_published_relationships_carry_the_client_level_and_start_year(seeded):
    rows = query(
        seeded.registry_db,
        "select r.client_government_level, r.client_government_level_code, o.government_level, g.label, "
        "r.start_date, r.start_year from relationships r join organisations o on o.id = r.client_id "
        "left join government_levels g on g.code = o.government_level",
    )
    assert rows
    for label, code, org_level, org_label, start_date, start_year in rows:
        assert (code, label) == (org_level, org_label)
        assert start_year == (int(start_date[:4]) if start_date else None)
    assert {r[0] for r in rows} >= {"National or federal", "International", None}  # the seed names no local agency
    assert {r[5] for r in rows} - {None}  # the seed dates some relationships


def test_the_atlas_mapping_sets_each_agency_s_level(seeded):
    mapping = ROOT / "seed" / "mappings" / "eff-atlas-face-recognition.yml"
    result = CliRunner().invoke(cli, ["import", str(ATLAS), "--mapping", str(mapping), "--approve"])
    assert result.exit_code == 0, result.output
    juris: dict[str, set[str]] = {}
    with ATLAS.open(encoding="utf-8", errors="replace", newline="") as f:
        for r in csv.DictReader(f):
            if r["Technology"] == "Face Recognition":
                juris.setdefault(" ".join(r["Agency"].split()), set()).add(r["Type of Juris"].strip())
    found = query(
        seeded.intake_db,
        "select o.name, o.government_level from organisations o join organisation_identifiers i "
        "on i.organisation_id = o.id where i.scheme = 'atlas-of-surveillance'",
    )
    assert len(found) > 250
    want = {"Municipal": "local", "County": "local", "State": "regional", "Federal": "national"}
    checked = Counter()
    for name, level in found:
        kinds = juris.get(name, set())
        if len(kinds) == 1 and (only := next(iter(kinds))) in want:
            assert level == want[only], name
            checked[level] += 1
    assert checked["local"] > 200 and checked["regional"] >= 15, checked


def test_the_reviewer_sees_the_level_of_a_new_organisation(client, reviewer_client, seeded):
    response = post_form(client, "/submit/organisation", ORGANISATION)
    assert response.status_code == 303
    (submission,) = query(seeded.intake_db, "select id from submissions order by id desc limit 1")[0]
    html = reviewer_client.get(f"/review/submissions/{submission}").get_data(as_text=True)
    preview = re.search(r'<table class="preview" data-preview="organisation">.*?</table>', html, re.S).group(0)
    assert re.search(r"<th>Level of government</th><td>Local</td>", preview)
