"""Uploading a list in the intake app: upload, mapping, preview, submission, review."""

from __future__ import annotations

import io
import json
import time

import pytest

from registry import create_app
from tests.conftest import ROOT, SHARED, dump, hidden_fields, query, text

FLOCK_AGENCIES = SHARED / "data" / "nando-flock-private-eyes" / "agency20240426.csv"
FLOCK_MAPPING = (ROOT / "seed" / "mappings" / "flock-agencies.yml").read_text(encoding="utf-8")


def upload(client, name, content, **fields):
    page = client.get("/import").get_data(as_text=True)
    data = {**hidden_fields(page), **fields, "file": (io.BytesIO(content), name)}
    return client.post("/import", data=data, content_type="multipart/form-data")


def wait_for_job(client, location):
    job_id = location.rsplit("/", 1)[1]
    for _ in range(300):
        state = client.get(f"/import/jobs/{job_id}.json").get_json()["state"]
        if state != "running":
            return client.get(location)
        time.sleep(0.1)
    raise AssertionError("the import did not finish in 30 s")


def run_mapping(client, location, action, mapping):
    page = client.get(location).get_data(as_text=True)
    token = location.rsplit("/", 1)[1]
    response = client.post(f"/import/{token}/{action}", data={**hidden_fields(page), "mapping": mapping})
    assert response.status_code == 303, response.get_data(as_text=True)
    return wait_for_job(client, response.headers["Location"])


def test_upload_suggests_a_mapping_from_the_headers(client, seeded):
    response = upload(client, "agency20240426.csv", FLOCK_AGENCIES.read_bytes())
    assert response.status_code == 303
    page = text(client.get(response.headers["Location"]))
    assert "18th Judicial District DA's Office- LA PD" in page  # the file's first rows are shown
    assert "<th>id</th><th>name</th><th>notes</th>" in page
    assert "column: name" in page  # the client name column found from the header
    assert "Say who the vendor is" in page  # no vendor column: the contributor must say


def test_preview_then_submit_then_review(client, seeded, reviewer):
    before = dump(seeded.intake_db), dump(seeded.registry_db)
    location = upload(client, "agency20240426.csv", FLOCK_AGENCIES.read_bytes(),
                      submitter_contact="desk@example.org").headers["Location"]  # fmt: skip
    preview = run_mapping(client, location, "preview", FLOCK_MAPPING)
    page = text(preview)
    assert "5,152 rows read" in page
    assert "The preview stored nothing." in page
    assert "Lynne Drake" in page  # a person's name among the agencies, listed with its row (test_persons.py)
    assert "Sylvania" in page or "18th Judicial District" in page  # the first rows as they would be stored
    assert (dump(seeded.intake_db), dump(seeded.registry_db)) == before
    submitted = run_mapping(client, location, "submit", FLOCK_MAPPING)
    assert submitted.status_code == 303
    assert "/submitted/S-" in submitted.headers["Location"]
    assert query(seeded.intake_db, "select kind, status, submitter_contact from submissions") == [
        ("import", "pending", "desk@example.org")
    ]
    assert dump(seeded.registry_db) == before[1]
    # A reviewer sees it in the queue with its rows, and approves it.
    from tests.conftest import post_form

    assert post_form(client, "/login", {"name": "alice", "password": reviewer["password"]}).status_code == 303
    queue = text(client.get("/review"))
    assert "Import of agency20240426.csv" in queue
    (submission_id,) = query(seeded.intake_db, "select id from submissions")[0]
    detail = text(client.get(f"/review/submissions/{submission_id}"))
    assert "18th Judicial District DA's Office- LA PD" in detail
    page = f"/review/submissions/{submission_id}"
    # Flock's agencies include "Lynne Drake", a person's name: approved only with a statement (test_persons.py).
    assert "Lynne Drake" in detail.split('id="persons"')[1]
    assert post_form(client, f"{page}/approve", {}, form_url=page).status_code == 303
    assert query(seeded.registry_db, "select count(*) from relationships where vendor = 'Flock Safety'") == [(0,)]
    statement = {"person_name_reason": "Flock Safety's portal lists this name as an agency account."}
    assert post_form(client, f"{page}/approve", statement, form_url=page).status_code == 303
    assert query(seeded.registry_db, "select count(*) from relationships where vendor = 'Flock Safety'") == [(5151,)]


def test_preview_lists_problems_and_stores_nothing(client, seeded):
    location = upload(client, "agencies.csv", b"id,name,notes\n1,Springfield PD,NA\n2,,NA\n").headers["Location"]
    page = text(run_mapping(client, location, "preview", FLOCK_MAPPING))
    assert "Nothing was stored" in page
    assert "client.name" in page and "This field is required." in page
    assert query(seeded.intake_db, "select count(*) from submissions") == [(0,)]


def test_a_mapping_naming_a_missing_column_is_explained(client, seeded):
    location = upload(client, "agencies.csv", b"id,agency\n1,Springfield PD\n").headers["Location"]
    page = text(run_mapping(client, location, "preview", FLOCK_MAPPING))
    assert "the file has no column 'name'" in page


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("list.exe", b"MZ", "Upload CSV, XLSX, JSON or NDJSON."),
        ("empty.csv", b"", "the file is empty"),
        ("broken.csv", b'id,name\n1,"unclosed\n', "unclosed quote"),
    ],
)
def test_bad_uploads_are_answered_next_to_the_file_field(client, seeded, name, content, message):
    response = upload(client, name, content)
    assert response.status_code == 422
    assert message in text(response)
    assert 'id="file-errors"' in response.get_data(as_text=True)


def test_an_unclosed_quote_inside_the_data_is_found_at_preview(client, seeded):
    good = b"".join(b"%d,Town %d PD,NA\n" % (i, i) for i in range(20))  # the sample shown is fine
    location = upload(client, "list.csv", b"id,name,notes\n" + good + b'99,"Springfield PD,NA\n').headers["Location"]
    page = text(run_mapping(client, location, "preview", FLOCK_MAPPING))
    assert "an unclosed quote?" in page


def test_path_traversal_in_the_file_name_stays_in_uploads(client, seeded):
    response = upload(client, "../../../evil.csv", b"id,name,notes\n1,A PD,NA\n")
    assert response.status_code == 303
    root = seeded.instance.parent.parent.parent  # where ../../../ from instance/uploads would land, and above
    assert not list(root.rglob("evil.csv"))
    stored = sorted(p.name for p in (seeded.instance / "uploads").iterdir())
    token = response.headers["Location"].rsplit("/", 1)[1]
    assert stored == [f"{token}.csv", f"{token}.meta.json"]


def test_an_upload_over_the_limit_gets_a_clear_answer(seeded):
    app = create_app({"TESTING": True, "MAX_CONTENT_LENGTH": 1024})
    client = app.test_client()
    response = upload(client, "big.csv", b"id,name\n" + b"1,Springfield PD\n" * 200)
    assert response.status_code == 413
    assert "Uploads are limited to" in text(response)


def test_json_upload_and_a_second_submit_returns_the_first_submission(client, seeded):
    records = [
        {"id": "1", "name": "Springfield IL PD", "notes": "NA"},
        {"id": "2", "name": "Salem OR PD", "notes": "NA"},
    ]
    location = upload(client, "agencies.json", json.dumps(records).encode()).headers["Location"]
    first = run_mapping(client, location, "submit", FLOCK_MAPPING)
    assert first.status_code == 303
    # The mapping page, still open in the browser, sent again (its form's token: the session's).
    again = client.post(f"{location}/submit", data={**hidden_fields(client.get("/import").get_data(as_text=True)),
                                                    "mapping": FLOCK_MAPPING})  # fmt: skip
    assert again.headers["Location"] == first.headers["Location"]
    assert query(seeded.intake_db, "select count(*) from submissions") == [(1,)]


def test_a_broken_mapping_ends_the_job_with_a_message(client, seeded):
    location = upload(client, "agencies.csv", b"id,name,notes\n1,A PD,NA\n").headers["Location"]
    page = text(run_mapping(client, location, "preview", "client: {name: [broken\n"))
    assert "Nothing was stored" in page
    assert "not valid YAML" in page


def test_unknown_jobs_and_uploads_are_not_found(client, seeded):
    assert client.get("/import/jobs/nonexistent-job-id-123").status_code == 404
    assert client.get("/import/../../etc/passwd").status_code == 404
    assert client.get("/import/short").status_code == 404
