"""Hostile values through the login form and the reviewer's edit, reject and approve
forms, in-process: no 500, nothing written when refused, and the pages inert."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import hidden_fields
from tests.hostile import CONTROL, LONG, REPRESENTATIVE, VALUES
from tests.test_hostile_forms import (
    FORMS,
    MARKUP,
    Writes,
    assert_no_error_page,
    inert_problems,
    relationship_base,
    stored_submissions,
    tag_counts,
)

LOGIN_VALUES = [(f"value-{i}", v) for i, v in enumerate([*REPRESENTATIVE, *CONTROL[:6], *LONG])]


@pytest.mark.slow
def test_hostile_login_names_and_passwords(hostile_app, seeded, reviewer):
    client = hostile_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token, baseline = hidden_fields(page), tag_counts(page)
    writes = Writes(seeded.intake_db)
    # Each check of a password takes argon2's time (~0.3 s, by design): a representative set.
    for value_id, value in LOGIN_VALUES:
        response = client.post("/login", data={**token, "name": value, "password": value})
        body = assert_no_error_page(response, f"login {value_id}")
        assert response.status_code in (200, 413), (value_id, response.status_code)
        assert not writes.changed(), f"login {value_id}: something was written"
        if response.status_code == 200 and MARKUP.search(value):
            assert inert_problems(body, baseline=baseline) == [], value_id
    # still logged out; the right password still works
    assert client.get("/review").status_code == 302
    right = client.post("/login", data={**token, "name": reviewer["name"], "password": reviewer["password"]})
    assert right.status_code == 303


def pending_organisations(app, n: int) -> list[int]:
    """`n` pending organisation submissions, made through the form."""
    client = app.test_client()
    token = hidden_fields(client.get("/submit/organisation").get_data(as_text=True))["csrf_token"]
    references = []
    for i in range(n):
        data = {"csrf_token": token, "idempotency_key": uuid.uuid4().hex, "name": f"Reviewed Organisation {i}",
                "kind": "company", "sector": "technology"}  # fmt: skip
        response = client.post("/submit/organisation", data=data)
        assert response.status_code == 303
        references.append(response.headers["Location"].rsplit("/", 1)[1])
    return sorted(sid for sid, _ in stored_submissions(app.config["SETTINGS"], references).values())


@pytest.mark.slow
def test_hostile_reasons_for_rejecting(hostile_app, seeded, reviewer_of):
    ids = pending_organisations(hostile_app, len(VALUES))
    token = hidden_fields(reviewer_of.get(f"/review/submissions/{ids[0]}").get_data(as_text=True))["csrf_token"]
    baseline = tag_counts(reviewer_of.get(f"/review/submissions/{ids[0]}").get_data(as_text=True))
    writes = Writes(seeded.intake_db)
    for submission_id, (value_id, value) in zip(ids, VALUES, strict=True):
        response = reviewer_of.post(f"/review/submissions/{submission_id}/reject", data={"csrf_token": token,
                                                                                          "reason": value})  # fmt: skip
        assert_no_error_page(response, f"reject {value_id}")
        assert response.status_code in (303, 413), (value_id, response.status_code)
        page = reviewer_of.get(response.headers.get("Location") or f"/review/submissions/{submission_id}")
        body = assert_no_error_page(page, value_id)
        rejected = "Rejected." in body
        assert writes.changed() == rejected, f"reject {value_id}: written {not rejected}, shown {rejected}"
        if rejected:
            assert value.strip() and len(value) <= 2000, f"reject {value_id}: an empty or too long reason accepted"
            history = assert_no_error_page(reviewer_of.get(f"/review/submissions/{submission_id}"), value_id)
            if MARKUP.search(value):
                assert inert_problems(history, baseline=baseline) == [], value_id
        else:
            assert not value.strip() or len(value) > 2000, f"reject {value_id}: a good reason refused"


@pytest.mark.slow
def test_hostile_edits_by_a_reviewer(hostile_app, seeded, reviewer_of):
    client = hostile_app.test_client()
    base = relationship_base(seeded)
    page = client.get("/submit/relationship").get_data(as_text=True)
    response = client.post("/submit/relationship", data={**hidden_fields(page), **base})
    assert response.status_code == 303
    [(submission_id, _)] = stored_submissions(seeded, [response.headers["Location"].rsplit("/", 1)[1]]).values()
    url = f"/review/submissions/{submission_id}"
    page = reviewer_of.get(url).get_data(as_text=True)
    token, baseline = hidden_fields(page)["csrf_token"], tag_counts(page)
    free_fields = FORMS["relationship"][1]
    writes = Writes(seeded.intake_db)
    saved = 0
    for value_id, value in VALUES:
        data = {**base, **dict.fromkeys(free_fields, value), "csrf_token": token}
        data["client-name"] = f"{value} {uuid.uuid4().hex[:6]}"
        response = reviewer_of.post(f"{url}/edit", data=data)
        body = assert_no_error_page(response, f"edit {value_id}")
        assert response.status_code in (303, 422, 413), (value_id, response.status_code)
        if response.status_code == 303:
            saved += 1
            assert writes.changed(), value_id
            body = assert_no_error_page(reviewer_of.get(url), value_id)
            assert "Changes saved" in body
        else:
            assert not writes.changed(), f"edit {value_id}: refused, but something was written"
        if MARKUP.search(value):
            assert inert_problems(body, baseline=baseline) == [], value_id
    assert 0 < saved < len(VALUES)


def test_hostile_approval_notes(hostile_app, seeded, reviewer_of):
    ids = pending_organisations(hostile_app, len(REPRESENTATIVE))
    token = hidden_fields(reviewer_of.get(f"/review/submissions/{ids[0]}").get_data(as_text=True))["csrf_token"]
    for submission_id, value in zip(ids, REPRESENTATIVE, strict=True):
        response = reviewer_of.post(f"/review/submissions/{submission_id}/approve", data={"csrf_token": token,
                                                                                           "note": value})  # fmt: skip
        assert response.status_code == 303
        page = assert_no_error_page(reviewer_of.get(f"/review/submissions/{submission_id}"), value)
        assert "approved" in page
        assert inert_problems(page) == [], value
