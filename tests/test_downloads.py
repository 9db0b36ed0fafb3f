"""Downloads on the public site, against a real `registry serve`: the whole database at
/registry.db (a consistent snapshot, made once per change), the /downloads page and its
releases (no way out of a release folder), the relationships-with-sources CSV, and file
names that name the filters."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from registry.config import Settings, load_settings
from registry.store import public
from tests.conftest import Served, invoke, query, serving
from tests.site import DESKTOP, PHONE, Requests, axe_violations, sideways_overflow
from tests.test_browser import JsErrors, browser, js_errors, page  # noqa: F401 - fixtures
from tests.test_review import submit_relationship
from tests.test_scoped_publication import approve

pytestmark = pytest.mark.slow

SHOTS = Path("/tmp/shots-feeds")
BUILT = "downloads: made the snapshot"


@pytest.fixture(scope="module")
def site(seeded_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Served]]:
    """One seeded instance with a release in <instance>/releases, served for the module's read-only tests."""
    folder = tmp_path_factory.mktemp("downloads") / "instance"
    shutil.copytree(seeded_template, folder)
    settings = load_settings({"REGISTRY_INSTANCE": str(folder)})
    mp = pytest.MonkeyPatch()
    mp.setenv("REGISTRY_INSTANCE", str(folder))
    try:
        result = invoke("publish", "--out", str(folder / "releases"))
        assert result.exit_code == 0, result.output
    finally:
        mp.undo()
    with serving(settings) as served:
        yield settings, served


def table_names(path: Path) -> set[str]:
    names = {n for (n,) in query(path, "select name from sqlite_master where type = 'table'")}
    return {n for n in names if not n.startswith("sqlite_") and not public.is_search_table(n)}


def download(served: Served, folder: Path, name: str) -> Path:
    response = httpx.get(f"{served.datasette}/registry.db", timeout=30)
    assert response.status_code == 200, response.text[:300]
    assert re.fullmatch(
        r'attachment; filename="exposure-registry-\d{4}-\d{2}-\d{2}\.db"', response.headers["content-disposition"]
    )
    assert int(response.headers["content-length"]) == len(response.content)
    path = folder / name
    path.write_bytes(response.content)
    assert query(path, "pragma integrity_check") == [("ok",)]
    return path


def test_whole_database_is_a_consistent_copy_of_the_public_tables_and_follows_approvals(
    seeded: Settings, reviewer_client, tmp_path: Path
):
    with serving(seeded) as served:
        first = download(served, tmp_path, "first.db")
        assert table_names(first) == set(public.PUBLIC_TABLES)
        assert query(first, "select count(*) from relationships") == query(
            seeded.registry_db, "select count(*) from relationships"
        )
        again = download(served, tmp_path, "again.db")
        assert again.read_bytes() == first.read_bytes()  # no change: the same snapshot

        approve(reviewer_client, submit_relationship(reviewer_client, seeded))  # the real services write registry.db
        after = download(served, tmp_path, "after.db")
        sylvania = "select count(*) from relationships where client = 'Sylvania Police Department'"
        assert query(first, sylvania) == [(0,)]
        assert query(after, sylvania) == [(1,)]
        assert table_names(after) == set(public.PUBLIC_TABLES)
        snapshots = list((seeded.instance / "downloads").iterdir())
        assert len(snapshots) == 1, snapshots  # the older snapshot was removed
    assert served.output.count(BUILT) == 2, served.output  # one per version of the file, not per request


def test_concurrent_requests_share_one_snapshot(seeded: Settings):
    with serving(seeded) as served:
        with ThreadPoolExecutor(max_workers=20) as pool:
            bodies = list(pool.map(lambda _: httpx.get(f"{served.datasette}/registry.db", timeout=60), range(20)))
        assert {r.status_code for r in bodies} == {200}
        assert len({hashlib.sha256(r.content).hexdigest() for r in bodies}) == 1
        assert 'id="no-releases"' in httpx.get(f"{served.datasette}/downloads").text  # none made in this instance
    assert served.output.count(BUILT) == 1, served.output


def release_links(html: str) -> list[str]:
    return re.findall(r'href="(/releases/[^"]+)"', html)


def test_downloads_page_lists_the_release_and_its_files_download(site):
    settings, served = site
    (release,) = [p for p in (settings.instance / "releases").iterdir() if p.is_dir()]
    response = httpx.get(f"{served.datasette}/downloads")
    assert response.status_code == 200
    html = response.text
    assert "<title>Downloads — Exposure registry</title>" in html
    assert f">{release.name}</h3>" in html
    assert 'href="/registry.db"' in html
    assert 'href="/registry/relationship_sources.csv?_stream=on&amp;_dl=1"' in html
    links = release_links(html)
    assert sorted(link.rsplit("/", 1)[1] for link in links) == sorted(
        p.name for p in release.iterdir() if not p.name.startswith(".")
    )
    for link in links:
        got = httpx.get(f"{served.datasette}{link}")
        assert got.status_code == 200, link
        assert got.content == (release / link.rsplit("/", 1)[1]).read_bytes(), link
    package = httpx.get(f"{served.datasette}/releases/{release.name}/datapackage.json").json()
    assert package["version"] == release.name


def test_releases_folder_is_a_setting():
    assert load_settings({"REGISTRY_INSTANCE": "/srv/a"}).releases == Path("/srv/a/releases")
    assert load_settings({"REGISTRY_INSTANCE": "/srv/a", "REGISTRY_RELEASES": "/srv/r"}).releases == Path("/srv/r")


def test_site_lists_and_serves_the_releases_of_the_setting(seeded: Settings, tmp_path: Path, monkeypatch):
    elsewhere = tmp_path / "published"
    result = invoke("publish", "--out", str(elsewhere))
    assert result.exit_code == 0, result.output
    (release,) = list(elsewhere.iterdir())
    monkeypatch.setenv("REGISTRY_RELEASES", str(elsewhere))  # `registry serve` passes it on to Datasette
    with serving(seeded) as served:
        links = release_links(httpx.get(f"{served.datasette}/downloads").text)
        assert f"/releases/{release.name}/datapackage.json" in links
        got = httpx.get(f"{served.datasette}/releases/{release.name}/registry.db")
        assert got.status_code == 200
        assert got.content == (release / "registry.db").read_bytes()


def test_release_routes_serve_nothing_outside_a_release_folder(site):
    settings, served = site
    releases = settings.instance / "releases"
    (release,) = [p for p in releases.iterdir() if p.is_dir()]
    (release / "linked.csv").symlink_to(settings.intake_db)
    (releases / "registry-2099-01-01").symlink_to(settings.instance)  # a release folder that is a link
    (release / ".secret").write_text("no")
    outside = settings.instance / "registry-2000-01-01"  # a release-like folder outside the releases folder
    outside.mkdir()
    (outside / "datapackage.json").write_text("{}")
    try:
        for path in (
            f"/releases/{release.name}/../../intake.db",
            f"/releases/{release.name}/..%2F..%2Fintake.db",
            f"/releases/{release.name}/%2E%2E%2F%2E%2E%2Fintake.db",
            "/releases/..%2Fregistry-2000-01-01/datapackage.json",
            f"/releases/{release.name}/%2Fetc%2Fpasswd",
            f"/releases/{release.name}//etc/passwd",
            f"/releases/{release.name}/linked.csv",
            f"/releases/{release.name}/.secret",
            "/releases/registry-2099-01-01/intake.db",
            "/releases/registry-2099-01-01/registry.db",
            f"/releases/{release.name}/missing.csv",
            "/releases/intake.db",
            "/releases/%2Fetc/passwd",
        ):
            response = httpx.get(f"{served.datasette}{path}")
            assert response.status_code == 404, (path, response.status_code)
            assert b"SQLite format" not in response.content and b"root:" not in response.content, path
    finally:
        (release / "linked.csv").unlink()
        (releases / "registry-2099-01-01").unlink()
        (release / ".secret").unlink()
        shutil.rmtree(outside)


def test_sources_csv_has_one_row_per_citation_with_its_source(site):
    settings, served = site
    response = httpx.get(f"{served.datasette}/registry/relationship_sources.csv?_stream=on&_dl=1", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="relationship_sources.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == query(settings.registry_db, "select count(*) from citations")[0][0]
    expected = query(
        settings.registry_db,
        "select ci.id, ci.relationship_id, r.vendor, r.client, s.title, coalesce(s.url, ''), ci.locator, "
        "coalesce(ci.quote, '') from citations ci join relationships r on r.id = ci.relationship_id "
        "join sources s on s.id = ci.source_id order by ci.id",
    )
    got = [
        (int(r["citation_id"]), int(r["relationship_id"]), r["vendor"], r["client"], r["source_title"],
         r["source_url"], r["locator"], r["quote"])
        for r in rows
    ]  # fmt: skip
    assert got == expected
    assert any(r["quote"] for r in rows) and all(r["source_title"] for r in rows)


@pytest.mark.parametrize(
    ("path", "filename"),
    [
        ("/registry/relationships.csv?vendor=Clearview+AI&client_country=Belgium&_dl=1&_stream=on",
         "relationships-vendor-clearview-ai-client_country-belgium.csv"),
        ("/registry/relationships.csv?vendor=Clearview+AI&client_country=Belgium&_dl=1",
         "relationships-vendor-clearview-ai-client_country-belgium.csv"),
        ("/registry/relationships.json?client_country=%C3%89tats-Unis&_dl=1",
         "relationships-client_country-etats-unis.json"),
        ("/registry/relationships.csv?_search=police&arrangement__in=Trial,Contract&_dl=1&_stream=on",
         "relationships-search-police-arrangement__in-trial-contract.csv"),
        ("/registry/relationships.csv?_dl=1&_stream=on", "relationships.csv"),
        ("/registry/relationship_sources.csv?vendor=Clearview+AI&_dl=1&_stream=on",
         "relationship_sources-vendor-clearview-ai.csv"),
    ],
)  # fmt: skip
def test_downloads_are_named_after_their_filters(site, path: str, filename: str):
    _, served = site
    response = httpx.get(f"{served.datasette}{path}", timeout=30)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-disposition"] == f'attachment; filename="{filename}"'


def test_downloads_page_in_chromium(site, page: Page, js_errors: JsErrors):  # noqa: F811 - fixtures
    _, served = site
    SHOTS.mkdir(exist_ok=True)
    host = served.datasette.removeprefix("http://")
    requests = Requests(page, {host})
    for name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.goto(f"{served.datasette}/downloads")
        page.screenshot(path=SHOTS / f"downloads-{name}.png", full_page=True)
        assert axe_violations(page) == []
        assert sideways_overflow(page) == 0
        assert page.locator("h1").inner_text() == "Download the data"
    assert requests.elsewhere == []
    assert js_errors.found == []
    assert os.path.exists(SHOTS / "downloads-phone.png")
