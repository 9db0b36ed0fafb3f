"""Rejecting an import from the review page answers at once; its rows go in the background,
with progress on the page, and a removal stopped half-way is finished by the next run.

A real file (../shared/data's Flock agencies, 5,152 rows, with seed/mappings/flock-agencies.yml),
real SQLite files, the real review page; the removal's chunk is made small
(imports.REMOVAL_CHUNK) so that it lasts long enough to be seen under way and to be killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from registry.importer import service
from registry.store import imports
from tests.conftest import ROOT, SHARED, invoke, post_form, query, text

FILE = SHARED / "data" / "nando-flock-private-eyes" / "agency20240426.csv"
MAPPING = ROOT / "seed" / "mappings" / "flock-agencies.yml"
COUNTS = ("select (select count(*) from organisations), (select count(*) from organisation_aliases), "
          "(select count(*) from relationships), (select count(*) from citations), "
          "(select count(*) from sources)")  # fmt: skip


def pending_import(settings) -> int:
    """Import the Flock agencies file for review; its submission's id."""
    result = service.import_file(settings, FILE, MAPPING)
    (submission_id,) = query(settings.intake_db, "select id from submissions where reference = ?", [result.reference])[
        0
    ]
    assert query(settings.intake_db, "select count(*) from organisations where submission_id = ?", [submission_id])[0][
        0
    ] > 4000  # fmt: skip
    return submission_id


def removal_note(settings, submission_id: int) -> tuple:
    sql = ("select status, json_extract(payload, '$.import.removing'), json_extract(payload, '$.import.removal') "
           "from submissions where id = ?")  # fmt: skip
    return query(settings.intake_db, sql, [submission_id])[0]


def removal_thread(submission_id: int) -> threading.Thread | None:
    return next((t for t in threading.enumerate() if t.name == f"removal-{submission_id}"), None)


def test_rejecting_a_large_import_answers_at_once_and_removes_its_rows_in_the_background(
    reviewer_client, seeded, monkeypatch
):
    before, published = query(seeded.intake_db, COUNTS), query(seeded.registry_db, COUNTS)
    submission_id = pending_import(seeded)
    monkeypatch.setattr(imports, "REMOVAL_CHUNK", 25)
    page = f"/review/submissions/{submission_id}"
    response = post_form(reviewer_client, f"{page}/reject", {"reason": "Not the right file."}, form_url=page)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(page)
    # The request returned while the removal runs: the decision is recorded, rows remain.
    thread = removal_thread(submission_id)
    assert thread is not None and thread.is_alive()
    assert query(seeded.intake_db, "select decision, note from reviews where submission_id = ?", [submission_id]) == [
        ("reject", "Not the right file.")
    ]
    assert removal_note(seeded, submission_id)[:2] == ("rejected", 1)
    shown = reviewer_client.get(page).get_data(as_text=True)
    assert '<meta http-equiv="refresh"' in shown
    assert "Removing the import&#39;s rows:" in shown or "Removing the import's rows:" in shown
    progress = json.loads(removal_note(seeded, submission_id)[2])
    removed, total = progress["removed"], progress["total"]
    assert 0 <= removed < total
    assert total > 10_000  # organisations, aliases, relationships, citations...
    assert query(seeded.registry_db, COUNTS) == published  # nothing of a rejected import is ever published
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert query(seeded.intake_db, COUNTS) == before
    assert removal_note(seeded, submission_id) == ("rejected", None, None)
    done = text(reviewer_client.get(page))
    assert "Rejected: the import's rows were removed." in done
    assert "http-equiv" not in reviewer_client.get(page).get_data(as_text=True)
    assert query(seeded.registry_db, COUNTS) == published
    check = invoke("check")
    assert check.exit_code == 0, check.output


def test_a_removal_killed_half_way_is_finished_by_registry_clean(seeded, reviewer):
    before = query(seeded.intake_db, COUNTS)
    submission_id = pending_import(seeded)
    from registry.services import approval
    from registry.store.connection import connect

    db = connect(seeded.intake_db)
    try:
        assert approval.record_rejection(db, submission_id, reviewer, "A test list.")
    finally:
        db.close()
    script = (
        "import sys\nfrom pathlib import Path\nfrom registry.store import imports\n"
        "from registry.services import removal\n"
        "imports.REMOVAL_CHUNK = 10\nremoval.remove_rejected(Path(sys.argv[1]), int(sys.argv[2]))\n"
    )
    remover = subprocess.Popen([sys.executable, "-c", script, str(seeded.intake_db), str(submission_id)], cwd=ROOT,
                               env={**os.environ, "REGISTRY_INSTANCE": str(seeded.instance)})  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        note = removal_note(seeded, submission_id)[2]
        if note and json.loads(note)["removed"] >= 500:
            break
        assert remover.poll() is None, "the removal ended before it could be killed"
        time.sleep(0.01)
    remover.send_signal(signal.SIGKILL)
    remover.wait()
    status, removing, note = removal_note(seeded, submission_id)
    assert (status, removing) == ("rejected", 1)
    removed, total = json.loads(note)["removed"], json.loads(note)["total"]
    assert 500 <= removed < total
    assert query(seeded.intake_db, COUNTS) != before  # half-removed
    result = invoke("clean")
    assert result.exit_code == 0, result.output
    assert "removed the rows of 1 rejected or unfinished import(s)" in result.output
    assert query(seeded.intake_db, COUNTS) == before
    assert removal_note(seeded, submission_id) == ("rejected", None, None)
    check = invoke("check")
    assert check.exit_code == 0, check.output


def test_a_removal_that_cannot_start_leaves_the_note_for_the_next_run(seeded, reviewer):
    """While another process holds the import lock (an import being written), the rejection is
    still recorded at once; its rows go on the next clean-up."""
    before = query(seeded.intake_db, COUNTS)
    submission_id = pending_import(seeded)
    from registry.services import approval, removal
    from registry.store.connection import connect

    db = connect(seeded.intake_db)
    try:
        assert approval.record_rejection(db, submission_id, reviewer, "A test list.")
    finally:
        db.close()
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time\nf = open(sys.argv[1], 'a')\n"
                               "fcntl.flock(f, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(60)\n",
                               f"{seeded.intake_db}.import-lock"], stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert removal.remove_rejected(seeded.intake_db, submission_id) is False
        assert removal_note(seeded, submission_id)[:2] == ("rejected", 1)
        assert invoke("clean").exit_code == 0  # the lock is held: nothing removed yet
        assert query(seeded.intake_db, COUNTS) != before
    finally:
        holder.kill()
        holder.communicate()
    assert invoke("clean").exit_code == 0
    assert query(seeded.intake_db, COUNTS) == before


@pytest.mark.parametrize("reason", ["", "   "])
def test_rejecting_without_a_reason_removes_nothing(reviewer_client, seeded, reason):
    submission_id = pending_import(seeded)
    rows = query(seeded.intake_db, COUNTS)
    page = f"/review/submissions/{submission_id}"
    response = post_form(reviewer_client, f"{page}/reject", {"reason": reason}, form_url=page)
    assert response.status_code == 303
    assert removal_thread(submission_id) is None
    assert removal_note(seeded, submission_id) == ("pending", None, None)
    assert query(seeded.intake_db, COUNTS) == rows
    assert "Not rejected" in text(reviewer_client.get(page))
