"""Faults: the servers killed with SIGKILL under load, `publish --rebuild` killed mid-way,
an online backup taken while submissions arrive and restored into a new instance.
Nothing acknowledged is lost, nothing is stored twice, and the databases stay whole."""

from __future__ import annotations

import dataclasses
import os
import signal
import sqlite3
import subprocess
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.conftest import REGISTRY, ROOT, SHARED, dump, free_port, hidden_fields, query, serving, small_disk

pytestmark = pytest.mark.slow

FLOCK = SHARED / "data" / "nando-flock-private-eyes" / "agency20240426.csv"


def registry(settings, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "REGISTRY_INSTANCE": str(settings.instance)}
    return subprocess.run([str(REGISTRY), *args], env=env, capture_output=True, text=True, timeout=timeout)


class Server:
    """`registry serve` in a process group of its own, so SIGKILL reaches every process."""

    def __init__(self, settings, log: Path) -> None:
        self.port, self.datasette_port = free_port(), free_port()
        env = {**os.environ, "REGISTRY_INSTANCE": str(settings.instance), "REGISTRY_SUBMIT_LIMIT": "100000/minute"}
        self.log = log.open("a")
        self.process = subprocess.Popen(
            [str(REGISTRY), "serve", "--port", str(self.port), "--datasette-port", str(self.datasette_port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, log.read_text()
            try:
                httpx.get(f"{self.url}/submit/relationship", timeout=2)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError("the intake app did not start")

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.log.close()

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()
        self.log.close()


def relationship(vendor_id: str, n: str) -> dict[str, str]:
    return {
        "vendor-id": vendor_id,
        "vendor-name": "Clearview AI",
        "client-name": f"Fault Test Agency {n}",
        "client-kind": "public-agency",
        "client-sector": "law-enforcement",
        "client-country": "US",
        "arrangement": "trial",
        "start_date": "2019-11",
        "summary": "A trial, sent while the server was being killed.",
        "source-title": f"Fault test list {n}",
        "source-url": f"https://example.org/fault/{n}",
        "source-publisher": "Fault Test News",
        "source-language": "en",
        "source-published_date": "2020-02-27",
        "locator": "row 1",
        "quote": "a trial",
    }


class Contributor(threading.Thread):
    """Posts submissions until stopped or the server dies; remembers what was acknowledged
    (a 303 to the confirmation page) and what was sent without an answer."""

    def __init__(self, client: httpx.Client, token: str, vendor_id: str) -> None:
        super().__init__(daemon=True)
        self.client, self.token, self.vendor_id = client, token, vendor_id
        self.acknowledged: dict[str, str] = {}  # idempotency key -> reference
        self.unanswered: dict[str, dict[str, str]] = {}  # key -> the data sent
        self.refused: list[str] = []  # any other answer: a defect
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            key = uuid.uuid4().hex
            data = {"csrf_token": self.token, "idempotency_key": key, **relationship(self.vendor_id, key[:12])}
            try:
                response = self.client.post("/submit/relationship", data=data)
            except httpx.TransportError:
                self.unanswered[key] = data
                return
            if response.status_code != 303:
                self.refused.append(f"{response.status_code}: {response.text[:300]}")
                return
            self.acknowledged[key] = response.headers["location"].rsplit("/", 1)[1]


def session(url: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=url, timeout=10)
    token = hidden_fields(client.get("/submit/relationship").text)["csrf_token"]
    return client, token


def test_kill_9_under_load_ten_times_loses_nothing_acknowledged(seeded, tmp_path):
    vendor_id = str(query(seeded.intake_db, "select id from organisations where slug = 'clearview-ai'")[0][0])
    acknowledged: dict[str, str] = {}
    unanswered: dict[str, dict[str, str]] = {}
    cookies = None
    for round_number in range(10):
        server = Server(seeded, tmp_path / "serve.log")
        contributors = []
        for _ in range(4):
            client, token = session(server.url)
            if cookies is None:
                cookies = (client.cookies, token)
            contributors.append(Contributor(client, token, vendor_id))
        for c in contributors:
            c.start()
        time.sleep(0.4 + 0.1 * round_number)
        server.kill()
        for c in contributors:
            c.join(timeout=15)
            acknowledged.update(c.acknowledged)
            unanswered.update(c.unanswered)
            c.client.close()
            assert not c.refused, c.refused
        stored = dict(query(seeded.intake_db, "select idempotency_key, reference from submissions"))
        missing = {k: r for k, r in acknowledged.items() if stored.get(k) != r}
        assert not missing, f"round {round_number}: acknowledged but not stored: {missing}"
        assert query(seeded.intake_db, "pragma integrity_check") == [("ok",)]
    assert len(acknowledged) > 40  # the load was real
    counts = Counter(k for (k,) in query(seeded.intake_db, "select idempotency_key from submissions"))
    assert max(counts.values()) == 1

    # After a restart, retrying with the same idempotency key gives the first answer, not a copy.
    server = Server(seeded, tmp_path / "serve.log")
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            token = hidden_fields(client.get("/submit/relationship").text)["csrf_token"]
            for key, reference in list(acknowledged.items())[:5]:
                data = {"csrf_token": token, "idempotency_key": key, **relationship(vendor_id, key[:12])}
                response = client.post("/submit/relationship", data=data)
                assert response.status_code == 303
                assert response.headers["location"].endswith(f"/submitted/{reference}")
            for data in unanswered.values():  # sent when the server died: stored once, whatever happened
                response = client.post("/submit/relationship", data={**data, "csrf_token": token})
                assert response.status_code == 303, response.text[:300]
    finally:
        server.stop()
    counts = Counter(k for (k,) in query(seeded.intake_db, "select idempotency_key from submissions"))
    assert all(counts[k] == 1 for k in [*acknowledged, *unanswered])
    assert len(unanswered) >= 1
    assert registry(seeded, "check").returncode == 0


def test_kill_9_during_publish_rebuild_leaves_the_old_or_the_new_database(seeded, tmp_path):
    result = registry(
        seeded,
        "import",
        str(FLOCK),
        "--mapping",
        str(ROOT / "seed" / "mappings" / "flock-agencies.yml"),
        "--approve",
        "--skip-invalid",  # "Lynne Drake", a person's name, is left out (tests/test_persons.py)
    )
    assert result.returncode == 0, result.stderr
    # Make intake.db differ from registry.db, as an operator's fix would, so old != new.
    conn = sqlite3.connect(seeded.intake_db)
    with conn:
        conn.execute("update organisations set name = name || ' (renamed)' where id % 7 = 0 and status = 'approved'")
    conn.close()
    old = dump(seeded.registry_db)
    reference = tmp_path / "reference"
    subprocess.run(["cp", "-r", str(seeded.instance), str(reference)], check=True)
    env_ref = dataclasses.replace(seeded, instance=reference)
    assert registry(env_ref, "publish", "--rebuild").returncode == 0
    new = dump(reference / "registry.db")
    assert new != old

    outcomes = []
    for delay in (0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.7, 0.9, 1.2, 1.6):
        env = {**os.environ, "REGISTRY_INSTANCE": str(seeded.instance)}
        process = subprocess.Popen([str(REGISTRY), "publish", "--rebuild"], env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)  # fmt: skip
        time.sleep(delay)
        process.kill()
        process.wait()
        assert query(seeded.registry_db, "pragma integrity_check") == [("ok",)]
        now = dump(seeded.registry_db)
        assert now in (old, new), f"killed after {delay}s: registry.db is neither the old nor the new one"
        outcomes.append("new" if now == new else "old")
        if now == new:  # the rebuild finished before the kill: later delays would find the same
            break
    assert "old" in outcomes  # at least one kill landed mid-way
    assert registry(seeded, "publish", "--rebuild").returncode == 0
    assert dump(seeded.registry_db) == new
    assert registry(seeded, "check").returncode == 0, registry(seeded, "check").stderr


def test_backup_while_submissions_arrive_restores_a_consistent_instance(seeded, tmp_path):
    vendor_id = str(query(seeded.intake_db, "select id from organisations where slug = 'clearview-ai'")[0][0])
    server = Server(seeded, tmp_path / "serve.log")
    contributors = []
    try:
        for _ in range(3):
            client, token = session(server.url)
            contributors.append(Contributor(client, token, vendor_id))
        for c in contributors:
            c.start()
        time.sleep(0.5)
        result = registry(seeded, "backup", str(tmp_path / "backup"))
        time.sleep(0.5)
    finally:
        for c in contributors:
            c.stop.set()
        for c in contributors:
            c.join(timeout=15)
            c.client.close()
            assert not c.refused, c.refused
        server.stop()
    assert result.returncode == 0, result.stderr
    assert "intake.db:" in result.stdout and "integrity ok" in result.stdout
    assert "keep it private" in (tmp_path / "backup" / "BACKUP.txt").read_text()

    restored = tmp_path / "restored"
    settings = dataclasses.replace(seeded, instance=restored)
    result = registry(settings, "restore", str(tmp_path / "backup"))
    assert result.returncode == 0, result.stderr

    # Every table of the restored intake.db is the original's at one moment: the same rows,
    # except submissions sent after the backup (ids above the restored ones).
    original, copy = sqlite3.connect(seeded.intake_db), sqlite3.connect(restored / "intake.db")
    tables = [r[0] for r in original.execute("select name from sqlite_master where type = 'table' order by name")]
    assert tables == [r[0] for r in copy.execute("select name from sqlite_master where type = 'table' order by name")]
    for table in tables:
        # Every column in the order (ended_sessions has no rowid)
        everything = ", ".join(str(i + 1) for i in range(len(copy.execute(f"select * from [{table}]").description)))
        theirs = copy.execute(f"select * from [{table}] order by {everything}").fetchall()
        if table == "submissions":
            last = max(r[0] for r in theirs)
            ours = original.execute("select * from submissions where id <= ? order by rowid", [last]).fetchall()
            assert theirs == ours
            later = original.execute("select count(*) from submissions where id > ?", [last]).fetchone()[0]
            assert later > 0  # submissions went on after the backup...
            assert last > 0 and len(theirs) > 0  # ...and before it
        else:
            assert theirs == original.execute(f"select * from [{table}] order by {everything}").fetchall(), table
    original.close()
    copy.close()
    assert dump(restored / "registry.db") == dump(seeded.registry_db)
    assert registry(settings, "check").returncode == 0
    with serving(settings) as served:
        assert 'data-count="relationships">28<' in httpx.get(f"{served.intake}/", timeout=5).text


def test_backup_and_restore_refuse_to_overwrite(seeded, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "something").write_text("x")
    result = registry(seeded, "backup", str(tmp_path / "full"))
    assert result.returncode == 1
    assert "no backup made" in result.stderr and "not empty" in result.stderr
    assert registry(seeded, "backup", str(tmp_path / "ok")).returncode == 0
    result = registry(seeded, "restore", str(tmp_path / "ok"))  # into the live instance
    assert result.returncode == 1
    assert "nothing restored" in result.stderr and "holds intake.db, registry.db already" in result.stderr
    result = registry(seeded, "restore", str(tmp_path / "full"))
    assert result.returncode == 1 and "not a registry backup" in result.stderr
    assert "Traceback" not in result.stderr


def test_backup_to_a_full_disk_fails_clearly_and_leaves_no_partial_backup(seeded, tmp_path):
    with small_disk(tmp_path / "small", "512k", why_else="; the size-capped database test covers a full disk") as mount:
        result = registry(seeded, "backup", str(mount / "backup"))
        assert result.returncode == 1
        assert "no backup made" in result.stderr and "full" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
        assert not (mount / "backup").exists()
        assert list(mount.iterdir()) == []


def test_an_intake_db_on_a_full_disk_answers_507_and_stays_whole(seeded, tmp_path):
    size_kb = (seeded.intake_db.stat().st_size + seeded.registry_db.stat().st_size) // 1024 + 600
    with small_disk(
        tmp_path / "small", f"{size_kb}k", why_else="; the size-capped database test covers a full disk"
    ) as mount:
        for name in ("intake.db", "registry.db"):
            subprocess.run(["cp", str(seeded.instance / name), str(mount / name)], check=True)
        settings = dataclasses.replace(seeded, instance=mount)
        vendor_id = str(query(mount / "intake.db", "select id from organisations where slug = 'clearview-ai'")[0][0])
        server = Server(settings, tmp_path / "serve.log")
        statuses = []
        try:
            client, token = session(server.url)
            for n in range(2000):
                data = {"csrf_token": token, "idempotency_key": uuid.uuid4().hex,
                        **relationship(vendor_id, f"full-{n}"), "notes": "n" * 2000}  # fmt: skip
                response = client.post("/submit/relationship", data=data)
                statuses.append(response.status_code)
                if response.status_code != 303:
                    break
            assert response.status_code == 507, (statuses[-3:], response.text[:300])
            assert "out of space" in response.text
            assert client.get("/").status_code == 200  # reading goes on
            client.close()
        finally:
            server.stop()
        assert query(mount / "intake.db", "pragma integrity_check") == [("ok",)]
        assert query(mount / "intake.db", "select count(*) from submissions") == [(statuses.count(303),)]
