"""Uploads and leftovers do not pile up (issue 18, findings 5 and parts of 4 and 9): a
retention, a quota per address, a reserve of free disk, private file modes, leftover
copies deleted; and a full disk answered 507 everywhere while reviewers still log in."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
import uuid

import httpx
import pytest

from registry import create_app
from registry.services.cleanup import LEFTOVER_SECONDS, clean_up
from tests.conftest import REGISTRY, free_port, hidden_fields, query, small_disk, text, wait_until_answers
from tests.test_faults import Server, relationship
from tests.test_upload import FLOCK_AGENCIES, FLOCK_MAPPING, run_mapping

CSV = b"name,country\nPolice of Somewhere,US\nSheriff of Elsewhere,US\n"
HOUR = 3600


def make_app(monkeypatch, **env: str):
    for name, value in {"REGISTRY_SUBMIT_LIMIT": "1000 per minute", **env}.items():
        monkeypatch.setenv(name, value)
    return create_app({"TESTING": True, "DATASETTE_URL": "http://datasette.test"})


def upload(client, content: bytes = CSV, name: str = "list.csv", address: str | None = None, **fields):
    headers = {"X-Forwarded-For": address} if address else {}
    page = client.get("/import", headers=headers).get_data(as_text=True)
    data = {**hidden_fields(page), **fields, "file": (io.BytesIO(content), name)}
    return client.post("/import", data=data, content_type="multipart/form-data", headers=headers)


def token_of(response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return response.headers["Location"].rsplit("/", 1)[1]


def held(settings) -> list[str]:
    return sorted(p.name for p in (settings.instance / "uploads").iterdir() if p.is_file())


def test_an_unsent_upload_is_deleted_with_its_metadata_after_the_retention(monkeypatch, seeded):
    client = make_app(monkeypatch, REGISTRY_UPLOAD_RETENTION_HOURS="24").test_client()
    token = token_of(upload(client, submitter_name="Jane Doe", submitter_contact="jane@example.org"))
    assert held(seeded) == [f"{token}.csv", f"{token}.meta.json"]
    created = json.loads((seeded.instance / "uploads" / f"{token}.meta.json").read_text())["created_at"]

    report = clean_up(seeded, created + 23 * HOUR)
    assert report.uploads == 0 and held(seeded) == [f"{token}.csv", f"{token}.meta.json"]
    assert client.get(f"/import/{token}").status_code == 200

    report = clean_up(seeded, created + 24 * HOUR + 1)
    assert report.uploads == 1 and report.freed > len(CSV)
    assert held(seeded) == []
    assert client.get(f"/import/{token}").status_code == 404


def test_a_sent_upload_keeps_neither_its_file_nor_the_contact_and_its_record_goes_later(monkeypatch, seeded):
    client = make_app(monkeypatch).test_client()
    location = upload(client, FLOCK_AGENCIES.read_bytes(), "agency.csv", submitter_name="Jane Doe",
                      submitter_contact="jane@example.org").headers["Location"]  # fmt: skip
    token = location.rsplit("/", 1)[1]
    submitted = run_mapping(client, location, "submit", FLOCK_MAPPING)
    assert submitted.status_code == 303 and "/submitted/S-" in submitted.headers["Location"]
    reference = submitted.headers["Location"].rsplit("/", 1)[1]
    assert query(seeded.intake_db, "select submitter_contact from submissions where reference = ?", [reference]) == [
        ("jane@example.org",)
    ]
    assert held(seeded) == [f"{token}.meta.json"]  # the list itself is gone: the submission holds its rows
    meta = (seeded.instance / "uploads" / f"{token}.meta.json").read_text()
    assert "jane@example.org" not in meta and "Jane Doe" not in meta and reference in meta
    again = client.get(location)  # the mapping page of a sent upload: the submission's page
    assert again.status_code == 303 and again.headers["Location"].endswith(f"/submitted/{reference}")

    created = json.loads(meta)["created_at"]
    report = clean_up(seeded, created + 25 * HOUR)
    assert report.sent == 1 and held(seeded) == []
    assert report.jobs >= 1  # the job's state file (its report quotes the rows) went too
    assert list((seeded.instance / "uploads" / "jobs").iterdir()) == []


def test_an_address_holds_at_most_its_quota_of_unsent_uploads(monkeypatch, seeded):
    client = make_app(monkeypatch, REGISTRY_PROXIES="1", REGISTRY_UPLOAD_QUOTA_FILES="3").test_client()
    for _ in range(3):
        token_of(upload(client, address="203.0.113.7"))
    refused = upload(client, address="203.0.113.7")
    assert refused.status_code == 429
    assert "3 upload(s)" in text(refused) and "deleted after 24 hours" in text(refused)
    assert len(held(seeded)) == 6  # nothing of the refused upload was stored
    token_of(upload(client, address="198.51.100.9"))  # another address has its own quota
    meta = "".join(p.read_text() for p in (seeded.instance / "uploads").glob("*.meta.json"))
    assert "203.0.113.7" not in meta  # addresses are kept as keyed hashes only

    monkeypatch.setenv("REGISTRY_UPLOAD_QUOTA_MB", "1")
    client = make_app(monkeypatch, REGISTRY_PROXIES="1").test_client()
    big = b"name\n" + b"".join(b"Agency number %07d\n" % i for i in range(20_000))  # 400 KB
    token_of(upload(client, big, address="192.0.2.1"))
    token_of(upload(client, big, address="192.0.2.1"))
    assert upload(client, big, address="192.0.2.1").status_code == 429  # 1.2 MB would be held


def test_an_upload_that_would_eat_the_disk_reserve_is_refused_with_507(monkeypatch, seeded):
    client = make_app(monkeypatch, REGISTRY_DISK_RESERVE_MB="10000000").test_client()  # 10 TB must stay free
    response = upload(client)
    assert response.status_code == 507
    assert "out of space" in text(response) and str(seeded.instance) not in text(response)
    assert held(seeded) == []


def test_the_mapping_page_shows_the_rows_read_at_upload_and_is_rate_limited(monkeypatch, seeded):
    client = make_app(monkeypatch, REGISTRY_MAPPING_LIMIT="3 per minute").test_client()
    token = token_of(upload(client))
    (seeded.instance / "uploads" / f"{token}.csv").write_bytes(b"other,columns\n1,2\n")
    page = client.get(f"/import/{token}")
    assert "Police of Somewhere" in text(page) and "<th>other</th>" not in text(page)  # not read again
    assert [client.get(f"/import/{token}").status_code for _ in range(3)] == [200, 200, 429]


def test_previews_are_rate_limited_per_address(monkeypatch, seeded):
    client = make_app(monkeypatch, REGISTRY_PREVIEW_LIMIT="2 per minute").test_client()
    token = token_of(upload(client))
    page = client.get(f"/import/{token}").get_data(as_text=True)
    statuses = [client.post(f"/import/{token}/preview", data={**hidden_fields(page), "mapping": "x: 1"}).status_code
                for _ in range(3)]  # fmt: skip
    assert statuses[2] == 429 and all(s != 429 for s in statuses[:2]), statuses


def test_files_and_folders_are_created_private(seeded, tmp_path, monkeypatch):
    fresh = tmp_path / "fresh"
    env = {**os.environ, "REGISTRY_INSTANCE": str(fresh)}
    assert subprocess.run([str(REGISTRY), "init"], env=env, capture_output=True).returncode == 0
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
    for name in ("intake.db", "registry.db"):
        assert stat.S_IMODE((fresh / name).stat().st_mode) == 0o600, name
    backup = subprocess.run([str(REGISTRY), "backup", str(tmp_path / "backup")], env=env, capture_output=True)
    assert backup.returncode == 0
    assert stat.S_IMODE((tmp_path / "backup" / "intake.db").stat().st_mode) == 0o600

    previous = os.umask(0o022)  # the usual umask (the fixtures ran the CLI in this process: 077)
    try:
        client = make_app(monkeypatch).test_client()
        token = token_of(upload(client))
        page = client.get(f"/import/{token}").get_data(as_text=True)
        client.post(f"/import/{token}/preview", data={**hidden_fields(page), "mapping": "x: 1"})
    finally:
        os.umask(previous)
    folder = seeded.instance / "uploads"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "jobs").stat().st_mode) == 0o700
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert len(files) == 3  # the list, its metadata, the preview's state
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in files} == {p.name: 0o600 for p in files}


KILLED_SNAPSHOT = """
import os, sys, time
from pathlib import Path
from registry.store.copies import snapshot
with snapshot(Path(sys.argv[1])) as copy:
    print(copy, flush=True)
    time.sleep(60)
"""


def test_a_killed_process_s_snapshot_of_intake_db_is_deleted(seeded):
    process = subprocess.Popen([sys.executable, "-c", KILLED_SNAPSHOT, str(seeded.intake_db)], stdout=subprocess.PIPE,
                               text=True)  # fmt: skip
    copy = seeded.instance / os.path.basename(process.stdout.readline().strip())
    assert copy.exists() and copy.name.startswith(f".snapshot-{process.pid}-")
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert clean_up(seeded).leftovers == 0  # its process still uses it
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stdout.close()
    assert copy.exists()  # what a preview killed by gunicorn's timeout left: every email and password hash
    assert query(copy, "select count(*) from users") == query(seeded.intake_db, "select count(*) from users")

    build = seeded.instance / ".registry-build-abcd.db"  # a killed `registry publish --rebuild`
    build.write_bytes(b"x")
    fresh = seeded.instance / ".registry-build-efgh.db"
    fresh.write_bytes(b"x")
    os.utime(build, (time.time() - LEFTOVER_SECONDS - 60,) * 2)
    result = subprocess.run([str(REGISTRY), "clean"], env={**os.environ, "REGISTRY_INSTANCE": str(seeded.instance)},
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "2 leftover copy(ies)" in result.stdout
    assert not copy.exists() and not build.exists()
    assert fresh.exists()  # maybe a rebuild under way: kept until untouched for a while
    assert [p.name for p in seeded.instance.glob(".snapshot-*")] == []


@pytest.mark.slow
def test_a_full_disk_is_507_everywhere_reviewers_log_in_and_the_clean_up_frees_it(seeded, tmp_path, monkeypatch):
    with small_disk(tmp_path / "small", "24m") as mount:
        instance = mount / "instance"
        subprocess.run(["cp", "-r", str(seeded.instance), str(instance)], check=True)
        env = {**os.environ, "REGISTRY_INSTANCE": str(instance)}
        password = "a reviewer password long enough"
        subprocess.run([str(REGISTRY), "create-user", "rev", "--role", "reviewer", "--password", password], env=env,
                       check=True, capture_output=True)  # fmt: skip
        vendor_id = str(query(instance / "intake.db", "select id from organisations where slug = 'clearview-ai'")[0][0])
        # What an older instance and a killed preview left: world-readable files, a snapshot.
        instance.chmod(0o755)
        (instance / "intake.db").chmod(0o644)
        with subprocess.Popen(["true"]) as gone:
            pass
        snapshot = instance / f".snapshot-{gone.pid}-abcd.db"
        snapshot.write_bytes((instance / "intake.db").read_bytes())
        # As if from many addresses (IPv6 makes them cheap) and with no reserve of free
        # space: what the other defences do once the disk is full. Two workers: login
        # counters in each worker's memory must still stop guessing.
        monkeypatch.setenv("REGISTRY_DISK_RESERVE_MB", "0")
        monkeypatch.setenv("REGISTRY_UPLOAD_QUOTA_FILES", "1000")
        monkeypatch.setenv("REGISTRY_WORKERS", "2")
        server = Server(dataclasses.replace(seeded, instance=instance), tmp_path / "serve.log")
        try:
            assert not snapshot.exists()  # `registry serve` cleaned up as it started...
            assert stat.S_IMODE(instance.stat().st_mode) == 0o700  # ...and closed the instance
            assert stat.S_IMODE((instance / "intake.db").stat().st_mode) == 0o600
            anonymous = httpx.Client(base_url=server.url, timeout=60)
            body = b"name,country\n" + b"".join(b"Agency %07d with a long name,US\n" % i for i in range(90_000))
            statuses = []
            for _ in range(12):
                token = hidden_fields(anonymous.get("/import").text)["csrf_token"]
                response = anonymous.post("/import", data={"csrf_token": token, "submitter_contact": "a@example.org"},
                                          files={"file": ("list.csv", body[:3_000_000], "text/csv")})  # fmt: skip
                statuses.append(response.status_code)
            assert statuses[:6] == [303] * 6 and statuses[-1] == 507, statuses
            assert 500 not in statuses
            filler = mount / "filler"  # whatever else fills the last bytes (logs, another program)
            subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)
            assert os.statvfs(mount).f_bavail == 0

            form = anonymous.get("/submit/relationship")
            assert form.status_code == 200
            fields = hidden_fields(form.text)
            posts = [anonymous.post("/submit/relationship", data={**fields, "idempotency_key": uuid.uuid4().hex,
                                    **relationship(vendor_id, f"full-{n}"), "notes": "n" * 2000})
                     for n in range(20)]  # fmt: skip
            assert {p.status_code for p in posts} == {507}, [p.status_code for p in posts]
            assert "out of space" in posts[-1].text and str(mount) not in posts[-1].text

            reviewer = httpx.Client(base_url=server.url, timeout=60)
            token = hidden_fields(reviewer.get("/login").text)["csrf_token"]
            login = reviewer.post("/login", data={"csrf_token": token, "name": "rev", "password": password})
            assert login.status_code == 303, login.text[:300]
            assert reviewer.get("/review").status_code == 200
            guesser = httpx.Client(base_url=server.url, timeout=60)
            token = hidden_fields(guesser.get("/login").text)["csrf_token"]
            wrong = [guesser.post("/login", data={"csrf_token": token, "name": "rev", "password": "wrong"}).status_code
                     for _ in range(12)]  # fmt: skip
            guesser.close()
            assert 429 in wrong and 500 not in wrong  # login throttling holds on a full disk too

            cleaned = subprocess.run([str(REGISTRY), "clean"], env={**env, "REGISTRY_UPLOAD_RETENTION_HOURS": "0"},
                                     capture_output=True, text=True)  # fmt: skip
            assert cleaned.returncode == 0, cleaned.stderr
            assert f"Deleted {statuses.count(303)} expired upload(s)" in cleaned.stdout
            assert [p for p in (instance / "uploads").iterdir() if p.is_file()] == []
            response = anonymous.post("/submit/relationship", data={**fields, "idempotency_key": uuid.uuid4().hex,
                                                                    **relationship(vendor_id, "after")})  # fmt: skip
            assert response.status_code == 303, response.text[:300]
            anonymous.close()
            reviewer.close()
        finally:
            server.stop()
        assert "Traceback" not in (tmp_path / "serve.log").read_text()
        assert query(instance / "intake.db", "pragma integrity_check") == [("ok",)]


def test_rate_limit_counters_on_a_full_disk_fail_so_the_limiter_counts_in_memory(tmp_path):
    """The store itself: it starts on a full disk, and says it is down (a read would still
    work there, so its check writes), so Flask-Limiter keeps counting in memory."""
    from registry.web.ratelimit import SQLiteStorage

    with small_disk(tmp_path / "small", "1m") as mount:
        working = SQLiteStorage(f"registry-sqlite://{mount / 'ratelimit.db'}")
        assert working.incr("a", 60) == 1 and working.check()
        subprocess.run(["dd", "if=/dev/zero", f"of={mount / 'filler'}", "bs=4k"], capture_output=True)
        with pytest.raises(sqlite3.Error):
            for n in range(1000):
                working.incr(f"key-{n}-" + "k" * 500, 60)
        assert not working.check()
        starting = SQLiteStorage(f"registry-sqlite://{mount / 'other.db'}")  # a worker starting now
        assert not starting.check()
        (mount / "filler").unlink()
        assert working.check() and starting.check()  # space again: the limiter goes back to the file
        for storage in (working, starting):
            storage._connection().close()


@pytest.mark.slow
def test_a_disk_full_before_any_page_was_read_still_lets_reviewers_in(seeded, tmp_path):
    """The disk fills before any worker thread has opened intake.db: SQLite cannot create
    its shared-memory file then, so each worker keeps one connection open from its start."""
    with small_disk(tmp_path / "small", "24m") as mount:
        instance = mount / "instance"
        subprocess.run(["cp", "-r", str(seeded.instance), str(instance)], check=True)
        env = {**os.environ, "REGISTRY_INSTANCE": str(instance)}
        password = "a reviewer password long enough"
        subprocess.run([str(REGISTRY), "create-user", "rev", "--role", "reviewer", "--password", password], env=env,
                       check=True, capture_output=True)  # fmt: skip
        port, log = free_port(), (tmp_path / "serve.log").open("w")
        server = subprocess.Popen([str(REGISTRY), "serve", "--port", str(port), "--datasette-port", str(free_port())],
                                  env={**env, "REGISTRY_WORKERS": "2"}, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_answers(f"{url}/import", server, tmp_path / "serve.log")  # a page that reads no database
            subprocess.run(["dd", "if=/dev/zero", f"of={mount / 'filler'}", "bs=4k"], capture_output=True)
            assert os.statvfs(mount).f_bavail == 0
            with httpx.Client(base_url=url, timeout=60) as client:
                assert [client.get("/submit/relationship").status_code for _ in range(10)] == [200] * 10
                token = hidden_fields(client.get("/login").text)["csrf_token"]
                login = client.post("/login", data={"csrf_token": token, "name": "rev", "password": password})
                assert login.status_code == 303, login.text[:300]
                assert client.get("/review").status_code == 200
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
            log.close()
