"""Time the removal of a rejected import's rows at several sizes: it should grow linearly.

For each --rows size (default 100,000 and 1,000,000), generates the synthetic client list of
benchmarks/import_speed.py (its generator and mapping: about rows/5 organisations, each with
an alias now and then, one relationship, citation and figure per row), imports it into a fresh
instance without --approve (a pending submission, as a contributor's upload waits for review),
marks it rejected as the review page does (registry.services.approval.record_rejection's
transaction), then times registry.services.removal.remove_rejected, which the review page runs
on its thread: registry.store.imports.finish_removal on a connection of its own, removing the
rows in short write transactions (`registry clean` and `registry init` finish a stopped one
the same way). Prints, per size: rows, organisations, seconds, rows/s, and the ratio of the largest
size's time to the smallest's (about rows ratio when removal is linear).

With --without-new-indexes SIZE, the same import at SIZE rows (default 100,000) is also removed
from a copy of its intake.db in which the indexes issue 15 added to schema.sql's intake part
(the block under "Every foreign key has an index") are dropped first: the time before the change,
in the same run.

    .venv/bin/python benchmarks/removal.py --rows 100000 --rows 1000000 --without-new-indexes 100000
    .venv/bin/python benchmarks/removal.py --rows 20000 --rows 100000   # a quick look
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import import_speed  # noqa: E402  (the generator of the client list and its mapping)

from registry.store.schema import schema_parts  # noqa: E402

NEW_INDEXES_MARK = "-- Every foreign key has an index"


def new_indexes() -> list[str]:
    """Names of the indexes of schema.sql's intake part added so every foreign key has one."""
    intake = schema_parts()["intake"]
    return re.findall(r"CREATE INDEX IF NOT EXISTS (\w+)", intake[intake.index(NEW_INDEXES_MARK) :])


def imported(folder: Path, rows: int, seed: int) -> tuple[Path, str, dict[str, int]]:
    """A fresh instance holding the generated list of `rows` rows as a pending import:
    (instance, reference, row counts)."""
    folder.mkdir(parents=True, exist_ok=True)
    import_speed.generate(folder, rows, seed)
    instance = folder / "instance"
    shutil.rmtree(instance, ignore_errors=True)
    env = {**os.environ, "REGISTRY_INSTANCE": str(instance)}
    subprocess.run([str(import_speed.BIN / "registry"), "init"], check=True, env=env, cwd=ROOT,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    from registry.config import load_settings
    from registry.importer import service

    settings = load_settings(env)
    result = service.import_file(settings, folder / import_speed.CSV_NAME, folder / import_speed.MAPPING_NAME)
    conn = sqlite3.connect(settings.intake_db)
    tables = ("organisations", "organisation_aliases", "relationships", "citations", "observations")
    counts = {t: conn.execute(f"SELECT count(*) FROM [{t}] WHERE submission_id IS NOT NULL").fetchone()[0]
              for t in tables}  # fmt: skip
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return instance, result.reference, counts


def time_removal(instance: Path, reference: str, drop: list[str]) -> float:
    """Reject the import (status, review, the removing note) and time the removal the review
    page starts on its thread (registry.services.removal.remove_rejected)."""
    from registry.services import removal
    from registry.store import imports
    from registry.store.connection import connect
    from registry.store.writers import transaction

    db = connect(instance / "intake.db")
    for name in drop:
        db.execute(f"DROP INDEX IF EXISTS [{name}]")
    submission_id = db.execute("SELECT id FROM submissions WHERE reference = ?", [reference]).fetchone()[0]
    with transaction(db):
        db.execute("UPDATE submissions SET status = 'rejected' WHERE id = ?", [submission_id])
        imports.mark_removing(db, submission_id)
    start = time.perf_counter()
    if not removal.remove_rejected(instance / "intake.db", submission_id):
        raise SystemExit("the removal could not take the import lock")
    elapsed = time.perf_counter() - start
    left = db.execute("SELECT count(*) FROM organisations WHERE submission_id = ?", [submission_id]).fetchone()[0]
    left += db.execute("SELECT count(*) FROM relationships WHERE submission_id = ?", [submission_id]).fetchone()[0]
    db.close()
    if left:
        raise SystemExit(f"{left} rows of the import are still there after its removal")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, action="append", help="a size (repeat; default 100,000 and 1,000,000)")
    parser.add_argument("--without-new-indexes", type=int, nargs="?", const=100_000, metavar="ROWS",
                        help="also time ROWS (default 100,000) with the new foreign-key indexes dropped")  # fmt: skip
    parser.add_argument("--out", type=Path, help="folder for the files and instances (default: temporary)")
    parser.add_argument("--seed", type=int, default=20200227)
    args = parser.parse_args()
    sizes = sorted(set(args.rows or [100_000, 1_000_000]))
    out = args.out or Path(tempfile.mkdtemp(prefix="removal-"))
    print(f"removal of a rejected import, {time.strftime('%Y-%m-%d')}, files in {out}", flush=True)
    print(f"{'case':<26}{'rows':>10}{'organisations':>15}{'seconds':>10}{'rows/s':>10}", flush=True)
    results: dict[int, float] = {}
    for rows in sorted(set(sizes) | ({args.without_new_indexes} if args.without_new_indexes else set())):
        instance, reference, counts = imported(out / str(rows), rows, args.seed)
        cases = [("with every FK indexed", [])] if rows in sizes else []
        if rows == args.without_new_indexes:
            before = instance.with_name("instance-before")
            shutil.copytree(instance, before)
            cases.append(("without the new indexes", new_indexes()))
        for label, drop in cases:
            elapsed = time_removal(before if drop else instance, reference, drop)
            if not drop:
                results[rows] = elapsed
            print(f"{label:<26}{rows:>10,}{counts['organisations']:>15,}{elapsed:>10.2f}{rows / elapsed:>10,.0f}",
                  flush=True)  # fmt: skip
        shutil.rmtree(out / str(rows), ignore_errors=True)
    if len(results) > 1:
        small, large = min(results), max(results)
        print(f"time ratio {large:,} / {small:,} rows: {results[large] / results[small]:.2f} "
              f"(rows ratio {large / small:.0f}: linear when about equal)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
