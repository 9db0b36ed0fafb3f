"""Load: contributors posting submissions while a reviewer approves and readers browse.

Starts the real servers (`registry serve`: gunicorn for the intake app, Datasette as its
child process) on a fresh seeded instance, then for `--seconds`:

- `--contributors` threads (default 16) each GET the relationship form once (for the
  session's CSRF token) and POST relationship submissions, each with its own idempotency
  key and a new client name;
- one reviewer logs in and approves pending submissions, oldest first, `--approval-rate`
  a second (default 2, 7,200 an hour: more than a team of people who read the sources
  could), each after loading the queue and the submission's page; `--approval-rate 0`
  approves back to back;
- readers load Datasette pages (the relationships table with its facets, a search, an
  organisation page, a filtered JSON page), `--reader-rate` pages a second (default 20,
  72,000 an hour: a busy news day), on the same open-loop schedule as the contributors;
  `--reader-rate 0` loads them back to back. A back-to-back reader is not a fixed load:
  the faster Datasette answers, the more pages it asks for and the more CPU it takes from
  the intake app on the same two cores.

How fast the contributors post is `--rate`:

- `--rate R` (default 260 a second, the target of 250 with a margin): an open-loop
  schedule. Post k of contributor i is due at start + (k * contributors + i) / R, so the
  contributors together offer R a second, evenly spread. A contributor whose previous
  answer came late posts at once, and each latency is measured from the moment the post
  was DUE, not from when it could be sent: a slow server cannot hide its backlog by
  slowing the clients (no "coordinated omission"). This is the latency a server
  sustaining R a second gives its users.
- `--rate 0`: closed loop, each contributor posting again as soon as it is answered. This
  measures capacity (the most submissions a second the servers answer); its latencies
  are then set by the queue (Little's law: mean latency = contributors / throughput).

With `--import FILE --mapping M.yml`, `registry import FILE --mapping M.yml` (a pending
submission, as a contributor's CLI import) starts with the contributors and the run lasts
until it ends (at least `--seconds`); the posts sent while it ran are reported apart: none
may fail or wait more than 1.5 s. `benchmarks/import_speed.py --out DIR` writes a
million-row client list and its mapping (DIR/clients.csv, DIR/clients.yml).

With `--published FILE --mapping M.yml`, FILE is imported and approved (published) before
the servers start, so that the reviewer's approvals run against a registry of a realistic
size rather than the seed's 29 relationships (`import_speed.py --rows 50000 --out DIR`
writes such a file).

It prints submissions per second, p50/p99 latency of the POSTs, every error, the
reviewer's and readers' figures, and then checks the intake database: every
acknowledged submission (a 303 to its confirmation page) is there exactly once. The exit
status is 1 if any POST failed or any acknowledged submission is missing or doubled.

    .venv/bin/python benchmarks/load.py --seconds 60             # 260 a second offered
    .venv/bin/python benchmarks/load.py --seconds 60 --rate 0    # as fast as answered
    .venv/bin/python benchmarks/load.py --import DIR/clients.csv --mapping DIR/clients.yml

The submission rate limit is raised for the run (REGISTRY_SUBMIT_LIMIT), since every
contributor here comes from 127.0.0.1; the limiter still runs on every request, with
the two windows of the default limit.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = Path(sys.executable).with_name("registry")
HIDDEN = re.compile(r'<input[^>]*name="(csrf_token|idempotency_key)"[^>]*value="([^"]*)"')
QUEUE_LINK = re.compile(r'href="/review/submissions/(\d+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(env: dict, *args: str) -> None:
    subprocess.run([str(REGISTRY), *args], env=env, check=True, capture_output=True, text=True)


def wait_for(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"`registry serve` exited early with status {process.returncode}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout}s")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Contributor(threading.Thread):
    def __init__(
        self, number: int, base: str, vendor_id: str, stop: threading.Event, schedule: tuple[float, float] | None
    ) -> None:
        super().__init__(daemon=True)
        self.number, self.base, self.vendor_id, self.stop = number, base, vendor_id, stop
        self.schedule = schedule  # (first due time, interval) on time.perf_counter's clock, or None: closed loop
        self.late = 0  # posts sent after their due time (the previous answer came late)
        self.latencies: list[float] = []
        self.sent: list[float] = []  # when each timed post was sent (or due), on time.perf_counter's clock
        self.acknowledged: list[str] = []
        self.errors: Counter[str] = Counter()

    def run(self) -> None:
        host, port = self.base.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.request("GET", "/submit/relationship")
        response = conn.getresponse()
        page = response.read().decode()
        conn.close()
        cookie = response.getheader("Set-Cookie", "").split(";")[0]
        token = dict(HIDDEN.findall(page))["csrf_token"]
        fixed = urlencode(
            {
                "csrf_token": token,
                "vendor-id": self.vendor_id,
                "vendor-name": "Clearview AI",
                "client-kind": "public-agency",
                "client-sector": "law-enforcement",
                "client-country": "US",
                "arrangement": "trial",
                "trial_days": "30",
                "start_date": "2019-11",
                "summary": "A load-test trial.",
                "locator": "row 1",
                "quote": "A load-test trial, 30 days",
                "source-publisher": "Load Test News",
                "source-language": "en",
                "source-published_date": "2020-02-27",
                "submitter_name": "Load Tester",
                "submitter_contact": "load@example.org",
            }
        )
        head = (
            f"POST /submit/relationship HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: {cookie}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: "
        )
        client = RawHTTP(host, int(port))
        try:
            self.post_until_stopped(client, head, fixed)
        finally:
            client.close()

    def post_until_stopped(self, client: RawHTTP, head: str, fixed: str) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            due = None
            if self.schedule is not None:
                first, interval = self.schedule
                due = first + (n - 1) * interval
                wait = due - time.perf_counter()
                if wait > 0:
                    if self.stop.wait(wait):
                        break
                else:
                    self.late += 1
            # Each post: its own idempotency key, a new client and a new source.
            me = f"{self.number}-{n}"
            body = (
                f"{fixed}&idempotency_key={uuid.uuid4().hex}&client-name=Load+Test+Agency+{me}"
                f"&source-title=Load+test+list+{me}&source-url=https%3A%2F%2Fexample.org%2Fload%2F{me}"
            ).encode()
            request = f"{head}{len(body)}\r\n\r\n".encode() + body
            started = time.perf_counter() if due is None else due
            try:
                status, location = client.exchange(request)
            except (OSError, ValueError) as e:
                self.errors[type(e).__name__] += 1
                client.close()  # reconnects at the next request
                continue
            self.latencies.append(time.perf_counter() - started)
            self.sent.append(started)
            if status == 303 and "/submitted/" in location:
                self.acknowledged.append(location.rsplit("/", 1)[1])
            else:
                self.errors[f"HTTP {status}"] += 1


class RawHTTP:
    """HTTP/1.1 on one kept-alive socket, reading only the status, Location, Content-Length
    and Connection: a few microseconds a request, where http.client's header parsing took a
    tenth of a millisecond. The load generator shares the servers' two cores, so every
    millisecond it spends is one the servers do not get."""

    def __init__(self, host: str, port: int) -> None:
        self.address = (host, port)
        self.sock: socket.socket | None = None
        self.buffer = b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buffer = None, b""

    def exchange(self, request: bytes) -> tuple[int, str]:
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=30)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(request)
        while b"\r\n\r\n" not in self.buffer:
            self._receive()
        header, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = header.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        if "chunked" in fields.get("transfer-encoding", "") or "content-length" not in fields:
            raise ValueError(f"HTTP {status} without a Content-Length: this client cannot read it")
        length = int(fields["content-length"])
        while len(self.buffer) < length:
            self._receive()
        self.buffer = self.buffer[length:]
        if fields.get("connection", "").lower() == "close":
            self.close()
        return status, fields.get("location", "")

    def _receive(self) -> None:
        assert self.sock is not None
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionResetError("the server closed the connection")
        self.buffer += chunk


class Reviewer(threading.Thread):
    def __init__(self, base: str, password: str, stop: threading.Event, rate: float) -> None:
        super().__init__(daemon=True)
        self.base, self.password, self.stop, self.rate = base, password, stop, rate
        self.latencies: list[float] = []
        self.approved = 0
        self.errors: Counter[str] = Counter()

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as client:
            token = dict(HIDDEN.findall(client.get("/login").text))["csrf_token"]
            client.post("/login", data={"csrf_token": token, "name": "loadreviewer", "password": self.password})
            first, k = time.perf_counter(), 0
            while not self.stop.is_set():
                if self.rate > 0:  # the next approval's turn (a reviewer reads before approving)
                    k += 1
                    wait = first + (k - 1) / self.rate - time.perf_counter()
                    if wait > 0 and self.stop.wait(wait):
                        break
                ids = QUEUE_LINK.findall(client.get("/review").text)
                if not ids:
                    time.sleep(0.05)
                    continue
                page = client.get(f"/review/submissions/{ids[0]}").text
                token = dict(HIDDEN.findall(page))["csrf_token"]
                started = time.perf_counter()
                response = client.post(f"/review/submissions/{ids[0]}/approve", data={"csrf_token": token})
                self.latencies.append(time.perf_counter() - started)
                if response.status_code == 303 and response.headers["location"].endswith("/review"):
                    self.approved += 1
                else:
                    self.errors[f"HTTP {response.status_code} {response.headers.get('location')}"] += 1


class Reader(threading.Thread):
    PAGES = (
        "/registry/relationships",
        "/registry/relationships.json?_search=police",
        "/registry/organisations/1",
        "/registry/relationships.json?vendor=1",
    )

    def __init__(self, base: str, stop: threading.Event, rate: float) -> None:
        super().__init__(daemon=True)
        self.base, self.stop, self.rate = base, stop, rate
        self.latencies: list[float] = []
        self.errors: Counter[str] = Counter()

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as client:
            i = 0
            first = time.perf_counter()
            while not self.stop.is_set():
                path = self.PAGES[i % len(self.PAGES)]
                i += 1
                started = time.perf_counter()
                if self.rate > 0:  # open loop, as the contributors: latency from when the page was due
                    started = first + (i - 1) / self.rate
                    wait = started - time.perf_counter()
                    if wait > 0 and self.stop.wait(wait):
                        break
                try:
                    response = client.get(path)
                except httpx.HTTPError as e:
                    self.errors[type(e).__name__] += 1
                    continue
                self.latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    self.errors[f"HTTP {response.status_code} {path}"] += 1


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--contributors", type=int, default=16)
    parser.add_argument(
        "--rate",
        type=float,
        default=260,
        help="submissions a second offered, all contributors together; 0: closed loop",
    )
    parser.add_argument(
        "--reader-rate", type=float, default=20, help="Datasette pages a second the readers load; 0: back to back"
    )
    parser.add_argument(
        "--approval-rate", type=float, default=2, help="approvals a second the reviewer makes; 0: back to back"
    )
    parser.add_argument("--no-reviewer", action="store_true", help="Contributors and reader only.")
    parser.add_argument("--no-reader", action="store_true", help="No Datasette reader (to see what it costs).")
    parser.add_argument("--import", dest="import_file", type=Path, help="a file to import while the load runs")
    parser.add_argument("--published", type=Path, help="a file imported and published before the load starts")
    parser.add_argument("--mapping", type=Path, help="the mapping of --import and --published")
    parser.add_argument("--keep", action="store_true", help="Keep the instance folder and print where it is.")
    args = parser.parse_args()
    if bool(args.import_file or args.published) != bool(args.mapping):
        parser.error("--import and --published need --mapping, and --mapping one of them")

    folder = Path(tempfile.mkdtemp(prefix="registry-load-"))
    env = {
        **os.environ,
        "REGISTRY_INSTANCE": str(folder / "instance"),
        "REGISTRY_SUBMIT_LIMIT": "1000000 per minute;10000000 per hour",
    }
    password = "load test reviewer password"
    for command in (("init",), ("seed",), ("publish",)):
        run(env, *command)
    if args.published:
        run(env, "import", str(args.published), "--mapping", str(args.mapping), "--approve")
    run(env, "create-user", "loadreviewer", "--role", "reviewer", "--password", password)
    intake_db = folder / "instance" / "intake.db"
    conn = sqlite3.connect(intake_db)
    vendor_id = str(conn.execute("select id from organisations where slug = 'clearview-ai'").fetchone()[0])
    before = conn.execute("select count(*) from submissions where kind = 'relationship'").fetchone()[0]
    conn.close()

    port, datasette_port = free_port(), free_port()
    log = (folder / "serve.log").open("w")  # a pipe nobody reads would fill and stall the servers
    process = subprocess.Popen(
        [str(REGISTRY), "serve", "--port", str(port), "--datasette-port", str(datasette_port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base, datasette = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{datasette_port}"
    try:
        wait_for(f"{base}/", process)
        wait_for(f"{datasette}/registry/relationships.json?_size=0", process)
        stop = threading.Event()
        begin = time.perf_counter() + 1.0  # the contributors fetch their forms first
        interval = args.contributors / args.rate if args.rate > 0 else 0

        def schedule(i: int) -> tuple[float, float] | None:
            return (begin + i / args.rate, interval) if args.rate > 0 else None

        contributors = [Contributor(i, base, vendor_id, stop, schedule(i)) for i in range(args.contributors)]
        reviewer = Reviewer(base, password, stop, args.approval_rate)
        reader = Reader(datasette, stop, args.reader_rate)
        threads = [*contributors] + ([] if args.no_reviewer else [reviewer]) + ([] if args.no_reader else [reader])
        for thread in threads:
            thread.start()
        started = begin if args.rate > 0 else time.perf_counter()
        time.sleep(max(0.0, started + 1.0 - time.perf_counter()))
        importing = None
        if args.import_file:
            import_started = time.perf_counter()
            importing = subprocess.run(
                [str(REGISTRY), "import", str(args.import_file), "--mapping", str(args.mapping)],
                env=env,
                capture_output=True,
                text=True,
            )
            import_ended = time.perf_counter()
        time.sleep(max(0.0, started + args.seconds - time.perf_counter()))
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        elapsed = time.perf_counter() - started
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()

    latencies = [x for c in contributors for x in c.latencies]
    acknowledged = [r for c in contributors for r in c.acknowledged]
    errors = sum((c.errors for c in contributors), Counter())
    conn = sqlite3.connect(intake_db)
    stored = Counter(
        row[0]
        for row in conn.execute(
            f"select reference from submissions where reference in ({','.join('?' * len(acknowledged))})",
            acknowledged,
        )
    )
    total = conn.execute("select count(*) from submissions where kind = 'relationship'").fetchone()[0] - before
    integrity = conn.execute("pragma integrity_check").fetchone()[0]
    conn.close()
    missing = [r for r in acknowledged if stored[r] == 0]
    doubled = [r for r, n in stored.items() if n > 1]

    reading = (
        "no reader"
        if args.no_reader
        else (f"readers {args.reader_rate:g} pages/s" if args.reader_rate > 0 else "1 reader back to back")
    )
    reviewing = (
        "no reviewer"
        if args.no_reviewer
        else (f"reviewer {args.approval_rate:g} approvals/s" if args.approval_rate > 0 else "1 reviewer back to back")
    )
    others = f"{reviewing}, {reading}"
    pace = f"{args.rate:g}/s offered (open loop)" if args.rate > 0 else "as fast as answered (closed loop)"
    late = sum(c.late for c in contributors)
    print(f"load: {args.contributors} contributors, {pace}, for {elapsed:.1f} s, {others} ({os.cpu_count()} CPUs)")
    conn = sqlite3.connect(folder / "instance" / "registry.db")
    published = conn.execute("select count(*) from relationships").fetchone()[0]
    conn.close()
    print(f"  registry.db holds {published:,} published relationships at the end")
    print(f"  load average at the end: {os.getloadavg()[0]:.2f}")
    print(
        f"  submissions: {len(acknowledged)} acknowledged, {len(acknowledged) / elapsed:.1f}/s; "
        f"p50 {ms(statistics.median(latencies))}, p99 {ms(percentile(latencies, 99))}, "
        f"max {ms(max(latencies))}; errors {sum(errors.values())} {dict(errors) or ''}"
        + (f"; {late} posts sent late (latency counted from when they were due)" if args.rate > 0 else "")
    )
    print(
        f"  reviewer: {reviewer.approved} approved, p50 {ms(statistics.median(reviewer.latencies or [0]))}, "
        f"p99 {ms(percentile(reviewer.latencies, 99))}; errors {dict(reviewer.errors) or 0}"
    )
    print(
        f"  reader: {len(reader.latencies)} Datasette pages, p50 {ms(statistics.median(reader.latencies or [0]))}, "
        f"p99 {ms(percentile(reader.latencies, 99))}; errors {dict(reader.errors) or 0}"
    )
    print(
        f"  afterwards: {total} new submissions stored, {len(missing)} acknowledged but missing, "
        f"{len(doubled)} stored twice; integrity_check {integrity}"
    )
    during_import_ok = True
    if importing is not None:
        during = [
            latency
            for c in contributors
            for latency, sent in zip(c.latencies, c.sent, strict=True)
            if import_started <= sent <= import_ended
        ]
        summary = [line for line in importing.stdout.splitlines() if line.strip()][-6:]
        print(
            f"  import of {args.import_file.name}: {import_ended - import_started:.1f} s, "
            f"exit status {importing.returncode}; " + " | ".join(summary)
        )
        if importing.returncode:
            print("    " + importing.stderr.strip()[-2000:].replace("\n", "\n    "))
        worst = max(during, default=float("nan"))
        slow = sorted(
            (latency, sent - import_started)
            for c in contributors
            for latency, sent in zip(c.latencies, c.sent, strict=True)
            if import_started <= sent <= import_ended and latency > 1.5
        )
        if slow:
            first, last = min(t for _, t in slow), max(t for _, t in slow)
            print(f"  {len(slow)} posts over 1,500 ms, sent {first:.1f} s to {last:.1f} s into the import")
        print(
            f"  posts sent during the import: {len(during)}, p50 {ms(statistics.median(during or [0]))}, "
            f"p99 {ms(percentile(during, 99))}, max {ms(worst)} (target: none over 1,500 ms, none failed)"
        )
        during_import_ok = importing.returncode == 0 and bool(during) and worst <= 1.5
    if args.keep:
        print(f"  instance kept in {folder}")
    else:
        shutil.rmtree(folder)
    ok = not errors and not missing and not doubled and total == len(acknowledged) and integrity == "ok"
    ok = ok and during_import_ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
