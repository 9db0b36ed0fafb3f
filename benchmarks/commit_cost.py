"""What a durable submission costs: 1,000 single-submission commits to intake.db, with the WAL
synced at every commit (synchronous = FULL, what registry/store/connection.py sets) and
without (NORMAL, before issue 18).

Each mode runs in a child process on a fresh intake.db in --dir (put it on the disk the
instance lives on: a tmpfs has no fsync to pay), under `strace -c -f -e trace=fsync,fdatasync`
when strace is there, which adds up the wall-clock time spent in those calls (-w). Printed per mode: CPU
seconds of the child (user + system, from getrusage: other processes on the machine do not
change it), fsync calls and their seconds as strace counts them, and the elapsed seconds
(disturbed by other load: compare the first two).

    .venv/bin/python benchmarks/commit_cost.py --dir /var/tmp
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

COMMITS = 1000


def child(path: Path, mode: str, commits: int) -> dict[str, float]:
    """Insert `commits` submissions, one transaction each, as the submission service does."""
    from registry.store import submissions
    from registry.store.connection import connect
    from registry.store.writers import transaction

    db = connect(path)
    db.execute(f"PRAGMA synchronous = {mode}")
    payload = {"organisations": [], "sources": [], "form": {"name": "A benchmark organisation"}}
    start, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    for _ in range(commits):
        with transaction(db):
            submissions.insert_submission(
                db, "S-" + uuid.uuid4().hex[:10].upper(), "organisation", payload, None, None, uuid.uuid4().hex
            )
    end, elapsed = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - started
    db.close()
    cpu = (end.ru_utime - start.ru_utime) + (end.ru_stime - start.ru_stime)
    return {"cpu_s": round(cpu, 3), "elapsed_s": round(elapsed, 3)}


def run(folder: Path, mode: str, commits: int) -> dict[str, float]:
    """One mode in a child process, on a fresh intake.db made by the real schema."""
    from registry.store.schema import create

    work = Path(tempfile.mkdtemp(prefix="commit-cost-", dir=folder))
    try:
        intake = work / "intake.db"
        create(intake, "intake")
        command = [sys.executable, __file__, "--child", mode, "--commits", str(commits), "--dir", str(intake)]
        strace = shutil.which("strace")
        trace = work / "strace.txt"
        if strace:
            command = [strace, "-c", "-w", "-f", "-e", "trace=fsync,fdatasync", "-o", str(trace), *command]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        result = json.loads(output.strip().splitlines()[-1])
        calls, seconds = 0, 0.0
        if strace:
            for line in trace.read_text().splitlines():  # "% time seconds usecs/call calls errors syscall"
                fields = line.split()
                if fields and fields[-1] in ("fsync", "fdatasync"):
                    seconds += float(fields[1])
                    calls += int(re.sub(r"\D", "", fields[3]) or 0)
        return {**result, "fsync_calls": calls, "fsync_s": round(seconds, 3)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()), help="where the databases go")
    parser.add_argument("--commits", type=int, default=COMMITS)
    parser.add_argument("--child", choices=("NORMAL", "FULL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.dir, args.child, args.commits)))
        return
    print(f"{args.commits} single-submission commits to a fresh intake.db in {args.dir} (pid {os.getpid()})")
    for mode in ("NORMAL", "FULL"):
        r = run(args.dir, mode, args.commits)
        per = 1000 / args.commits
        print(
            f"  synchronous={mode:<6} CPU {r['cpu_s']:.2f} s ({r['cpu_s'] * per:.2f} ms/commit), "
            f"fsync {r['fsync_calls']} calls {r['fsync_s']:.2f} s ({r['fsync_s'] * per:.2f} ms/commit), "
            f"elapsed {r['elapsed_s']:.2f} s"
        )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
