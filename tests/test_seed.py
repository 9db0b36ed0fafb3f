"""The seed data: what the five source documents say, and nothing the loader should accept."""

from __future__ import annotations

import hashlib
import re
import shutil

import pytest
import yaml
from click.testing import CliRunner

from registry.cli import cli
from tests.conftest import ROOT, SHARED, dump, query

SEED = ROOT / "seed"
DOCUMENTS = {"sha256:" + hashlib.sha256(p.read_bytes()).hexdigest(): p for p in (SHARED / "seeds").glob("0*.txt")}
CLEARVIEW_CLIENTS = {
    "interpol",
    "fbi",
    "verizon",
    "police-nationale",
    "belgian-federal-police",
    "nba",
    "macys",
    "us-department-of-justice",
    "ice",
    "walmart",
    "kohls",
    "best-buy",
    "wells-fargo",
    "bank-of-america",
    "madison-square-garden",
    "att",
    "t-mobile-us",
    "las-vegas-sands",
    "pechanga-resort-casino",
    "equinox",
    "eventbrite",
    "coinbase",
}


def load(name):
    return yaml.safe_load((SEED / name).read_text(encoding="utf-8"))


def paragraphs(path):
    """The non-empty lines of a document: what a 'paragraph N' locator counts."""
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_five_documents_are_sources_with_matching_hashes():
    hashed = {s["content_hash"]: s for s in load("sources.yml") if s.get("content_hash")}
    assert set(hashed) == set(DOCUMENTS)
    for digest, source in hashed.items():
        assert DOCUMENTS[digest].name in source["notes"]
        assert source["language"] == ("en" if DOCUMENTS[digest].name.startswith("003") else "fr")


def test_no_source_has_an_invented_url():
    assert [s["slug"] for s in load("sources.yml") if s.get("url") or s.get("archive_url")] == []


def test_every_quote_is_verbatim_in_its_paragraph():
    sources = {s["slug"]: DOCUMENTS.get(s.get("content_hash")) for s in load("sources.yml")}
    checked = 0
    for rel in load("relationships.yml"):
        for item in rel["citations"] + rel.get("responses", []):
            document = sources[item["source"]]
            if document is None or not item.get("quote"):
                continue
            number = int(re.fullmatch(r"paragraph (\d+)", item["locator"]).group(1))
            assert item["quote"] in paragraphs(document)[number - 1], (rel["client"], item["locator"])
            checked += 1
    assert checked >= 30


def test_clearview_clients_are_all_there_with_sector_and_country(seeded):
    rows = query(
        seeded.intake_db,
        "select c.slug, c.sector, c.country, r.arrangement_code, r.notes from relationships r "
        "join organisations v on v.id = r.vendor_id join organisations c on c.id = r.client_id "
        "where v.slug = 'clearview-ai'",
    )
    assert {r[0] for r in rows} == CLEARVIEW_CLIENTS
    assert all(r[1] and r[2] for r in rows if r[0] != "interpol")
    by_slug = {r[0]: r for r in rows}
    assert by_slug["interpol"][2] is None  # an international body: "International", not France
    assert by_slug["belgian-federal-police"][2] == "BE"
    assert by_slug["police-nationale"][2] == "FR"
    assert by_slug["walmart"][1] == "retail"


def test_thirty_day_trials_of_most_clients_do_not_make_any_one_a_trial(seeded):
    rows = query(
        seeded.intake_db,
        "select c.slug, r.arrangement_code, r.trial_days, r.notes from relationships r "
        "join organisations c on c.id = r.client_id join organisations v on v.id = r.vendor_id "
        "where v.slug = 'clearview-ai'",
    )
    unknown = [r for r in rows if r[1] == "unknown"]
    assert len(unknown) == 21
    assert all("30" in r[3] for r in unknown)
    # Coinbase said itself that its teams tested the service; no length is known.
    assert [(r[0], r[1], r[2]) for r in rows if r[1] != "unknown"] == [("coinbase", "trial", None)]


def test_microsoft_dea_pitch_was_declined_with_month_precision(seeded):
    (row,) = query(
        seeded.intake_db,
        "select r.arrangement_code, r.start_date, r.start_precision, r.end_date, r.end_precision, d.kind "
        "from relationships r join organisations c on c.id = r.client_id "
        "join disclosures d on d.id = r.disclosure_id where c.slug = 'dea'",
    )
    assert row == ("declined", "2017-09", "month", "2018-12", "month", "lawsuit")


def test_other_seeded_relationships(seeded):
    rows = query(
        seeded.registry_db,
        "select v.slug, c.slug, r.arrangement_code, r.product from relationships r "
        "join organisations v on v.id = r.vendor_id join organisations c on c.id = r.client_id "
        "where v.slug <> 'clearview-ai' order by 1, 2",
    )
    assert rows == [
        ("amazon", "ice", "pitch", "Rekognition"),
        ("amazon", "us-department-of-homeland-security", "unknown", None),
        ("microsoft", "dea", "declined", "Faces API"),
        ("microsoft", "ice", "contract", None),
        ("microsoft", "us-army", "contract", "HoloLens 2"),
        ("palantir-technologies", "dgse", "contract", None),
    ]


def test_responses_the_documents_quote(seeded):
    rows = query(
        seeded.registry_db,
        "select o.slug, re.kind from responses re join organisations o on o.id = re.organisation_id",
    )
    responders = set(rows)
    assert ("coinbase", "confirmed") in responders
    assert ("belgian-federal-police", "clarified") in responders
    assert ("microsoft", "no-response") in responders
    assert ("ice", "clarified") in responders
    assert any(slug == "amazon" for slug, _ in responders)


def test_clearview_disclosure_reports_2200_entities(seeded):
    (row,) = query(
        seeded.registry_db,
        "select kind, disclosed_date, disclosed_precision, reported_count, published_count, completeness_note "
        "from disclosures where slug = 'clearview-client-list-2020'",
    )
    assert row[:5] == ("breach", "2020-02", "month", 2200, 22)
    assert "not" in row[5]


def broken_seed(tmp_path, edit):
    folder = tmp_path / "seed"
    shutil.copytree(SEED, folder)
    edit(folder)
    return folder


def edit_yaml(folder, name, change):
    data = yaml.safe_load((folder / name).read_text(encoding="utf-8"))
    change(data)
    (folder / name).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def set_field(index, field, value):
    def change(rows):
        rows[index][field] = value

    return change


@pytest.mark.parametrize(
    ("name", "change", "expected"),
    [
        (
            "organisations.yml",
            set_field(4, "country", "Atlantis"),
            "organisations.yml: row 5 ({slug}): country: 'Atlantis' is not a known country code or name",
        ),
        (
            "organisations.yml",
            set_field(4, "sector", "piracy"),
            "organisations.yml: row 5 ({slug}): sector: 'piracy' is not one of:",
        ),
        (
            "relationships.yml",
            set_field(2, "citations", []),
            "relationships.yml: row 3 (clearview-ai -> verizon): citations: at least one citation",
        ),
        (
            "relationships.yml",
            set_field(2, "start_date", "2020-02-30"),
            "relationships.yml: row 3 (clearview-ai -> verizon): start_date: '2020-02-30' is not a date",
        ),
        (
            "relationships.yml",
            set_field(2, "client", "nobody"),
            "relationships.yml: row 3 (clearview-ai -> nobody): client: no organisation 'nobody'",
        ),
        (
            "sources.yml",
            set_field(0, "url", "javascript:alert(1)"),
            "sources.yml: row 1 ({slug}): url: 'javascript:alert(1)' is not a web address",
        ),
    ],
)
def test_bad_seed_is_refused_with_file_row_and_problem(seeded, tmp_path, name, change, expected):
    folder = broken_seed(tmp_path, lambda f: edit_yaml(f, name, change))
    slug = yaml.safe_load((folder / name).read_text(encoding="utf-8"))[4 if "row 5" in expected else 0].get("slug")
    before = dump(seeded.intake_db), dump(seeded.registry_db)
    result = CliRunner().invoke(cli, ["seed", "--dir", str(folder)])
    assert result.exit_code == 1
    assert "nothing changed" in result.output
    assert str(folder / expected.format(slug=slug)) in result.output
    assert "Traceback" not in result.output
    assert (dump(seeded.intake_db), dump(seeded.registry_db)) == before


def test_duplicate_relationship_is_refused(seeded, tmp_path):
    folder = broken_seed(tmp_path, lambda f: edit_yaml(f, "relationships.yml", lambda rows: rows.append(rows[2])))
    result = CliRunner().invoke(cli, ["seed", "--dir", str(folder)])
    assert result.exit_code == 1
    assert "row 29 (clearview-ai -> verizon): the same vendor, client, disclosure and product as row 3" in result.output


def test_invalid_yaml_names_the_file(seeded, tmp_path):
    folder = broken_seed(tmp_path, lambda f: (f / "sources.yml").write_text("- slug: [unclosed\n", encoding="utf-8"))
    before = dump(seeded.intake_db)
    result = CliRunner().invoke(cli, ["seed", "--dir", str(folder)])
    assert result.exit_code == 1
    assert f"{folder / 'sources.yml'}: not valid YAML" in result.output
    assert "line 1" in result.output
    assert dump(seeded.intake_db) == before


def test_seed_into_fresh_database_with_errors_stores_nothing(instance, tmp_path):
    CliRunner().invoke(cli, ["init"])
    folder = broken_seed(tmp_path, lambda f: edit_yaml(f, "relationships.yml", set_field(27, "arrangement", "rumour")))
    result = CliRunner().invoke(cli, ["seed", "--dir", str(folder)])
    assert result.exit_code == 1
    assert "arrangement: 'rumour' is not one of" in result.output
    assert query(instance.intake_db, "select count(*) from organisations") == [(0,)]
    assert query(instance.intake_db, "select count(*) from sources") == [(0,)]


def test_bad_response_to_a_disclosure_or_figure_on_an_organisation_is_refused(seeded, tmp_path):
    def edit(folder):
        edit_yaml(folder, "disclosures.yml", lambda rows: rows[0]["responses"][0].update(kind="shrugged"))
        edit_yaml(folder, "organisations.yml", lambda rows: rows[2]["observations"][0].update(high=1))

    folder = broken_seed(tmp_path, edit)
    before = dump(seeded.intake_db), dump(seeded.registry_db)
    result = CliRunner().invoke(cli, ["seed", "--dir", str(folder)])
    assert result.exit_code == 1
    assert f"{folder / 'disclosures.yml'}: row 1 (clearview-client-list-2020): responses[0].kind: 'shrugged'" in (
        result.output
    )
    assert f"{folder / 'organisations.yml'}: row 3 (amazon): observations[0].high: 1" in result.output
    assert (dump(seeded.intake_db), dump(seeded.registry_db)) == before


def test_seed_stores_the_response_to_the_disclosure_and_the_figures_once(seeded):
    CliRunner().invoke(cli, ["seed"])  # again: nothing added
    assert query(
        seeded.intake_db,
        "select count(*), max(author) from responses where disclosure_id is not null",
    ) == [(1, "Tor Ekeland, Clearview AI's lawyer")]
    assert query(seeded.intake_db, "select count(*) from observations where organisation_id is not null") == [(2,)]
