"""Search on the organisations table (names and aliases, organisations_fts) and the
organisations' level-of-government facet, through a real Datasette built from datasette/."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from registry.cli import cli
from tests.conftest import query
from tests.test_datasette import facet_values, ours
from tests.test_review import check_passes
from tests.test_scoped_publication import approved_in_turn, submit  # noqa: F401  (a fixture)
from tests.test_submit import ORGANISATION

FOUND = "id in (select rowid from organisations_fts where organisations_fts match ?)"


@pytest.fixture
async def ds(seeded):
    ds = ours(seeded.registry_db, suggest_facets=False)
    await ds.invoke_startup()
    return ds


async def names_found(ds, search: str) -> list[str]:
    response = await ds.client.get(f"/registry/organisations.json?_search={search}&_shape=objects")
    assert response.status_code == 200, response.text
    return [r["name"] for r in response.json()["rows"]]


@pytest.mark.parametrize(
    ("search", "name"),
    [
        ("DoJ", "United States Department of Justice"),  # an alias
        ("Justice+Department", "United States Department of Justice"),
        ("Immigration+and+Customs", "U.S. Immigration and Customs Enforcement"),
        ("federale", "Police fédérale"),  # accents set aside
        ("Clearview", "Clearview AI"),  # a name
    ],
)
async def test_organisations_are_found_by_name_and_alias(ds, search, name):
    found = await names_found(ds, search)
    assert name in found
    assert "Walmart" not in found  # a search, not the whole table


async def test_a_search_finds_only_what_matches(ds, seeded):
    found = await names_found(ds, "homeland")
    assert found == ["United States Department of Homeland Security"]
    assert await names_found(ds, "nothing+like+this") == []


async def test_organisations_search_page_renders(ds):
    response = await ds.client.get("/registry/organisations?_search=DoJ")
    assert response.status_code == 200
    assert "United States Department of Justice" in response.text
    assert 'name="_search"' in response.text  # the search box is offered


@pytest.mark.parametrize(
    ("args", "where", "params"),
    [
        ("", "1", []),
        ("&country=US", "country = 'US'", []),
        ("&_search=police", FOUND, ['"police"']),
        ("&government_level=national&country=US", "government_level = 'national' and country = 'US'", []),
    ],
)
async def test_organisation_facets_equal_sql(ds, seeded, args, where, params):
    data = (await ds.client.get(f"/registry/organisations.json?_size=1{args}")).json()
    assert "government_level" in data["facet_results"]
    for column in ("kind", "sector", "country", "government_level"):
        expected = query(
            seeded.registry_db,
            f"select {column}, count(*) from organisations where {where} and {column} is not null group by 1",
            params,
        )
        assert facet_values(data, column) == dict(expected), column
    national = facet_values(data, "government_level").get("national")
    assert national is None or national > 0


async def test_the_level_facet_shows_labels(ds):
    data = (await ds.client.get("/registry/organisations.json?_size=0")).json()
    labels = {r["value"]: r["label"] for r in data["facet_results"]["government_level"]["results"]}
    assert labels["national"] == "National or federal"
    assert labels["international"] == "International"  # the seed names no local agency


async def test_relationships_can_be_kept_to_us_federal_agencies(ds, seeded):
    url = "/registry/relationships.json?client_country=United+States&client_government_level=National+or+federal"
    data = (await ds.client.get(f"{url}&_shape=objects&_size=max")).json()
    expected = query(
        seeded.registry_db,
        "select r.client from relationships r join organisations o on o.id = r.client_id "
        "where o.country = 'US' and o.government_level = 'national'",
    )
    assert sorted(r["client"] for r in data["rows"]) == sorted(c for (c,) in expected)
    assert "Federal Bureau of Investigation" in {r["client"] for r in data["rows"]}
    assert "Walmart" not in {r["client"] for r in data["rows"]}


def test_an_approved_organisation_is_searchable_by_its_aliases_at_once(
    reviewer_client,
    seeded,
    approved_in_turn,  # noqa: F811
):
    data = {**ORGANISATION, "aliases": "OAPX\nOrlando Airport PD"}
    approved_in_turn(submit(reviewer_client, "organisation", data))
    found = query(seeded.registry_db, f"select name, government_level from organisations where {FOUND}", ['"OAPX"'])
    assert found == [("Orlando Airport Police", "local")]
    check_passes()


def test_an_alias_added_by_an_import_is_searchable_after_publishing(seeded, tmp_path):
    (tmp_path / "list.csv").write_text("Client\r\nU.S. Department of Justice\r\n", encoding="utf-8")
    (tmp_path / "m.yml").write_text(
        "vendor: {new: {name: Clearview AI}}\nsource: {new: {title: A list, language: en}}\n"
        "client: {name: {column: Client}, kind: {value: public-agency}, sector: {value: justice}, "
        "country: {value: US}}\nrelationship: {arrangement: {value: unknown}}\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    result = runner.invoke(
        cli, ["import", str(tmp_path / "list.csv"), "--mapping", str(tmp_path / "m.yml"), "--approve"]
    )
    assert result.exit_code == 0, result.output
    assert runner.invoke(cli, ["publish"]).exit_code == 0
    found = query(seeded.registry_db, f"select name, aliases from organisations where {FOUND}", ['"U.S." "Department"'])
    assert [name for name, _ in found] == ["United States Department of Justice"]
    assert "U.S. Department of Justice" in found[0][1]
    check_passes()
