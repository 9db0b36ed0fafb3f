"""A kill at any instant of a decision or a publication leaves the public site answering,
and intake.db and registry.db agreeing once `registry serve`'s start-up recovery has run
(issue 18, finding 6).

Each operation runs as a child process under strace, which sends it SIGKILL just before
its Nth call of one of the writing system calls (write, pwrite64, fsync, fdatasync,
ftruncate, rename, unlink); N runs from 1 until the operation completes without being
killed, for each of those calls in turn, so every write the operation makes is a kill
point. After each kill: a real Datasette, started on the files before the first kill and
left running, answers the relationships JSON 200 and a fresh read-only connection (what a
restarted Datasette opens) reads the file; `publisher.recover` (what `registry serve` runs
before it starts Datasette) runs; then a full `public.sync` finds nothing to publish, the
two files hold the same publication stamp and both pass integrity_check. The tallies are
SECURITY.md's table (printed with `-s`)."""

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
from registry.services import publisher
from registry.store import public, publication
from registry.store.connection import connect
from tests.conftest import REGISTRY, free_port, query, serving
from tests.test_review import submit_relationship

STRACE = shutil.which("strace")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(STRACE is None, reason="strace is not installed"),
]

SYSCALLS = ("write", "pwrite64", "fsync", "fdatasync", "ftruncate", "rename", "unlink")

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
    trace = [str(STRACE), "-f", "-qq", "-o", "/dev/null", "-e", f"trace={syscall}", "-e", inject, "--"]
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


def unpublished(settings: Settings) -> dict[str, dict[str, int]]:
    """What a full `public.sync` would still change (in a transaction rolled back)."""
    db = connect(settings.intake_db)
    public.attach(db, settings.registry_db, "pub")
    try:
        db.execute("BEGIN IMMEDIATE")
        changes = public.sync(db, public="pub", intake="main")
        db.execute("ROLLBACK")
    finally:
        public.detach(db, "pub")
        db.close()
    return {table: counts for table, counts in changes.items() if any(counts.values())}


def assert_agree(settings: Settings) -> None:
    assert unpublished(settings) == {}
    assert stamps(settings)[0] == stamps(settings)[1]
    for path in (settings.intake_db, settings.registry_db):
        assert query(path, "PRAGMA integrity_check") == [("ok",)], path


def sweep(
    settings: Settings, url: str, command: Callable[[], list[str]], outcome: Callable[[], str], tally: Tally
) -> None:
    """Kill `command()` before every writing system call it makes, one kill per run.
    `command` is called again for each run (a new submission once one was decided)."""
    for syscall in SYSCALLS:
        n = 1
        while killed_at(settings, command(), syscall, n):
            tally.kills += 1
            tally.outage += not readers_answer(url, settings)
            cut = stamps(settings)[0] != stamps(settings)[1]
            publisher.recover(settings)
            assert_agree(settings)
            tally.outcomes["cut between the two files" if cut else outcome()] += 1
            n += 1
        assert_agree(settings)
    print(f"\n{tally}")
    assert tally.outage == 0


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

    tally = Tally()
    sweep(seeded, datasette, command, lambda: "new" if status(pending[0]) == "approved" else "old", tally)
    assert tally.kills > 100 and tally.outcomes["cut between the two files"] > 0
