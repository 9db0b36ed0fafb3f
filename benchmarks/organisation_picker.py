"""What naming an organisation costs on the forms, in one run on one intake.db with many
published organisations and aliases: the suggestions made while one types
(registry.store.lookups.suggest_organisations, against the query it replaced: the baseline),
and resolving a typed name on the figure and response forms without JavaScript
(registry.services.submissions.pick_organisation).

An exact name or alias is one lookup; a name that matches none exactly is scored
(registry.rules.names.near_matches) against the spellings that share one of its distinctive
words, found in SQLite, which only a refused submission pays. The last line scores every
published spelling instead, as the review page's duplicate check does: the cost the word
filter avoids. CPU seconds of this process (time.process_time), median of the repeats.

    .venv/bin/python benchmarks/organisation_picker.py [--organisations 200000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from registry.rules.countries import country_rows, subdivision_rows
from registry.rules.names import name_key, near_matches
from registry.services import seed
from registry.services.submissions import pick_organisation
from registry.store import lookups, schema
from registry.store import vocabulary as vocabulary_store
from registry.store.connection import connect
from registry.store.writers import transaction

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from import_speed import make_clients  # noqa: E402 - benchmarks/ is not a package


def build(path: Path, count: int) -> tuple[str, str]:
    """An intake.db with `count` approved organisations, one alias each; return a name and an alias."""
    schema.create(path, "intake")
    db = connect(path)
    now = dt.datetime.now(dt.UTC).isoformat()
    clients = make_clients(count, random.Random(14))
    with transaction(db):
        vocabulary_store.load_reference_data(
            db, seed.read_vocabularies(ROOT / "seed"), country_rows(), subdivision_rows()
        )
        db.execute("PRAGMA foreign_keys = OFF")
        rows = (
            (i, f"org-{i}", name, name_key(name), "company", "other", now, now)
            for i, (name, *_rest) in enumerate(clients, 1)
        )
        db.conn.executemany(
            "INSERT INTO organisations (id, slug, name, name_key, kind, sector, status, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 'approved', ?, ?)",
            rows,
        )
        aliases = (
            (i, f"{name} (alias {i})", name_key(f"{name} (alias {i})")) for i, (name, *_r) in enumerate(clients, 1)
        )
        db.conn.executemany(
            "INSERT INTO organisation_aliases (organisation_id, alias, alias_key) VALUES (?, ?, ?)", aliases
        )
    db.close()
    middle = count // 2
    return clients[middle][0], f"{clients[middle + 1][0]} (alias {middle + 2})"


# The suggestions query as it was before 2026-12-03 (a LIKE on the key, and the key's first
# words matched with `:k LIKE name_key || ' %'`): the baseline of registry.store.lookups'.
SUGGEST_BEFORE = """
WITH hits AS (
    SELECT id AS organisation_id, name AS spelling, name_key = :k AS exact FROM organisations
    WHERE status = 'approved' AND (name_key LIKE :p ESCAPE '\\' OR :k LIKE name_key || ' %')
    UNION ALL
    SELECT organisation_id, alias, alias_key = :k FROM organisation_aliases
    WHERE alias_key LIKE :p ESCAPE '\\' OR :k LIKE alias_key || ' %'
)
SELECT o.id, o.name, max(h.exact) AS exact, min(h.spelling) AS matched,
       o.country, c.name AS country_name, s.label AS sector
FROM hits h JOIN organisations o ON o.id = h.organisation_id AND o.status = 'approved'
LEFT JOIN countries c ON c.code = o.country JOIN sectors s ON s.code = o.sector
GROUP BY o.id ORDER BY exact DESC, length(o.name), o.name LIMIT 10
"""


def suggest_before(db: Any, key: str) -> list[dict[str, Any]]:
    return list(db.query(SUGGEST_BEFORE, {"k": key, "p": key + "%"}))


def timed(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--organisations", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "intake.db"
        name, alias = build(path, args.organisations)
        db = connect(path)
        typed = name_key(name[:4])
        cases = {
            "baseline: suggestions, query before": lambda: suggest_before(db, typed),
            "suggestions for 4 letters": lambda: lookups.suggest_organisations(db, typed),
            "suggestions for a whole name + 1 word": lambda: lookups.suggest_organisations(db, name_key(name + " Inc")),
            "exact name": lambda: pick_organisation(db, name),
            "exact alias": lambda: pick_organisation(db, alias),
            "near name (refused)": lambda: pick_organisation(db, name + " Holdings Group"),
            "unknown name (refused)": lambda: pick_organisation(db, "Zyxwvut Qqqq"),
            "near name, every spelling scored": lambda: near_matches(
                name + " Holdings Group", lookups.organisation_spellings(db)
            ),
        }
        print(f"{args.organisations:,} approved organisations, {args.organisations:,} aliases; "
              f"median CPU of {args.repeats}")  # fmt: skip
        baseline = None
        for label, work in cases.items():
            seconds = timed(work, args.repeats)
            baseline = baseline or seconds
            found = work()
            count = len(found) if isinstance(found, list) else len(found.candidates) or int(bool(found.organisation))
            print(f"  {label:38} {seconds * 1000:9.1f} ms  {seconds / baseline:7.1f}x baseline  ({count} found)")
        for text in (name[:2], name[:4], name, name + " Inc", alias):
            before = [r["id"] for r in suggest_before(db, name_key(text))]
            now = [r["id"] for r in lookups.suggest_organisations(db, name_key(text))]
            print(f"  suggestions for {text!r}: {'the same' if now == before else 'NOT the same'} as before")
        db.close()


if __name__ == "__main__":
    main()
