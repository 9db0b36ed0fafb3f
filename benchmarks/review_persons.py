"""Measure the review page of a large pending import: the person check read from the import's
flags (what the page does now) against every organisation's name judged again (what it did before).

Generates a client list with benchmarks/import_speed.py's generator (--rows rows, default 100,000:
about rows/5 distinct organisations), adds a few rows naming people, imports it as a pending
submission into a fresh instance (`registry init`, no seed), then, in one run on the same database:
  flags      registry.services.preview.flagged_import_persons: the rows the import flagged, read
             by id (the review page's way since issue 14's last parts);
  full       registry.services.preview.unstated_import_persons: every organisation the import made
             judged again by registry.rules.persons (the page's way before; approval's still);
  page       GET /review/<id> through the Flask app (a reviewer logged in), median of --repeat;
  page-full  the same page with the payload's flags removed, so that it falls back to judging every
             name (an import recorded before the flags were kept): the baseline of `page`.
Each is timed --repeat times (default 5), the person rule's memo emptied before each (a web worker
has not judged the import's names: the importer's process did), and the median printed, with the ratios full/flags and
page-full/page; both lists must name the same organisations, or the script exits with status 1.

    .venv/bin/python benchmarks/review_persons.py --rows 100000
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from import_speed import generate, mapping_text

PEOPLE = ["Laura Poitras", "Glenn Greenwald", "Connor Wyatt", "Isabela Alves", "James Comer"]


def timed(repeat: int, run) -> tuple[float, object]:
    """The median seconds of `repeat` calls, and the last answer. The person rule's memo is emptied
    before each: the import filled it in this process, and a web worker has not judged these names."""
    from registry.rules import persons

    times, answer = [], None
    for _ in range(repeat):
        persons.looks_like_person.cache_clear()
        start = time.perf_counter()
        answer = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), answer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the generated list (default 100,000)")
    parser.add_argument("--repeat", type=int, default=5, help="timings per measurement (median printed)")
    parser.add_argument("--out", type=Path, help="folder for the files and instance (default: temp)")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="review-persons-"))
    out.mkdir(parents=True, exist_ok=True)
    os.environ["REGISTRY_INSTANCE"] = str(out / "instance")
    generate(out, args.rows, 20200227)
    with (out / "clients.csv").open("a", encoding="utf-8", newline="") as f:
        header = next(csv.reader((out / "clients.csv").open(encoding="utf-8")))
        writer = csv.DictWriter(f, header)
        first = next(csv.DictReader((out / "clients.csv").open(encoding="utf-8")))
        for name in PEOPLE:  # a few people among the clients, as a leaked list may name
            writer.writerow({**first, header[0]: name})
    (out / "clients.yml").write_text(mapping_text(), encoding="utf-8")

    from click.testing import CliRunner

    from registry import create_app
    from registry.cli import cli
    from registry.config import load_settings
    from registry.importer import service
    from registry.services import accounts, preview
    from registry.store.connection import connect
    from registry.store.submissions import submission

    assert CliRunner().invoke(cli, ["init"]).exit_code == 0
    settings = load_settings()
    start = time.perf_counter()
    result = service.import_file(settings, out / "clients.csv", out / "clients.yml")
    import_s = time.perf_counter() - start
    db = connect(settings.intake_db)
    (submission_id,) = db.execute("SELECT id FROM submissions WHERE reference = ?", [result.reference]).fetchone()
    organisations = db.execute("SELECT count(*) FROM organisations WHERE submission_id = ?", [submission_id]).fetchone()
    found = submission(db, submission_id)
    assert found is not None
    flags_s, flagged = timed(args.repeat, lambda: preview.flagged_import_persons(db, found))
    full_s, judged = timed(args.repeat, lambda: preview.unstated_import_persons(db, submission_id))
    accounts.create_user(db, "bench", "benchmark-password-1", "reviewer")
    db.close()

    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "DATASETTE_URL": "http://datasette.test"})
    client = app.test_client()
    login = client.post("/login", data={"name": "bench", "password": "benchmark-password-1"})
    assert login.status_code == 303, login.status_code

    def page() -> str:
        response = client.get(f"/review/submissions/{submission_id}")
        assert response.status_code == 200, response.status_code
        return response.get_data(as_text=True)

    page_s, shown = timed(args.repeat, page)
    db = connect(settings.intake_db)
    with db.conn:
        db.execute("UPDATE submissions SET payload = json_remove(payload, '$.import.person_ids') WHERE id = ?",
                   [submission_id])  # fmt: skip
    db.close()
    page_full_s, shown_full = timed(args.repeat, page)

    same = flagged == judged and all(name in shown for _, name in flagged)
    figures = {
        "rows": args.rows,
        "organisations": organisations[0],
        "flagged": len(flagged),
        "import_s": import_s,
        "flags_s": flags_s,
        "full_s": full_s,
        "page_s": page_s,
        "page_full_s": page_full_s,
        "full_over_flags": full_s / flags_s,
        "page_full_over_page": page_full_s / page_s,
        "same": same,
    }
    print(f"{args.rows:,} rows, {organisations[0]:,} organisations made by the import ({import_s:.1f} s), "
          f"{len(flagged)} flagged")  # fmt: skip
    print(f"  flags (the import's, read by id)   {flags_s * 1000:10.2f} ms")
    print(f"  full (every name judged again)     {full_s * 1000:10.2f} ms   x{full_s / flags_s:,.0f}")
    print(f"  review page, reading the flags     {page_s * 1000:10.2f} ms")
    print(f"  review page, judging every name    {page_full_s * 1000:10.2f} ms   x{page_full_s / page_s:.1f}")
    print(f"  same organisations listed: {same}")
    (out / "review_persons.json").write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0 if same and "Laura Poitras" in shown_full else 1


if __name__ == "__main__":
    sys.exit(main())
