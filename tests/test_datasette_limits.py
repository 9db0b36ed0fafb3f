"""The public Datasette as `registry serve` runs it: only registry.db, read-only, every
query time-limited and size-limited, and nothing private reachable."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.conftest import query, serving

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(seeded_template, tmp_path_factory):
    import dataclasses
    import shutil

    from registry.config import load_settings

    folder = tmp_path_factory.mktemp("served") / "instance"
    shutil.copytree(seeded_template, folder)
    settings = dataclasses.replace(load_settings(), instance=folder)
    with serving(settings) as s:
        yield s, settings


def get(served, path: str, **kwargs) -> httpx.Response:
    return httpx.get(served[0].datasette + path, timeout=30, **kwargs)


def test_only_the_public_database_is_served(served):
    databases = get(served, "/-/databases.json").json()
    assert [d["name"] for d in databases] == ["registry"]
    assert get(served, "/intake").status_code == 404
    assert get(served, "/intake.db").status_code == 404
    rows = get(served, "/registry.json?sql=select+name+from+pragma_database_list&_shape=array").json()
    assert [r["name"] for r in rows] == ["main"]


@pytest.mark.parametrize(
    "sql",
    [
        "insert into sectors (code, label) values ('x', 'y')",
        "delete from relationships",
        "update organisations set name = 'x'",
        "drop table relationships",
        "attach database '/etc/passwd' as p",
        "pragma writable_schema = 1",
        "select load_extension('/tmp/x')",
        "vacuum into '/tmp/copy.db'",
    ],
)
def test_writes_attachments_and_extensions_are_refused(served, sql):
    before = query(served[1].registry_db, "select count(*) from relationships")
    response = get(served, "/registry.json", params={"sql": sql})
    assert response.status_code in (400, 403), response.text[:300]
    assert response.json()["ok"] is False
    assert query(served[1].registry_db, "select count(*) from relationships") == before


def test_a_post_cannot_write(served):
    response = httpx.post(served[0].datasette + "/registry", data={"sql": "delete from relationships"}, timeout=10)
    assert response.status_code in (400, 403, 405)
    assert query(served[1].registry_db, "select count(*) from relationships") == [(28,)]


def test_an_expensive_query_is_stopped_by_the_time_limit(served):
    sql = "with recursive c(x) as (select 1 union all select x + 1 from c) select count(*) from c"
    started = time.monotonic()
    response = get(served, "/registry.json", params={"sql": sql})
    elapsed = time.monotonic() - started
    assert response.status_code == 400
    assert "took too long" in response.json()["error"]
    assert elapsed < 10
    assert get(served, "/registry/relationships.json?_size=1").status_code == 200  # the server goes on


def test_results_are_capped(served):
    response = get(served, "/registry.json", params={"sql": "select code from subdivisions", "_shape": "objects"})
    data = response.json()
    assert len(data["rows"]) == 1000
    assert data["truncated"] is True
    assert get(served, "/registry/subdivisions.json?_size=5000").status_code == 400


def test_no_private_column_is_queryable(served):
    for column, table in (("submitter_contact", "submissions"), ("password_hash", "users"), ("note", "reviews")):
        response = get(served, "/registry.json", params={"sql": f"select {column} from {table}"})
        assert response.status_code == 400, column
        assert "no such table" in response.json()["error"]


def test_a_bad_query_is_logged_in_a_line_not_a_traceback(served):
    server, settings = served
    log = settings.instance.parent / f"serve-{server.intake.rsplit(':', 1)[1]}.log"
    before = log.stat().st_size
    for n in range(5):
        assert get(served, "/registry.json", params={"sql": f"delete from sectors where {n}"}).status_code == 400
    time.sleep(0.5)
    grown = log.read_bytes()[before:].decode(errors="replace")
    assert grown.count("400 Bad Request") == 5
    assert len(grown) < 2000, grown[:500]  # Datasette's default printed ~45 KB for each
