"""An import under way does not block contributors, and one killed mid-way leaves nothing.

Real processes throughout: `registry import` as a subprocess on a generated client list
(benchmarks/import_speed.py's generator), `registry serve` answering forms over HTTP."""

from __future__ import annotations

import importlib.util
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from registry.importer import service
from registry.store.database import DatabaseError
from tests.conftest import REGISTRY, ROOT, SHARED, hidden_fields, invoke, query, serving

ROWS = 150_000


def _generator():
    spec = importlib.util.spec_from_file_location("import_speed", ROOT / "benchmarks" / "import_speed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def client_list(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A generated client list of ROWS rows and its mapping (made once for this module)."""
    folder = tmp_path_factory.mktemp("client-list")
    bench = _generator()
    bench.generate(folder, ROWS, 20200227)
    return folder / bench.CSV_NAME, folder / bench.MAPPING_NAME


def start_import(settings, csv_path: Path, mapping: Path) -> subprocess.Popen:
    env = {**os.environ, "REGISTRY_INSTANCE": str(settings.instance)}
    return subprocess.Popen(
        [str(REGISTRY), "import", str(csv_path), "--mapping", str(mapping)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def rows_of_unfinished_import(settings) -> int:
    """Relationships written so far by an import still being written (0 if none)."""
    return query(
        settings.intake_db,
        "select count(*) from relationships r join submissions s on s.id = r.submission_id "
        "where s.status = 'importing'",
    )[0][0]


def wait_for_written_rows(settings, process: subprocess.Popen, at_least: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        written = rows_of_unfinished_import(settings)
        if written >= at_least:
            return written
        time.sleep(0.05)
    raise AssertionError(f"the import wrote fewer than {at_least} rows in {timeout} s")


def counts(settings) -> dict[str, int]:
    tables = ("organisations", "organisation_aliases", "organisation_identifiers", "relationships", "citations",
              "observations", "sources", "disclosures", "submissions")  # fmt: skip
    return {t: query(settings.intake_db, f"select count(*) from [{t}]")[0][0] for t in tables}


def post_source(base: str, http: httpx.Client, n: int) -> tuple[int, float, str]:
    """GET the source form, POST a new source; (status, seconds the POST took, reference)."""
    page = http.get(f"{base}/submit/source").text
    data = {
        **hidden_fields(page),
        "source-title": f"Contract register, part {n}",
        "source-url": f"https://example.org/register/{n}",
        "source-publisher": "Example Council",
        "source-language": "en",
        "source-published_date": "2021-03-04",
    }
    start = time.perf_counter()
    response = http.post(f"{base}/submit/source", data=data)
    elapsed = time.perf_counter() - start
    return response.status_code, elapsed, response.headers.get("Location", "").rsplit("/", 1)[-1]


def test_forms_keep_working_while_a_large_import_is_written(seeded, client_list, monkeypatch):
    csv_path, mapping = client_list
    monkeypatch.setenv("REGISTRY_SUBMIT_LIMIT", "100000 per minute")  # one contributor posting as fast as it can
    with serving(seeded) as served, httpx.Client(timeout=30) as http:
        process = start_import(seeded, csv_path, mapping)
        try:
            wait_for_written_rows(seeded, process, 1)
            posts, during = [], 0
            while process.poll() is None:
                status, elapsed, reference = post_source(served.intake, http, len(posts))
                writing = rows_of_unfinished_import(seeded) > 0
                posts.append((status, elapsed, reference))
                during += writing
            output, _ = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, output
    assert f"{ROWS:,} rows read" in output and "Stored as pending submission" in output
    assert during >= 10, f"only {during} submissions were posted while the import was being written"
    assert [p for p in posts if p[0] != 303] == []  # every one accepted: none failed, none locked out
    slowest = max(elapsed for _, elapsed, _ in posts)
    assert slowest < 1.5, f"a submission waited {slowest:.2f} s"
    references = {r for _, _, r in posts}
    stored = {r for (r,) in query(seeded.intake_db, "select reference from submissions where kind = 'source'")}
    assert references <= stored and len(references) == len(posts)
    # The import is whole and waiting for a reviewer.
    assert query(seeded.intake_db, "select status from submissions where kind = 'import'") == [("pending",)]
    assert query(seeded.intake_db, "select count(*) from citations c join submissions s on s.id = c.submission_id "
                 "where s.kind = 'import'") == [(ROWS,)]  # fmt: skip


def test_an_import_killed_mid_way_leaves_nothing_after_restart(seeded, client_list):
    csv_path, mapping = client_list
    before = counts(seeded)
    process = start_import(seeded, csv_path, mapping)
    try:
        written = wait_for_written_rows(seeded, process, 20_000)
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert written >= 20_000 and rows_of_unfinished_import(seeded) >= written  # part of it was written
    assert query(seeded.intake_db, "select status from submissions where kind = 'import'") == [("importing",)]
    assert query(seeded.intake_db, "select count(*) from submissions where status = 'pending'") == [(0,)]  # not queued

    assert invoke("init").exit_code == 0  # the restart: removes what the dead import wrote

    assert counts(seeded) == before
    assert query(seeded.intake_db, "select count(*) from submissions where status = 'importing'") == [(0,)]
    assert query(seeded.intake_db, "pragma integrity_check") == [("ok",)]
    assert query(seeded.intake_db, "pragma foreign_key_check") == []
    result = invoke("check")
    assert result.exit_code == 0, result.output


def test_a_killed_import_is_removed_before_the_next_one_runs(seeded, client_list):
    csv_path, mapping = client_list
    before = counts(seeded)
    process = start_import(seeded, csv_path, mapping)
    try:
        wait_for_written_rows(seeded, process, 5_000)
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    flock = SHARED / "data" / "nando-flock-private-eyes" / "agency20240426.csv"
    result = service.import_file(seeded, flock, ROOT / "seed" / "mappings" / "flock-agencies.yml")
    assert result.report.rows_read == 5152
    after = counts(seeded)
    # Only the second import's rows were added: none of the killed one's remain.
    assert query(seeded.intake_db, "select status, count(*) from submissions where kind = 'import' group by 1") == [
        ("pending", 1)
    ]
    assert (
        after["relationships"] - before["relationships"]
        == query(
            seeded.intake_db,
            "select count(*) from relationships where submission_id = "
            "(select id from submissions where kind = 'import')",
        )[0][0]
    )
    assert query(seeded.intake_db, "select count(*) from organisations where name like '%Unified School District'") == [
        (0,)
    ]


def test_an_import_refuses_to_run_beside_another(seeded, client_list):
    csv_path, mapping = client_list
    process = start_import(seeded, csv_path, mapping)
    try:
        wait_for_written_rows(seeded, process, 1)
        with pytest.raises(DatabaseError, match="another import is being written"):
            service.import_file(seeded, csv_path, mapping)
        assert invoke("init").exit_code == 0  # a live import is not mistaken for a dead one
        assert rows_of_unfinished_import(seeded) > 0
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)


def test_rows_written_by_another_writer_mid_import_stop_it_cleanly(seeded):
    """A reviewer's approval takes the next free id, which the import may have handed out
    already: the import stops with a clear message and keeps nothing; the approval stays."""
    flock = SHARED / "data" / "nando-flock-private-eyes" / "agency20240426.csv"
    before = counts(seeded)

    def progress(rows: int) -> None:
        if rows == 5000:
            conn = sqlite3.connect(seeded.intake_db, timeout=5)
            conn.execute(
                "insert into organisations (slug, name, name_key, kind, sector, status, created_at, updated_at) "
                "values ('approved-meanwhile', 'Approved Meanwhile', 'approved meanwhile', 'company', 'technology', "
                "'approved', 'x', 'x')"
            )
            conn.commit()
            conn.close()

    with pytest.raises(DatabaseError, match="another writer added rows to organisations"):
        service.import_file(seeded, flock, ROOT / "seed" / "mappings" / "flock-agencies.yml", progress=progress)
    after = counts(seeded)
    assert after == {**before, "organisations": before["organisations"] + 1}
    assert query(seeded.intake_db, "select name, status from organisations where slug = 'approved-meanwhile'") == [
        ("Approved Meanwhile", "approved")
    ]
