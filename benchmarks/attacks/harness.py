"""What an attack costs the served registry, measured from outside.

A replay module (`benchmarks/attacks/<area>.py`) exposes `ATTACKS`, a list of `Attack`:

    from attacks.harness import Attack, Server

    def sniffer_bomb(server: Server) -> list[int]:
        # send the anonymous requests of one attack; return their HTTP statuses
        token = upload(server, "bomb.csv", b'!"a' * 21845)
        return [server.anonymous.get(f"/import/{token}").status_code for _ in range(3)]

    ATTACKS = [Attack("sniffer bomb, 3 views of its mapping page", "2", sniffer_bomb)]

`benchmarks/attack_replay.py` starts one real `registry serve` (gunicorn and Datasette)
on a fresh seeded instance, and for each attack: runs its `setup` (not measured), then
its `run` while a reader (a one-row Datasette JSON page) and a contributor (the intake
app's relationship form) each make an ordinary request every 0.25 s. It reports:

- CPU seconds per anonymous request: the CPU time all the servers' processes used
  during the attack (from /proc/PID/stat, with the children they reaped meanwhile: a
  replaced worker, a reading child), divided by the number of statuses `run` returned;
- peak memory: the largest growth of any one server process's resident set above what
  it held before the attack (VmHWM, reset through /proc/PID/clear_refs before each);
- the delay to others: the slowest reader and contributor request during the attack,
  and their median before it;
- 5xx answers to the attack and to the others, and server processes that died.

The targets (issue 18): ≤ 2 CPU seconds and ≤ 200 MB per anonymous request, others
delayed ≤ 1 s, no 5xx, no process killed. `Server.registry(...)` runs the CLI on the
instance; `Server.reviewer()` gives a logged-in reviewer client; `Server.token(client,
path)` the CSRF token of a form."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REGISTRY = Path(sys.executable).with_name("registry")
TICKS = os.sysconf("SC_CLK_TCK")
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]*)"')
REVIEWER, PASSWORD = "attackreviewer", "attack replay reviewer password"


@dataclass
class Attack:
    name: str
    finding: str  # the finding's number in issue 18
    run: Callable[[Server], list[int]]  # the anonymous requests' statuses
    setup: Callable[[Server], None] | None = None  # not measured (e.g. a reviewer approving)


@dataclass
class Result:
    attack: Attack
    statuses: list[int]
    seconds: float
    cpu: float
    peak_mb: float
    reader: tuple[float, float]  # median before, slowest during (seconds)
    contributor: tuple[float, float]
    other_errors: list[str] = field(default_factory=list)
    died: int = 0

    @property
    def cpu_per_request(self) -> float:
        return self.cpu / max(1, len(self.statuses))

    @property
    def failures(self) -> list[str]:
        found = []
        if self.cpu_per_request > 2:
            found.append(f"{self.cpu_per_request:.1f} CPU s a request")
        if self.peak_mb > 200:
            found.append(f"{self.peak_mb:.0f} MB")
        if max(self.reader[1], self.contributor[1]) > 1:
            found.append(f"others waited {max(self.reader[1], self.contributor[1]):.1f} s")
        if any(s >= 500 for s in self.statuses):
            found.append(f"{sum(s >= 500 for s in self.statuses)} 5xx to the attack")
        if self.other_errors:
            found.append(f"{len(self.other_errors)} errors to others")
        if self.died:
            found.append(f"{self.died} server processes died")
        return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`registry serve` on a fresh seeded instance, in its own process group."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="registry-attacks-"))
        self.instance = self.folder / "instance"
        self.env = {**os.environ, "REGISTRY_INSTANCE": str(self.instance), **(env or {})}
        for command in (("init",), ("seed",), ("publish",)):
            self.registry(*command)
        self.registry("create-user", REVIEWER, "--role", "reviewer", "--password", PASSWORD)
        self.port, self.datasette_port = free_port(), free_port()
        self.intake = f"http://127.0.0.1:{self.port}"
        self.datasette = f"http://127.0.0.1:{self.datasette_port}"
        self.log = (self.folder / "serve.log").open("w")
        self.process = subprocess.Popen(
            [str(REGISTRY), "serve", "--port", str(self.port), "--datasette-port", str(self.datasette_port)],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait(f"{self.intake}/")
        self._wait(f"{self.datasette}/registry/relationships.json?_size=1")
        self.anonymous = httpx.Client(base_url=self.intake, timeout=300)
        self.reader = httpx.Client(base_url=self.datasette, timeout=300)

    def registry(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(REGISTRY), *args], env=self.env, check=check, capture_output=True, text=True)

    def _wait(self, url: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"`registry serve` exited with {self.process.returncode}; see {self.folder}/serve.log")
            try:
                if httpx.get(url, timeout=5).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"{url} did not answer within {timeout} s")

    def token(self, client: httpx.Client, path: str) -> str:
        found = TOKEN.search(client.get(path).text)
        if not found:
            raise SystemExit(f"no CSRF token on {path}")
        return found.group(1)

    def reviewer(self) -> httpx.Client:
        client = httpx.Client(base_url=self.intake, timeout=300)
        client.post("/login", data={"csrf_token": self.token(client, "/login"), "name": REVIEWER, "password": PASSWORD})
        return client

    def pids(self) -> list[int]:
        """Every live process of the server's process group (gunicorn, its workers, Datasette)."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                fields = stat[stat.rindex(")") + 2 :].split()
                if int(fields[2]) == self.process.pid:  # the process group's id
                    found.append(int(entry.name))
        return found

    def close(self) -> None:
        self.anonymous.close()
        self.reader.close()
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


def _cpu(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    # utime and stime, and cutime and cstime: the children it has reaped (a worker gunicorn
    # replaced, an upload's reading child), which otherwise vanish uncounted
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICKS


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class _Others(threading.Thread):
    """A reader and a contributor making an ordinary request every 0.25 s."""

    def __init__(self, server: Server) -> None:
        super().__init__(daemon=True)
        self.server, self.stop, self.errors = server, threading.Event(), []
        self.times: dict[str, list[float]] = {"reader": [], "contributor": []}

    def run(self) -> None:
        with httpx.Client(timeout=120) as client:
            while not self.stop.is_set():
                for who, url in (
                    ("reader", f"{self.server.datasette}/registry/relationships.json?_size=1"),
                    ("contributor", f"{self.server.intake}/submit/relationship"),
                ):
                    start = time.perf_counter()
                    try:
                        status = client.get(url).status_code
                        if status >= 500:
                            self.errors.append(f"{who}: {status}")
                    except httpx.HTTPError as e:
                        self.errors.append(f"{who}: {type(e).__name__}")
                    self.times[who].append(time.perf_counter() - start)
                self.stop.wait(0.25)


def _ordinary(server: Server) -> dict[str, float]:
    others = _Others(server)
    others.start()
    time.sleep(2)
    others.stop.set()
    others.join()
    return {who: statistics.median(t) for who, t in others.times.items()}


def measure(server: Server, attack: Attack) -> Result:
    if attack.setup:
        attack.setup(server)
    before = _ordinary(server)
    pids = server.pids()
    resident = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset VmHWM to the current resident set
        resident[pid] = _status_kb(pid, "VmRSS")
    cpu_before = {pid: _cpu(pid) for pid in pids}
    others = _Others(server)
    others.start()
    start = time.perf_counter()
    statuses = attack.run(server)
    seconds = time.perf_counter() - start
    others.stop.set()
    others.join()
    after = server.pids()
    cpu = sum(_cpu(pid) - cpu_before.get(pid, 0.0) for pid in after)
    peak = max((_status_kb(pid, "VmHWM") - resident.get(pid, 0)) / 1024 for pid in after)
    return Result(
        attack,
        statuses,
        seconds,
        cpu,
        peak,
        (before["reader"], max(others.times["reader"], default=0.0)),
        (before["contributor"], max(others.times["contributor"], default=0.0)),
        others.errors,
        died=len(set(pids) - set(after)),
    )
