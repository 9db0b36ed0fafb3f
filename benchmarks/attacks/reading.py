"""Issue 18's attacks on the reading of uploads (findings 2, 3, 4 and the upload parts of 9),
replayed by benchmarks/attack_replay.py against a real `registry serve`.

    .venv/bin/python benchmarks/attack_replay.py --only reading

The hostile files are built by tests/hostile_uploads.py (the same ones the tests send).
The submission rate limit is raised (ENV): this measures what reading costs per request,
not how soon the limiter stops an attacker."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from attacks.harness import Attack, Server  # noqa: E402
from tests import hostile_uploads as hostile  # noqa: E402

ENV = {"REGISTRY_SUBMIT_LIMIT": "10000 per minute"}
HIDDEN = re.compile(r'<input[^>]*name="(csrf_token|idempotency_key)"[^>]*value="([^"]*)"')
TICKS = os.sysconf("SC_CLK_TCK")
FLOCK_MAPPING = (ROOT / "seed" / "mappings" / "flock-agencies.yml").read_text(encoding="utf-8")


def children_cpu(run: Callable[[Server], list[int]]) -> Callable[[Server], list[int]]:
    """`run`, also printing (to stderr) the CPU seconds of the server's reaped children: the
    budgeted readers are children of the fork server, and the harness counts live processes'
    own CPU only."""

    def measured(server: Server) -> list[int]:
        before = sum(_reaped_cpu(pid) for pid in server.pids())
        try:
            statuses = run(server)
        except httpx.TransportError as e:  # the worker answering died (the old code, killed by gunicorn)
            print(f"  {run.__name__}: {type(e).__name__}: {e} (counted as a 599)", file=sys.stderr)
            statuses = [599]
        after = sum(_reaped_cpu(pid) for pid in server.pids())
        print(f"  {run.__name__}: reaped children used {after - before:.2f} CPU s", file=sys.stderr)
        return statuses

    measured.__name__ = run.__name__
    return measured


def _reaped_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[13]) + int(fields[14])) / TICKS  # cutime, cstime: children waited for


def hidden(server: Server, path: str) -> dict[str, str]:
    return dict(HIDDEN.findall(server.anonymous.get(path).text))


def upload(server: Server, name: str, content: bytes) -> tuple[int, str | None]:
    """Upload a file anonymously: the status, and the mapping page's path when accepted."""
    response = server.anonymous.post("/import", data=hidden(server, "/import"), files={"file": (name, content)})
    return response.status_code, response.headers.get("Location")


def sniffer_bomb(server: Server) -> list[int]:
    status, location = upload(server, "bomb.csv", hostile.SNIFFER_BOMB)
    views = [server.anonymous.get(location).status_code for _ in range(3)] if location else []
    return [status, *views]


def shared_strings_bomb(server: Server) -> list[int]:
    status, location = upload(server, "bomb.xlsx", SHARED_STRINGS_BOMB)
    return [status, *([server.anonymous.get(location).status_code] if location else [])]


def sheet_bomb(server: Server) -> list[int]:
    status, location = upload(server, "sheet.xlsx", SHEET_BOMB)
    return [status, *([server.anonymous.get(location).status_code] if location else [])]


def regex_bomb(server: Server) -> list[int]:
    status, location = upload(server, "agencies.csv", hostile.REGEX_BOMB_CSV)
    if not location:
        return [status]
    mapping = hostile.with_name_transform(FLOCK_MAPPING, f"{{extract: '{hostile.REGEX_BOMB}'}}")
    preview = server.anonymous.post(f"{location}/preview", data={**hidden(server, location), "mapping": mapping})
    statuses = [status, preview.status_code]
    job = preview.headers.get("Location")
    for _ in range(600):  # the job runs in the background: its page is polled as the browser does
        if not job:
            break
        state = server.anonymous.get(f"{job}.json")
        if state.status_code != 200 or state.json()["state"] != "running":
            statuses.append(server.anonymous.get(job).status_code)
            break
        time.sleep(0.1)
    return statuses


def damaged_workbooks(server: Server) -> list[int]:
    statuses = []
    for content in [*hostile.malformed_workbooks().values(), hostile.huge_dimension()]:
        status, location = upload(server, "list.xlsx", content)
        statuses += [status, *([server.anonymous.get(location).status_code] if location else [])]
    return statuses


SHARED_STRINGS_BOMB = hostile.shared_strings_bomb()  # built once: about 4 CPU seconds of this process
SHEET_BOMB = hostile.sheet_bomb()
ATTACKS = [
    Attack("sniffer bomb (64 KB CSV): upload, 3 views of its mapping page", "2", children_cpu(sniffer_bomb)),
    Attack(
        "shared-strings bomb (2.3 MB XLSX, 10^6 strings of 1 KB): upload, a view",
        "3",
        children_cpu(shared_strings_bomb),
    ),
    Attack("sheet zip bomb (0.3 MB XLSX, 2*10^6 rows): upload, a view", "3", children_cpu(sheet_bomb)),
    Attack("regex ^(a+)+$ in an anonymous mapping: upload, preview, job page", "4", children_cpu(regex_bomb)),
    Attack(
        "11 damaged XLSX (not XLSX, broken XML, truncated, huge dimension...)", "9", children_cpu(damaged_workbooks)
    ),
]
