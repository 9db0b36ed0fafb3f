"""CPU seconds and peak memory of what `registry check` added for issue 18 (looking for
private and withdrawn text in every table, in the search index's entries and in the raw
bytes), on a registry.db of --rows relationships built by benchmarks/pages.py.

The database is built once (--reuse keeps DIR/registry.db), then --withdrawn relationships
are withdrawn as a reviewer's withdrawal does (rows deleted with secure_delete on, search
indexes rewritten: that step is timed too), and --private made-up private values (full
names and addresses, as submitters give) join their texts as the secrets looked for. The
steps then run as check runs them: the public tables read once to drop secrets that are
published (check reads its rebuild; the same tables, the same size), every table's cells,
the index entries of the withdrawn rows, the raw file. None may report anything.
A whole `registry check` also rebuilds the registry from intake.db and compares them,
which this does not time (it needs an intake.db of that size: see benchmarks/import_speed.py).

    .venv/bin/python benchmarks/check_traces.py --rows 1000000 --out /var/tmp/check1m
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import sqlite3
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

FIELDS = ("summary", "notes", "product", "vendor", "client", "client_aliases", "disclosure")


def timed(label: str, work):
    start = time.process_time()
    result = work()
    print(f"  {label:<52} {time.process_time() - start:7.2f} s CPU")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--withdrawn", type=int, default=100)
    parser.add_argument("--private", type=int, default=5000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--reuse", action="store_true", help="keep DIR/registry.db if it is there")
    args = parser.parse_args()

    import pages
    import sqlite_utils

    from registry.services import traces
    from registry.store import public
    from registry.store import traces as traces_store

    built = args.out / "registry.db"
    if not (args.reuse and built.exists()):
        timed(f"build a registry of {args.rows:,} relationships", lambda: pages.build(built, args.rows, 2024))
    work = args.out / "check.db"
    shutil.copyfile(built, work)
    rng = random.Random(18)
    ids = rng.sample(range(1, args.rows + 1), args.withdrawn)
    conn = sqlite3.connect(work)
    columns = ", ".join(f"coalesce([{c}], '')" for c in FIELDS)
    withdrawn = {i: ("withdrawn", [t for t in conn.execute(f"SELECT {columns} FROM relationships WHERE id = ?", [i])
                                   .fetchone() if t]) for i in ids}  # fmt: skip
    conn.close()
    db = sqlite_utils.Database(sqlite3.connect(work, isolation_level=None))

    def withdraw() -> None:
        public.erase_deleted_text(db)
        db.execute("BEGIN IMMEDIATE")
        db.execute(f"DELETE FROM citations WHERE relationship_id IN ({','.join('?' * len(ids))})", ids)
        db.execute(f"DELETE FROM relationships WHERE id IN ({','.join('?' * len(ids))})", ids)
        public.purge_deleted_text(db)
        db.execute("COMMIT")

    print(f"{args.rows:,} relationships, {args.withdrawn} withdrawn, {args.private:,} private values; "
          f"{work.stat().st_size / 2**30:.2f} GB")  # fmt: skip
    timed(f"withdraw {args.withdrawn} (delete, secure_delete, FTS optimize)", withdraw)
    db.close()
    registry = sqlite_utils.Database(sqlite3.connect(f"file:{work}?mode=ro", uri=True))
    secrets = [
        traces.Secret(f"Private Person{n} Surname{n}@example.org", "a private value") for n in range(args.private)
    ]
    secrets += [traces.Secret(t, f"text of withdrawn relationship {i}") for i, (_, texts) in withdrawn.items()
                for t in texts if len(t) >= 12]  # fmt: skip
    names = timed("the names a registry publishes (organisations, titles)", lambda: traces_store.public_names(registry))
    kept = [s for s in secrets if s.text.casefold() not in names]
    print(f"    {len(secrets) - len(kept):,} secrets are published names (vendors, clients): dropped")
    finder = timed(f"build the matcher ({len(kept):,} secrets)", lambda: traces.Finder(kept))
    public_hits = timed("the public tables (check reads its rebuild's)", lambda: traces.published(finder, registry))
    finder = finder.without_secrets(public_hits)
    print(f"    {len(public_hits):,} more secrets are published text, {len(finder.secrets):,} left")
    cells = timed("every table's cells, shadow tables included", lambda: list(traces.cell_problems(finder, registry)))
    index = timed(
        "the search index's entries of the withdrawn rows", lambda: traces.index_problems(registry, withdrawn)
    )
    raw = timed("the raw bytes of the file", lambda: list(traces.file_problems(finder, work)))
    problems = [p for _, p in cells] + index + [p for _, p in raw]
    print(f"  problems found: {len(problems)} {problems[:3]}")
    print(f"  peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    registry.close()
    work.unlink()


if __name__ == "__main__":
    main()
