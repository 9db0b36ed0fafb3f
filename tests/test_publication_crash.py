"""A kill at any instant of a decision or a publication leaves the public site answering,
and intake.db and registry.db agreeing once `registry serve`'s start-up recovery has run
(issue 18, finding 6).

Each operation runs as a child process under strace, which sends it SIGKILL just before
its Nth call of one of the writing system calls (write, pwrite64, fsync, fdatasync,
ftruncate, rename, unlink) on intake.db, registry.db or their -wal, -shm and -journal
files (`strace -P`: a rebuild's work on its temporary file cannot touch them); N runs
from 1 until the operation completes without being killed, for each of those calls in
turn, so every write the operation makes to the two databases is a kill point. After
each kill: a real Datasette, started on the files before the first kill and left
running, answers the relationships JSON 200 and a fresh read-only connection (what a
restarted Datasette opens) reads the file; `publisher.recover` (what `registry serve` runs
before it starts Datasette) runs; then a full `public.sync` finds nothing to publish, the
two files hold the same publication stamp and both pass integrity_check. The tallies are
SECURITY.md's table (printed with `-s`).

`make test` kills at every fsync, fdatasync, ftruncate and rename, and at a sample of the
many writes (every SAMPLE-th write, pwrite64 and unlink, from the first): the whole sweep
took 19 minutes of CI's 46. `REGISTRY_CRASH_SWEEP=full` (`make crash-sweep`) kills before
every one of them, the figures SECURITY.md reports."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from registry.config import Settings
from registry.serve import datasette_command
from registry.services import approval, publisher
from tests.conftest import REGISTRY, dump, free_port, invoke, query, serving
from tests.test_review import submit_relationship
from tests.test_scoped_publication import full_sync_changes

STRACE = shutil.which("strace")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(STRACE is None, reason="strace is not installed"),
]

SYSCALLS = ("write", "pwrite64", "fsync", "fdatasync", "ftruncate", "rename", "unlink")
SIDE_FILES = ("", "-wal", "-shm", "-journal")  # the calls on the two live databases' files count
SAMPLE = 1 if os.environ.get("REGISTRY_CRASH_SWEEP") == "full" else 5

# A reviewer's decision, as the review pages make it, in a process of its own.
DECIDE = """
import sys
from registry.config import load_settings
from registry.services import approval, curation
reviewer = {"id": int(sys.argv[3]), "name": "alice"}
if sys.argv[1] == "approve":
    approval.approve(load_settings(), int(sys.argv[2]), reviewer)
else:
    curation.withdraw(load_settings(), int(sys.argv[2]), reviewer, "Its only source was retracted.", "Withdrawn.")
"""


@dataclasses.dataclass
class Tally:
    """What the kills of one operation did."""

    kills: int = 0
    outage: int = 0  # kills after which a reader got anything but a 200
    outcomes: Counter[str] = dataclasses.field(default_factory=Counter)  # old, new, cut between the files


def killed_at(settings: Settings, command: list[str], syscall: str, n: int) -> bool:
    """Run `command` under strace, killed before its `n`th `syscall`; True if it was killed,
    False if it finished first (it must then have succeeded)."""
    env = {**os.environ, "REGISTRY_INSTANCE": str(settings.instance)}
    inject = f"inject={syscall}:signal=SIGKILL:when={n}"
    paths = [f"{db}{suffix}" for db in (settings.intake_db, settings.registry_db) for suffix in SIDE_FILES]
    watched = [arg for path in paths for arg in ("-P", path)]  # strace counts and kills only these
    trace = [str(STRACE), "-f", "-qq", "-o", "/dev/null", *watched, "-e", f"trace={syscall}", "-e", inject, "--"]
    result = subprocess.run([*trace, *command], env=env, capture_output=True, text=True, timeout=120)
    if result.returncode in (-signal.SIGKILL, 128 + signal.SIGKILL):
        return True
    assert result.returncode == 0, result.stderr
    return False


@pytest.fixture
def datasette(seeded: Settings, tmp_path: Path) -> Iterator[str]:
    """Datasette as `registry serve` runs it, on the seeded registry.db, in a process group."""
    port = free_port()
    log = (tmp_path / "datasette.log").open("w")
    process = subprocess.Popen(
        datasette_command(seeded, port), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}/registry/relationships.json?_size=5"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp_path / "datasette.log").read_text()
            try:
                if httpx.get(url, timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "Datasette did not start"
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
        log.close()


def readers_answer(url: str, settings: Settings) -> bool:
    """The running Datasette answers, and a new read-only connection reads (Datasette's way)."""
    answered = httpx.get(url, timeout=10).status_code == 200
    try:
        fresh = sqlite3.connect(f"file:{settings.registry_db}?mode=ro", uri=True)
        try:
            fresh.execute("SELECT count(*) FROM relationships").fetchone()
        finally:
            fresh.close()
    except sqlite3.Error:
        return False
    return answered


def stamps(settings: Settings) -> tuple[int, int]:
    """(intake.db's last publication, the publication registry.db holds)."""
    intake = query(settings.intake_db, "SELECT stamp FROM publication_state WHERE id = 1")
    return (intake[0][0] if intake else 0), query(settings.registry_db, "PRAGMA application_id")[0][0]


def assert_agree(settings: Settings) -> None:
    assert full_sync_changes(settings) == {}
    assert stamps(settings)[0] == stamps(settings)[1]
    for path in (settings.intake_db, settings.registry_db):
        assert query(path, "PRAGMA integrity_check") == [("ok",)], path


def sweep(
    settings: Settings, url: str, command: Callable[[], list[str]], judge: Callable[[], str], stride: int = 1
) -> Tally:
    """Kill `command()` before every writing system call it makes (every `stride`th write,
    pwrite64 and unlink, times SAMPLE), one kill per run, and `judge()` what each kill left.
    `command` is called again for each run (it may choose a new submission once one was
    decided)."""
    tally = Tally()
    for syscall in SYSCALLS:
        step = stride * SAMPLE if syscall in ("write", "pwrite64", "unlink") else 1
        n = 1
        while killed_at(settings, command(), syscall, n):
            tally.kills += 1
            tally.outage += not readers_answer(url, settings)
            tally.outcomes[judge()] += 1
            n += step
        judge()  # the run that finished
    print(f"\n{tally}")
    assert tally.outage == 0
    return tally


def decision_judge(settings: Settings, decided: Callable[[], bool]) -> Callable[[], str]:
    """After a kill during a decision: recovery (as at `registry serve`'s start) leaves the
    two files agreeing; say whether the kill left the decision undone, done, or done in
    intake.db only (cut between the two commits, then finished by the recovery)."""

    def judge() -> str:
        cut = stamps(settings)[0] != stamps(settings)[1]
        publisher.recover(settings)
        assert_agree(settings)
        return "cut between the two files" if cut else ("new" if decided() else "old")

    return judge


def test_a_kill_at_any_write_of_an_approval_leaves_the_site_up_and_the_databases_agreeing(
    seeded, reviewer, hostile_app, datasette
):
    client = hostile_app.test_client()  # submission limits raised: a few hundred posts
    made = iter(range(10_000))
    pending = [0]

    def status(submission_id: int) -> str:
        found = query(seeded.intake_db, "SELECT status FROM submissions WHERE id = ?", [submission_id])
        return found[0][0] if found else "none"

    def command() -> list[str]:
        if status(pending[0]) != "pending":  # decided by the last run: the next run decides a new one
            client_name = f"Crash Test Police Department {next(made)}"
            pending[0] = submit_relationship(client, seeded, **{"client-name": client_name})
        return [sys.executable, "-c", DECIDE, "approve", str(pending[0]), str(reviewer["id"])]

    tally = sweep(seeded, datasette, command, decision_judge(seeded, lambda: status(pending[0]) == "approved"))
    assert tally.kills > 100 // SAMPLE and tally.outcomes["cut between the two files"] > 0


def test_a_kill_at_any_write_of_a_withdrawal_leaves_the_site_up_and_the_databases_agreeing(
    seeded, reviewer, hostile_app, datasette
):
    """A withdrawal publishes with a full comparison (`public.sync`), not a scope."""
    client = hostile_app.test_client()
    made = iter(range(10_000))
    current = [0]

    def status() -> str:
        return query(seeded.intake_db, "SELECT status FROM relationships WHERE id = ?", [current[0]])[0][0]

    def command() -> list[str]:
        if not current[0] or status() != "approved":  # withdrawn by the last run: approve another
            name = f"Withdrawn Police Department {next(made)}"
            approval.approve(seeded, submit_relationship(client, seeded, **{"client-name": name}), reviewer)
            current[0] = query(seeded.intake_db, "SELECT max(id) FROM relationships WHERE status = 'approved'")[0][0]
        return [sys.executable, "-c", DECIDE, "withdraw", str(current[0]), str(reviewer["id"])]

    judge = decision_judge(seeded, lambda: status() == "withdrawn")
    tally = sweep(seeded, datasette, command, judge, stride=2)
    assert tally.kills > 20 // SAMPLE and tally.outcomes["cut between the two files"] > 0


@pytest.mark.parametrize("rebuild", [False, True], ids=["publish", "publish --rebuild"])
def test_a_kill_at_any_write_of_a_publish_leaves_the_old_or_the_new_database(seeded, datasette, rebuild):
    """`registry publish` writes registry.db alone: what a kill leaves is the database as
    it was or as published, never a mix, readable by the running Datasette throughout."""
    run = [0]
    before: list[list[str]] = [[]]

    def command() -> list[str]:
        run[0] += 1  # an operator's fix in intake.db, so this publish has something to do
        conn = sqlite3.connect(seeded.intake_db)
        with conn:
            conn.execute("UPDATE organisations SET description = ? WHERE id % 3 = 0", [f"Checked, run {run[0]}."])
        conn.close()
        before[0] = dump(seeded.registry_db)
        return [str(REGISTRY), "publish", *(["--rebuild"] if rebuild else [])]

    def judge() -> str:
        assert query(seeded.registry_db, "PRAGMA integrity_check") == [("ok",)]
        if full_sync_changes(seeded) == {}:
            return "new"
        assert dump(seeded.registry_db) == before[0], "registry.db is neither the old nor the new database"
        return "old"

    tally = sweep(seeded, datasette, command, judge, stride=1 if not rebuild else 4)
    assert tally.kills > 10 // SAMPLE and tally.outcomes["old"] > 0
    assert_agree(seeded)


def test_serve_finishes_a_decision_cut_between_the_two_commits(seeded, reviewer, hostile_app):
    """Killed after intake.db committed and before registry.db did: `registry serve`
    publishes the decision before Datasette starts, without an operator."""
    client = hostile_app.test_client()
    n = 1
    while True:
        submission = submit_relationship(client, seeded, **{"client-name": f"Cut Police Department {n}"})
        command = [sys.executable, "-c", DECIDE, "approve", str(submission), str(reviewer["id"])]
        assert killed_at(seeded, command, "pwrite64", n), "no kill landed between the two commits"
        intake_stamp, held = stamps(seeded)
        if intake_stamp != held:
            break
        publisher.recover(seeded)
        n += 1
    assert full_sync_changes(seeded) != {}  # approved in intake.db, not published
    with serving(seeded) as served:
        page = httpx.get(
            f"{served.datasette}/registry/relationships.json?client=Cut+Police+Department+{n}&_shape=array"
        )
        assert page.status_code == 200 and len(page.json()) == 1
    assert "published again what the interrupted last decision changed" in served.output
    assert_agree(seeded)


def test_check_publishes_first_what_registry_db_lacks_when_its_stamp_is_unknown(seeded, reviewer, hostile_app):
    """A registry.db whose stamp is neither intake.db's last nor the one before (a file
    restored from an older backup): every public table is compared, then checked."""
    client = hostile_app.test_client()
    approval.approve(seeded, submit_relationship(client, seeded), reviewer)
    conn = sqlite3.connect(seeded.registry_db)
    with conn:  # the last approval lost, and a stamp from elsewhere
        newest = conn.execute("SELECT max(id) FROM relationships").fetchone()[0]
        conn.execute("DELETE FROM citations WHERE relationship_id = ?", [newest])
        conn.execute("DELETE FROM relationships WHERE id = ?", [newest])
        conn.execute("PRAGMA application_id = 7")
    conn.close()
    assert full_sync_changes(seeded) != {}
    result = invoke("check")
    assert result.exit_code == 0, result.output
    assert "compared every public table with intake.db and published the differences" in result.output
    assert_agree(seeded)


def test_the_live_database_is_in_wal_mode_and_its_copies_are_single_files(seeded, datasette, tmp_path):
    """Readers' copies (the /registry.db download, a release) open read-only anywhere."""
    assert query(seeded.registry_db, "PRAGMA journal_mode") == [("wal",)]
    download = httpx.get(datasette.split("/registry/")[0] + "/registry.db", timeout=60)
    assert download.status_code == 200
    assert download.content[18:20] == b"\x01\x01"  # the header's file format versions: 1 rollback, 2 WAL
    assert invoke("publish", "--out", str(tmp_path / "releases")).exit_code == 0
    (released,) = (tmp_path / "releases").glob("*/registry.db")
    assert released.read_bytes()[18:20] == b"\x01\x01"
