"""Hostile requests to the intake app: expired or forged CSRF tokens, cross-site posts,
open redirects, fields the forms do not offer, floods of fields and requests, errors.
Each is answered with a clear 4xx page and changes nothing."""

from __future__ import annotations

import re
import time
from urllib.parse import urljoin, urlsplit

import pytest

from registry import create_app
from tests.conftest import dump, hidden_fields, post_form, query, text
from tests.test_submit import count_submissions
from tests.test_submit import relationship_data as relationship_data  # a fixture


@pytest.fixture
def relationship(relationship_data):
    return relationship_data


def make_client(monkeypatch, **env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return create_app({"TESTING": True, "DATASETTE_URL": "http://datasette.test"}).test_client()


@pytest.mark.slow
def test_an_expired_csrf_token_is_refused_and_stores_nothing(seeded, relationship):
    app = create_app({"TESTING": True, "DATASETTE_URL": "http://datasette.test", "WTF_CSRF_TIME_LIMIT": 1})
    client = app.test_client()
    page = client.get("/submit/relationship").get_data(as_text=True)
    time.sleep(2.1)  # the token's one second is over
    response = client.post("/submit/relationship", data={**hidden_fields(page), **relationship})
    assert response.status_code == 400
    assert "The form expired" in text(response)
    assert "reload the page" in text(response)
    assert count_submissions(seeded) == 0


def test_a_token_from_another_session_is_refused(seeded, client, relationship):
    other = create_app({"TESTING": True, "DATASETTE_URL": "http://datasette.test"}).test_client()
    stolen = hidden_fields(other.get("/submit/relationship").get_data(as_text=True))
    client.get("/submit/relationship")  # this client has a session of its own
    response = client.post("/submit/relationship", data={**stolen, **relationship})
    assert response.status_code == 400
    assert count_submissions(seeded) == 0


def test_a_cross_site_post_without_the_token_changes_nothing(seeded, reviewer_client):
    """A page elsewhere posting to the review app with the reviewer's cookie (if a browser
    sent it) has no token: refused, nothing approved or rejected."""
    before = dump(seeded.intake_db)
    for url, data in (
        ("/review/submissions/1/approve", {}),
        ("/review/submissions/1/reject", {"reason": "cross-site"}),
        ("/logout", {}),
        ("/submit/organisation", {"name": "Evil Corp", "kind": "company", "sector": "technology"}),
    ):
        response = reviewer_client.post(url, data=data, headers={"Origin": "https://evil.example"})
        assert response.status_code in (303, 400), url
        if response.status_code == 303:  # logout without a token just goes home, still logged in
            assert response.headers["Location"] == "/"
    assert dump(seeded.intake_db) == before
    assert reviewer_client.get("/review").status_code == 200  # still logged in


OPEN_REDIRECTS = [
    "https://evil.example/",
    "//evil.example/x",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "https:evil.example",
    "%2F%2Fevil.example",
    "/%2F/evil.example",
    "\t//evil.example",
    " //evil.example",
    "/\t/evil.example",
    "//evil.example@localhost",
    "http://localhost@evil.example",
    "/review\r\nLocation: https://evil.example",
]


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
def test_no_next_parameter_leads_off_site(client, reviewer, target):
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login",
        query_string={"next": target},
        data={**hidden_fields(page), "name": "alice", "password": reviewer["password"]},
    )
    assert response.status_code == 303
    location = response.headers["Location"]
    # what a browser makes of it: tabs and newlines dropped, backslashes read as slashes
    seen = location.replace("\t", "").replace("\n", "").replace("\r", "").replace("\\", "/")
    resolved = urlsplit(urljoin("http://registry.test/login", seen))
    assert (resolved.scheme, resolved.netloc) == ("http", "registry.test"), location


def test_a_next_path_on_this_site_is_followed(client, reviewer):
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login?next=/review/audit", data={**hidden_fields(page), "name": "alice", "password": reviewer["password"]}
    )
    assert response.headers["Location"] == "/review/audit"


def test_fields_the_form_does_not_offer_are_ignored(client, seeded, relationship):
    extra = {"status": "approved", "id": "1", "reference": "S-0000000000", "payload": "{}", "reviewed_by": "1"}
    response = post_form(client, "/submit/relationship", {**relationship, **extra})
    assert response.status_code == 303
    reference = response.headers["Location"].rsplit("/", 1)[1]
    assert reference != "S-0000000000"
    [(status, payload)] = query(
        seeded.intake_db, "select status, payload from submissions where reference = ?", [reference]
    )
    assert status == "pending"
    assert '"reviewed_by"' not in payload and '"approved"' not in payload
    assert query(seeded.intake_db, "select count(*) from relationships where status = 'approved'") == query(
        seeded.registry_db, "select count(*) from relationships"
    )


def test_other_submissions_cannot_be_guessed(client, seeded, relationship):
    response = post_form(client, "/submit/relationship", relationship)
    reference = response.headers["Location"].rsplit("/", 1)[1]
    assert reference.startswith("S-") and len(reference) >= 12  # random, not a counter
    for guess in ("S-0000000001", reference[:-1] + ("0" if reference[-1] != "0" else "1"), "1", "../1"):
        assert client.get(f"/submitted/{guess}").status_code == 404, guess
    for path in ("/review/submissions/1", "/review/submissions/2/approve"):
        assert client.get(path).status_code in (302, 405)


def test_thousands_of_fields_are_answered_without_error(client, seeded, relationship):
    page = client.get("/submit/relationship").get_data(as_text=True)
    flood = {f"field{i}": "x" for i in range(5000)}
    started = time.monotonic()
    response = client.post("/submit/relationship", data={**hidden_fields(page), **flood})
    assert time.monotonic() - started < 5
    assert response.status_code == 422
    assert "Give the organisation's name." in text(response)
    assert "Say in one sentence what the sources show." in text(response)
    # as multipart, werkzeug's part limit answers 413 before any form code runs
    files = {f"f{i}": "x" for i in range(1500)}
    response = client.post(
        "/submit/relationship", data={**hidden_fields(page), **files}, content_type="multipart/form-data"
    )
    assert response.status_code == 413
    assert count_submissions(seeded) == 0


def test_submissions_are_rate_limited_per_address_with_a_retry_hint(monkeypatch, seeded, relationship):
    client = make_client(monkeypatch, REGISTRY_SUBMIT_LIMIT="3 per minute")
    statuses = []
    for n in range(5):
        response = post_form(client, "/submit/relationship", {**relationship, "client-name": f"Rate Test Agency {n}"})
        statuses.append(response.status_code)
    assert statuses == [303, 303, 303, 429, 429]
    wait = int(response.headers["Retry-After"])
    assert wait > 0
    assert "Too many requests" in text(response)
    assert "3 per 1 minute" in text(response)
    said = re.search(r"Send it again in (\d+) seconds?\.", text(response))  # the page says it in words
    assert said and abs(int(said.group(1)) - wait) <= 2, text(response)
    assert count_submissions(seeded) == 3
    assert client.get("/submit/relationship").status_code == 200  # reading the form is not limited


def test_the_submission_limit_is_per_address(monkeypatch, seeded, relationship):
    client = make_client(monkeypatch, REGISTRY_SUBMIT_LIMIT="1 per minute", REGISTRY_PROXIES="1")
    first = {"X-Forwarded-For": "192.0.2.1"}
    second = {"X-Forwarded-For": "192.0.2.2"}
    page = hidden_fields(client.get("/submit/relationship").get_data(as_text=True))
    data = {**page, **relationship}
    assert client.post("/submit/relationship", data=data, headers=first).status_code == 303
    data = {**data, "idempotency_key": "another", "client-name": "Another Agency"}
    assert client.post("/submit/relationship", data=data, headers=first).status_code == 429
    assert client.post("/submit/relationship", data=data, headers=second).status_code == 303


def test_login_is_rate_limited_per_account_across_addresses(monkeypatch, reviewer):
    client = make_client(
        monkeypatch,
        REGISTRY_LOGIN_LIMIT="100 per minute",
        REGISTRY_LOGIN_ACCOUNT_LIMIT="3 per minute",
        REGISTRY_PROXIES="1",
    )
    token = hidden_fields(client.get("/login").get_data(as_text=True))
    statuses = []
    for n in range(5):
        response = client.post(
            "/login",
            data={**token, "name": "alice", "password": f"guess {n}"},
            headers={"X-Forwarded-For": f"198.51.100.{n}"},
        )
        statuses.append(response.status_code)
    assert statuses == [200, 200, 200, 429, 429]
    # even the right password waits: the account is limited, whoever asks
    right = {**token, "name": "alice", "password": reviewer["password"]}
    assert client.post("/login", data=right, headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 429
    # another account is not
    other = {**token, "name": "bob", "password": "x"}
    assert client.post("/login", data=other, headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 200


def test_login_is_rate_limited_per_address(monkeypatch, reviewer):
    client = make_client(
        monkeypatch, REGISTRY_LOGIN_LIMIT="2 per minute", REGISTRY_LOGIN_ACCOUNT_LIMIT="100 per minute"
    )
    token = hidden_fields(client.get("/login").get_data(as_text=True))
    statuses = [
        client.post("/login", data={**token, "name": f"user{n}", "password": "x"}).status_code for n in range(4)
    ]
    assert statuses == [200, 200, 429, 429]


def test_limits_are_shared_by_worker_processes(monkeypatch, seeded, relationship):
    """Two apps (as two gunicorn workers would build) count against one store."""
    first = make_client(monkeypatch, REGISTRY_SUBMIT_LIMIT="2 per minute")
    second = make_client(monkeypatch, REGISTRY_SUBMIT_LIMIT="2 per minute")
    assert post_form(first, "/submit/relationship", relationship).status_code == 303
    other = {**relationship, "client-name": "Second Worker Agency"}
    assert post_form(second, "/submit/relationship", other).status_code == 303
    third = {**relationship, "client-name": "Third Agency"}
    assert post_form(first, "/submit/relationship", third).status_code == 429
    assert (seeded.instance / "ratelimit.db").exists()


def test_a_bad_rate_limit_setting_is_named(monkeypatch, instance):
    from registry.config import SettingsError, load_settings

    monkeypatch.setenv("REGISTRY_SUBMIT_LIMIT", "lots")
    with pytest.raises(SettingsError, match="REGISTRY_SUBMIT_LIMIT='lots' is not a rate limit"):
        load_settings()


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/no/such/page", 404),
        ("GET", "/submit/nonsense", 404),
        ("DELETE", "/submit/relationship", 405),
        ("GET", "/submitted/" + "A" * 5000, 404),
        ("GET", "/import/jobs/../../etc/passwd", 404),
        ("GET", "/review/submissions/99999999999999999999999", 404),
    ],
)
def test_errors_get_a_generic_page(client, seeded, method, path, status):
    response = client.open(path, method=method)
    assert response.status_code == status, path
    body = text(response)
    assert "Exposure registry" in body
    assert "Traceback" not in body and "werkzeug" not in body.lower()


def test_an_unexpected_error_shows_a_generic_page_and_no_detail(monkeypatch, seeded):
    monkeypatch.setenv("FLASK_DEBUG", "1")  # an operator's stray setting must not turn the debugger on
    app = create_app({"DATASETTE_URL": "http://datasette.test"})
    assert app.debug is False

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internal detail /etc/registry")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    body = text(response)
    assert "Something went wrong" in body
    assert "secret internal detail" not in body and "Traceback" not in body and "RuntimeError" not in body


def test_a_full_database_is_answered_507_and_nothing_is_half_written(monkeypatch, seeded, relationship):
    size = seeded.intake_db.stat().st_size
    client = make_client(
        monkeypatch, REGISTRY_MAX_DB_MB=str(size // (1024 * 1024) + 1), REGISTRY_SUBMIT_LIMIT="1000/minute"
    )
    big = "Long summary. " * 3000  # each submission adds ~3 KB: the cap (< 1 MB away) is reached within ~400
    statuses = []
    for n in range(600):
        response = post_form(
            client,
            "/submit/relationship",
            {**relationship, "client-name": f"Full Agency {n}", "summary": big[:1000], "notes": big[:2000]},
        )
        statuses.append(response.status_code)
        if response.status_code != 303:
            break
    assert statuses[-1] == 507, statuses
    assert "out of space" in text(response) and "nothing you sent was stored" in text(response)
    stored = count_submissions(seeded)
    assert stored == statuses.count(303)
    assert query(seeded.intake_db, "pragma integrity_check") == [("ok",)]
    # reading still works, and with room again (no cap), writing does too
    assert client.get("/").status_code == 200
    roomy = make_client(monkeypatch, REGISTRY_MAX_DB_MB="0")
    assert (
        post_form(roomy, "/submit/relationship", {**relationship, "client-name": "After Full Agency"}).status_code
        == 303
    )
