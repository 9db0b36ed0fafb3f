"""Issue 18, finding 6: a reviewer's approval killed mid-way took the public site down.

The attack is a crash, not a request: a reviewer's approval runs in a process of its own
(as in a gunicorn worker) and is killed with SIGKILL, by strace, just before one of its
writes to the databases; the served Datasette is then read. Each kill lands at another
write (every fifth pwrite64 of the approval), covering intake.db's commit, registry.db's
commit and the checkpoints after them. The statuses returned are the readers' requests
after each kill: before the fix they were 500 "attempt to write a readonly database"
from the first kill inside registry.db's commit on. tests/test_publication_crash.py kills
at every write and checks the two databases agree afterwards."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys

from attacks.harness import REVIEWER, Attack, Server

KILLS = 40
DECIDE = (
    "import sys; from registry.config import load_settings; from registry.services import approval; "
    "approval.approve(load_settings(), int(sys.argv[1]), {'id': int(sys.argv[2]), 'name': 'reviewer'})"
)


def _submit(server: Server, n: int) -> int:
    form = "/submit/organisation"
    data = {"csrf_token": server.token(server.anonymous, form), "name": f"Crash Replay Police {n}",
            "kind": "public-agency", "sector": "law-enforcement"}  # fmt: skip
    server.anonymous.post(form, data=data)
    return _one(server, "SELECT max(id) FROM submissions")


def _one(server: Server, sql: str) -> int:
    conn = sqlite3.connect(f"file:{server.instance / 'intake.db'}?mode=ro", uri=True)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def killed_approvals(server: Server) -> list[int]:
    strace = shutil.which("strace")
    if strace is None:
        raise SystemExit("strace is not installed: the publishing replay needs it")
    reviewer = _one(server, f"SELECT id FROM users WHERE name = '{REVIEWER}'")
    statuses: list[int] = []
    submission = _submit(server, 0)
    for kill in range(KILLS):
        if _one(server, f"SELECT count(*) FROM submissions WHERE status = 'pending' AND id = {submission}") == 0:
            submission = _submit(server, kill + 1)  # the last kill came after the commit: a new one
        inject = f"inject=pwrite64:signal=SIGKILL:when={1 + 5 * (kill % 12)}"
        subprocess.run(
            [strace, "-f", "-qq", "-o", "/dev/null", "-e", "trace=pwrite64", "-e", inject, "--",
             sys.executable, "-c", DECIDE, str(submission), str(reviewer)],
            env=server.env, capture_output=True, check=False,
        )  # fmt: skip
        for _ in range(3):
            statuses.append(server.reader.get("/registry/relationships.json?_size=5").status_code)
            statuses.append(server.reader.get("/registry/organisations").status_code)
    return statuses


ATTACKS = [Attack(f"{KILLS} approvals killed mid-way, public pages read after each", "6", killed_approvals)]
