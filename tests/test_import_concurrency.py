"""An import under way does not block contributors, and one killed mid-way leaves nothing.

Real processes throughout: `registry import` as a subprocess on a generated client list
(benchmarks/import_speed.py's generator), `registry serve` answering forms over HTTP."""

from __future__ import annotations

import csv
import importlib.util
import os
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from registry.importer import service
from registry.rules.names import name_key
from registry.store.connection import DatabaseError
from tests.conftest import REGISTRY, ROOT, SHARED, dump, hidden_fields, invoke, query, serving

pytestmark = pytest.mark.slow

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


def start_import(settings, csv_path: Path, mapping: Path, *options: str) -> subprocess.Popen:
    env = {**os.environ, "REGISTRY_INSTANCE": str(settings.instance)}
    return subprocess.Popen(
        [str(REGISTRY), "import", str(csv_path), "--mapping", str(mapping), *options],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def rows_of_unfinished_import(settings) -> int:
    """Organisations and relationships moved so far into intake.db by an import still being
    written (0 if none)."""
    return query(
        settings.intake_db,
        "select (select count(*) from organisations o join submissions s on s.id = o.submission_id "
        "where s.status = 'importing') + (select count(*) from relationships r join submissions s "
        "on s.id = r.submission_id where s.status = 'importing')",
    )[0][0]


def importing(settings) -> bool:
    """An import has begun and not yet finished (its submission is 'importing')."""
    return query(settings.intake_db, "select count(*) from submissions where status = 'importing'")[0][0] > 0


def wait_until(condition, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"not reached within {timeout} s")


def wait_for_written_rows(settings, process: subprocess.Popen, at_least: int) -> int:
    wait_until(lambda: rows_of_unfinished_import(settings) >= at_least, process)
    return rows_of_unfinished_import(settings)


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
    posts: list[tuple[float, int, float, str]] = []  # (started, status, seconds, reference)
    stop = threading.Event()
    with serving(seeded) as served, httpx.Client(timeout=30) as http:

        def contribute() -> None:
            while not stop.is_set():
                started = time.monotonic()
                posts.append((started, *post_source(served.intake, http, len(posts))))

        process = start_import(seeded, csv_path, mapping)
        contributor = threading.Thread(target=contribute)
        try:
            wait_until(lambda: importing(seeded), process)
            began, moving_from = time.monotonic(), None
            contributor.start()
            while process.poll() is None:  # watch for the first rows moved into intake.db
                if moving_from is None and rows_of_unfinished_import(seeded) > 0:
                    moving_from = time.monotonic()
                time.sleep(0.02)
            ended = time.monotonic()
            output, _ = process.communicate(timeout=60)
        finally:
            stop.set()
            if contributor.is_alive():
                contributor.join()
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, output
    assert f"{ROWS:,} rows read" in output and "Stored as pending submission" in output
    during = [p for p in posts if began <= p[0] <= ended]
    moving = [p for p in posts if moving_from and moving_from <= p[0] <= ended]
    assert len(during) >= 10, f"only {len(during)} submissions were posted while the import was under way"
    assert len(moving) >= 3, f"only {len(moving)} submissions were posted while its rows were moved into intake.db"
    assert [p for p in posts if p[1] != 303] == []  # every one accepted: none failed, none locked out
    slowest = max(p[2] for p in posts)
    assert slowest < 1.5, f"a submission waited {slowest:.2f} s ({len(posts)} posted, {len(moving)} during the move)"
    references = {p[3] for p in posts}
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
    assert staging_files(seeded) == []


def test_an_approved_import_killed_mid_way_publishes_nothing(seeded, client_list):
    """--approve: the rows become visible and published in one last transaction, or never."""
    csv_path, mapping = client_list
    before, published = counts(seeded), dump(seeded.registry_db)
    process = start_import(seeded, csv_path, mapping, "--approve")
    try:
        wait_for_written_rows(seeded, process, 20_000)
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert query(seeded.intake_db, "select count(*) from relationships where status = 'approved' and "
                 "submission_id is not null") == [(0,)]  # fmt: skip
    assert dump(seeded.registry_db) == published
    assert invoke("init").exit_code == 0
    assert counts(seeded) == before
    assert dump(seeded.registry_db) == published
    result = invoke("check")
    assert result.exit_code == 0, result.output


def staging_files(settings) -> list[Path]:
    return sorted(settings.intake_db.parent.glob("intake.db.staging-*"))


def test_an_import_killed_while_reading_is_removed_before_the_next_one_runs(seeded, client_list):
    csv_path, mapping = client_list
    before = counts(seeded)
    process = start_import(seeded, csv_path, mapping)
    try:  # killed while it reads and stages rows, before any is moved into intake.db
        wait_until(lambda: importing(seeded) and staging_files(seeded) != [], process)
        time.sleep(0.5)
        assert rows_of_unfinished_import(seeded) == 0
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    assert len(staging_files(seeded)) == 1
    flock = SHARED / "data" / "nando-flock-private-eyes" / "agency20240426.csv"
    result = service.import_file(seeded, flock, ROOT / "seed" / "mappings" / "flock-agencies.yml")
    assert result.report.rows_read == 5152
    assert staging_files(seeded) == []
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
        wait_until(lambda: importing(seeded), process)
        with pytest.raises(DatabaseError, match="another import is being written"):
            service.import_file(seeded, csv_path, mapping)
        assert invoke("init").exit_code == 0  # a live import is not mistaken for a dead one
        assert importing(seeded) and len(staging_files(seeded)) == 1
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)


def test_rows_written_by_another_writer_during_an_import_keep_their_ids(seeded, client_list):
    """Another writer (a reviewer approving) adds organisations and aliases all through an
    import: each chunk of the import takes the next free ids when it is written, so both
    sets of rows stay whole and every reference points where it should."""
    csv_path, mapping = client_list
    stop, added = threading.Event(), []

    def approve_continually() -> None:
        conn = sqlite3.connect(seeded.intake_db, timeout=5, isolation_level=None)
        while not stop.is_set():
            n = len(added)
            conn.execute("BEGIN IMMEDIATE")
            org = conn.execute(
                "insert into organisations (slug, name, name_key, kind, sector, status, created_at, updated_at) "
                "values (?, ?, ?, 'company', 'technology', 'approved', 'x', 'x')",
                [f"approved-meanwhile-{n}", f"Approved Meanwhile {n}", f"approved meanwhile {n}"],
            ).lastrowid
            conn.execute("insert into organisation_aliases (organisation_id, alias, alias_key) values (?, ?, ?)",
                         [org, f"AM {n}", f"am {n}"])  # fmt: skip
            conn.execute("COMMIT")
            added.append(org)
            time.sleep(0.005)
        conn.close()

    writer = threading.Thread(target=approve_continually)
    writer.start()
    try:
        result = service.import_file(seeded, csv_path, mapping)
    finally:
        stop.set()
        writer.join()
    assert len(added) > 50
    reference = result.reference
    submission = query(seeded.intake_db, "select id, status from submissions where reference = ?", [reference])[0]
    assert submission[1] == "pending"
    # The other writer's rows are all there, as written.
    assert query(
        seeded.intake_db,
        "select count(*) from organisations where name like 'Approved Meanwhile %' "
        "and id in (select organisation_id from organisation_aliases where alias like 'AM %')",
    ) == [(len(added),)]
    # The import's: as many as it reported, each pointing at its own clients, at vendors it made or
    # found in the seed, and never at the other writer's organisations.
    rows = query(
        seeded.intake_db,
        "select count(*), count(distinct c.id), sum(c.submission_id = r.submission_id), "
        "sum(v.submission_id = r.submission_id or v.submission_id is null), "
        "sum(c.name like 'Approved Meanwhile%' or v.name like 'Approved%') "
        "from relationships r join organisations c on c.id = r.client_id join organisations v on v.id = r.vendor_id "
        "where r.submission_id = ?",
        [submission[0]],
    )[0]
    assert rows[0] == result.report.relationships_stored
    assert rows[1] == result.report.new_organisations
    assert rows[2] == rows[0] and rows[3] == rows[0] and rows[4] == 0
    assert query(seeded.intake_db, "select count(distinct v.name) from relationships r join organisations v "
                 "on v.id = r.vendor_id where r.submission_id = ?", [submission[0]]) == [(40,)]  # fmt: skip
    # Each citation of the file names its row, and that row's client is the relationship's.
    sample = query(
        seeded.intake_db,
        "select ci.locator, c.name_key from citations ci join relationships r on r.id = ci.relationship_id "
        "join organisations c on c.id = r.client_id where ci.submission_id = ? order by ci.id limit 2000",
        [submission[0]],
    )
    with csv_path.open(encoding="utf-8", newline="") as f:
        clients = {n: r["Client"] for n, r in enumerate(csv.DictReader(f), start=2)}
    assert len(sample) == 2000
    assert all(name_key(clients[int(locator.split()[1])]) == key for locator, key in sample)
    assert query(seeded.intake_db, "pragma foreign_key_check") == []
