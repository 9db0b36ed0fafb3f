"""CPU seconds of 100 approvals, as the review page makes them, on a fresh seeded instance.

    .venv/bin/python benchmarks/approval_cpu.py [--code PATH] [--count 100]

`--code` runs another checkout of the registry (e.g. `git worktree add /tmp/old main`) with
this checkout's test helpers, to compare before and after a change. CPU time
(getrusage of this process: the approvals run in it) rather than elapsed time, so other
work on the machine disturbs the figure less."""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, default=HERE, help="the checkout whose registry package to measure")
    parser.add_argument("--count", type=int, default=100)
    args = parser.parse_args()
    code = args.code.resolve()
    folder = Path(tempfile.mkdtemp(prefix="approval-cpu-")) / "instance"
    os.environ.update(REGISTRY_INSTANCE=str(folder), REGISTRY_SUBMIT_LIMIT="1000000 per minute")
    cli = f"import sys; sys.path.insert(0, {str(code)!r}); from registry.cli import cli; cli()"
    for command in ("init", "seed", "publish"):
        subprocess.run([sys.executable, "-c", cli, command], check=True, capture_output=True)
    sys.path[:0] = [str(code), str(HERE)]
    from registry import create_app
    from registry.config import load_settings
    from registry.services import approval
    from registry.services.accounts import create_user
    from registry.store.connection import connect
    from tests.test_review import submit_relationship

    settings = load_settings()
    db = connect(settings.intake_db)
    user = {"id": create_user(db, "bench", "bench reviewer password", "reviewer"), "name": "bench"}
    db.close()
    client = create_app({"TESTING": True, "DATASETTE_URL": "http://datasette.test"}).test_client()
    pending = [
        submit_relationship(client, settings, **{"client-name": f"Bench Police {i}", "source-title": f"Bench list {i}"})
        for i in range(args.count)
    ]
    before = resource.getrusage(resource.RUSAGE_SELF)
    for submission in pending:
        approval.approve(settings, submission, user)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    print(f"{code}: {args.count} approvals, {cpu:.2f} CPU s ({1000 * cpu / args.count:.1f} ms each)")


if __name__ == "__main__":
    main()
