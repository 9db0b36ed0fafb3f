"""An acknowledged submission is on disk before the contributor hears of it (issue 18): the
intake app answers 303 only after an fsync of intake.db's WAL that began after its commit.

`registry serve` runs under strace, which logs every write to intake.db's WAL, every fsync
and every response the workers send. For each 303 a worker thread sends, the log must show,
between that thread's last write to the WAL and the response, an fsync of the WAL that
began after that write and ended before the response (by that thread or another: one
fsync covers the commits that arrived together). Without it (SQLite's NORMAL alone) a power
cut loses the submission the contributor was told was received."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from registry.config import Settings
from tests.conftest import REGISTRY, free_port, hidden_fields, query, wait_until_answers

STRACE = shutil.which("strace")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(STRACE is None, reason="strace is not installed")]

CONTRIBUTORS, POSTS = 6, 4


@dataclass
class Call:
    line: int  # where the call ended in the log
    began: int  # where it began (the same line unless strace logged it in two halves)
    thread: int
    name: str
    text: str


def calls(log: str) -> list[Call]:
    """The completed system calls of an `strace -f` log, with the lines they began and ended
    on (strace writes a call another thread interrupted as "<unfinished ...>" then
    "<... name resumed>")."""
    found, open_calls = [], {}
    for number, line in enumerate(log.splitlines()):
        head = re.match(r"(\d+) +(.*)", line)
        if not head:
            continue
        thread, rest = int(head.group(1)), head.group(2)
        if rest.endswith("<unfinished ...>"):
            name = rest.split("(", 1)[0]
            open_calls[thread] = (number, name, rest)
            continue
        resumed = re.match(r"<\.\.\. (\w+) resumed>(.*)", rest)
        if resumed:
            began, name, start = open_calls.pop(thread, (number, resumed.group(1), ""))
            found.append(Call(number, began, thread, name, start + resumed.group(2)))
        elif "(" in rest:
            found.append(Call(number, number, thread, rest.split("(", 1)[0], rest))
    return found


def post_submissions(url: str, errors: list[str], worker: int) -> None:
    with httpx.Client(base_url=url, timeout=60, follow_redirects=False) as client:
        for n in range(POSTS):
            page = client.get("/submit/organisation")
            data = {
                **hidden_fields(page.text),
                "name": f"Durable Test Police Department {worker}-{n}",
                "kind": "public-agency",
                "sector": "law-enforcement",
                "country": "US",
            }
            answer = client.post("/submit/organisation", data=data)
            if answer.status_code != 303:
                errors.append(f"{answer.status_code}: {answer.text[:300]}")


def test_every_acknowledged_submission_was_synced_to_disk_before_the_answer(seeded: Settings, tmp_path: Path):
    port, datasette_port = free_port(), free_port()
    trace_log, serve_log = tmp_path / "strace.log", tmp_path / "serve.log"
    env = {
        **os.environ,
        "REGISTRY_INSTANCE": str(seeded.instance),
        "REGISTRY_SUBMIT_LIMIT": "1000000 per minute",
    }
    watched = "trace=pwrite64,fsync,fdatasync,sendto,sendmsg,write,writev"
    command = [str(STRACE), "-f", "-y", "-s", "16", "-o", str(trace_log), "-e", watched, "--",
               str(REGISTRY), "serve", "--port", str(port), "--datasette-port", str(datasette_port)]  # fmt: skip
    with serve_log.open("w") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_answers(f"http://127.0.0.1:{port}/", process, serve_log)
        before = query(seeded.intake_db, "SELECT count(*) FROM submissions")[0][0]
        errors: list[str] = []
        posters = [
            threading.Thread(target=post_submissions, args=(f"http://127.0.0.1:{port}", errors, i))
            for i in range(CONTRIBUTORS)
        ]
        for poster in posters:
            poster.start()
        for poster in posters:
            poster.join()
        assert errors == []
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    assert query(seeded.intake_db, "SELECT count(*) FROM submissions")[0][0] == before + CONTRIBUTORS * POSTS

    wal = f"<{seeded.intake_db}-wal>"
    logged = calls(trace_log.read_text(errors="replace"))
    syncs = [
        c for c in logged if c.name in ("fsync", "fdatasync") and wal in c.text and c.text.rstrip().endswith("= 0")
    ]
    last_wal_write: dict[int, int] = {}
    acknowledged = 0
    for call in logged:
        if call.name == "pwrite64" and wal in call.text:
            last_wal_write[call.thread] = call.line
        elif call.name in ("sendto", "sendmsg", "write", "writev") and "HTTP/1.1 303" in call.text:
            acknowledged += 1
            committed = last_wal_write.get(call.thread)
            assert committed is not None, f"thread {call.thread} answered 303 without writing intake.db"
            assert any(committed < sync.began and sync.line < call.began for sync in syncs), (
                f"thread {call.thread} answered 303 (log line {call.began + 1}) with its commit "
                f"(line {committed + 1}) not yet synced"
            )
    assert acknowledged == CONTRIBUTORS * POSTS
    print(f"\n{acknowledged} acknowledged submissions, {len(syncs)} fsyncs of intake.db's WAL")
