"""Reviewer sessions end when the settings say and at logout, on the server; login
throttling slows guessing without letting a stranger lock a reviewer out (issue 18,
finding 8)."""

from __future__ import annotations

import datetime as dt
import email.utils
import os
import shutil
import time

import httpx
import pytest
from flask.sessions import SecureCookieSessionInterface

from registry import create_app
from registry.web.throttle import DEVICE_COOKIE

from .conftest import REVIEWER_PASSWORD, dump, hidden_fields, post_form, query, serving, small_disk, text

HOUR = 3600.0


class Clock:
    """The time the app judges sessions by; a test moves it."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_app(monkeypatch, clock=None, **env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = {"TESTING": True, "DATASETTE_URL": "http://datasette.test"}
    if clock is not None:
        config["CLOCK"] = clock
    return create_app(config)


def log_in(client, name="alice", password=REVIEWER_PASSWORD, address=None):
    token = hidden_fields(client.get("/login").get_data(as_text=True))
    headers = {"X-Forwarded-For": address} if address else {}
    return client.post("/login", data={**token, "name": name, "password": password}, headers=headers)


def can_review(client) -> bool:
    response = client.get("/review")
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


# Sessions: lifetime and idle timeout, judged by the server


def test_a_session_ends_at_its_lifetime_however_active(monkeypatch, reviewer):
    clock = Clock()
    client = make_app(monkeypatch, clock).test_client()
    assert log_in(client).status_code == 303
    for _ in range(15):  # a request every 30 minutes: never idle, for 7.5 hours
        clock.advance(0.5 * HOUR)
        assert can_review(client)
    clock.advance(0.5 * HOUR - 1)
    assert can_review(client)  # 8 hours less a second after login
    clock.advance(1)
    assert not can_review(client)  # 8 hours after login: over, though the cookie is still signed
    assert client.get("/review").headers["Location"].startswith("/login")


def test_the_lifetime_follows_the_setting(monkeypatch, reviewer):
    clock = Clock()
    client = make_app(monkeypatch, clock, REGISTRY_SESSION_HOURS="2", REGISTRY_SESSION_IDLE_MINUTES="0").test_client()
    assert log_in(client).status_code == 303
    clock.advance(2 * HOUR - 1)
    assert can_review(client)  # no idle timeout with 0
    clock.advance(1)
    assert not can_review(client)


def test_a_session_ends_after_an_hour_without_a_request(monkeypatch, reviewer):
    clock = Clock()
    client = make_app(monkeypatch, clock).test_client()
    assert log_in(client).status_code == 303
    clock.advance(59 * 60)
    assert can_review(client)  # 59 minutes idle: still on, and the hour starts again
    clock.advance(59 * 60)
    assert can_review(client)
    clock.advance(60 * 60)
    assert not can_review(client)


def test_a_form_posted_after_the_session_ended_goes_to_login_not_form_expired(monkeypatch, reviewer, seeded):
    clock = Clock()
    client = make_app(monkeypatch, clock).test_client()
    assert log_in(client).status_code == 303
    page = client.get("/review").get_data(as_text=True)
    before = query(seeded.intake_db, "select count(*) from ended_sessions")
    clock.advance(9 * HOUR)
    response = client.post("/review/submissions/1/reject", data={**hidden_fields(page), "reason": "spam"})
    assert response.status_code == 302  # the CSRF token survived the session's end
    assert response.headers["Location"].startswith("/login?next=")
    assert client.post("/logout", data=hidden_fields(page)).status_code == 303
    assert query(seeded.intake_db, "select count(*) from ended_sessions") == before  # nothing to end


def test_the_session_cookie_expires_when_the_server_ends_the_session(monkeypatch, reviewer):
    clock = Clock()
    client = make_app(monkeypatch, clock).test_client()
    response = log_in(client)
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    expires = email.utils.parsedate_to_datetime(cookie.split("Expires=")[1].split(";")[0]).timestamp()
    assert abs(expires - (clock.now + HOUR)) < 2  # the idle timeout comes first; not 31 days


def test_a_cookie_of_the_old_shape_is_refused(monkeypatch, reviewer):
    """Cookies issued before sessions had ids (valid for 31 days) no longer let anyone in."""
    app = make_app(monkeypatch)
    client = app.test_client()
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    client.set_cookie("session", serializer.dumps({"user_id": reviewer["id"]}))
    assert not can_review(client)


def test_logging_in_writes_nothing_to_intake_db(monkeypatch, reviewer, seeded):
    """So a full disk does not stop a reviewer getting in to clean up (finding 5)."""
    client = make_app(monkeypatch).test_client()
    before = dump(seeded.intake_db)
    assert log_in(client, password="wrong password!").status_code == 200
    assert log_in(client).status_code == 303
    assert can_review(client)
    assert dump(seeded.intake_db) == before


def fill(folder) -> None:
    """Write a file until the filesystem has no byte left."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError:
        pass
    finally:
        os.close(fd)


def test_a_reviewer_logs_in_on_a_full_disk_and_is_told_when_logout_cannot_be_recorded(
    monkeypatch, reviewer, seeded, tmp_path
):
    """As under `registry serve`, whose worker threads keep their connection to intake.db
    (a new connection cannot open a WAL database on a full disk: the disk helpers' part).
    Rate-limit counters in memory here: their store on a full disk is another part's."""
    size_kb = (seeded.intake_db.stat().st_size + seeded.registry_db.stat().st_size) // 1024 + 400
    with small_disk(tmp_path / "small", f"{size_kb}k") as mount:
        for name in ("intake.db", "registry.db"):
            shutil.copy(seeded.instance / name, mount / name)
        monkeypatch.setenv("REGISTRY_INSTANCE", str(mount))
        monkeypatch.setenv("REGISTRY_SECRET_KEY", "k" * 64)
        monkeypatch.setenv("REGISTRY_RATELIMIT_STORAGE", "memory://")
        app = create_app({"TESTING": True, "DATASETTE_URL": "http://datasette.test", "REUSE_CONNECTIONS": True})
        browser = app.test_client()
        assert browser.get("/submit/relationship").status_code == 200  # the thread's connection opens
        fill(mount)
        assert log_in(browser).status_code == 303  # logging in writes nothing
        page = browser.get("/review")
        assert page.status_code == 200
        response = browser.post("/logout", data=hidden_fields(page.get_data(as_text=True)))
        assert response.status_code == 507
        assert "out of space" in text(response)
        assert not can_review(browser)  # the browser's cookie is gone all the same
        app.extensions["registry_connections"].db.close()


# Logout ends the session on the server


def test_a_cookie_replayed_after_logout_is_refused(monkeypatch, reviewer, seeded):
    app = make_app(monkeypatch)
    browser = app.test_client()
    assert log_in(browser).status_code == 303
    saved = browser.get_cookie("session")
    assert saved is not None
    assert post_form(browser, "/logout", {}, form_url="/review").status_code == 303
    assert not can_review(browser)
    thief = app.test_client()
    thief.set_cookie("session", saved.value)
    assert not can_review(thief)
    assert thief.post("/review/submissions/1/reject", data={"reason": "x"}).status_code in (302, 400)
    rows = query(seeded.intake_db, "select user_id, ended_at < expires_at from ended_sessions")
    assert rows == [(reviewer["id"], 1)]


def test_logout_ends_that_session_only(monkeypatch, reviewer):
    app = make_app(monkeypatch)
    laptop, desktop = app.test_client(), app.test_client()
    assert log_in(laptop).status_code == 303
    assert log_in(desktop).status_code == 303
    assert post_form(laptop, "/logout", {}, form_url="/review").status_code == 303
    assert not can_review(laptop)
    assert can_review(desktop)


def test_a_new_login_is_a_new_session(monkeypatch, reviewer):
    """Logging in again after logout works, and the old session stays ended."""
    app = make_app(monkeypatch)
    browser = app.test_client()
    assert log_in(browser).status_code == 303
    first = browser.get_cookie("session")
    assert first is not None
    post_form(browser, "/logout", {}, form_url="/review")
    assert log_in(browser).status_code == 303
    assert can_review(browser)
    replay = app.test_client()
    replay.set_cookie("session", first.value)
    assert not can_review(replay)


def test_served_cookie_lasts_the_configured_hours_and_dies_at_logout(monkeypatch, reviewer, seeded):
    """Against `registry serve` (gunicorn, several workers): the cookie's lifetime is the
    setting's, not Flask's 31 days, and a copy replayed after logout is refused."""
    monkeypatch.setenv("REGISTRY_SESSION_IDLE_MINUTES", "0")  # the cookie then lasts the 8 hours
    with serving(seeded) as served, httpx.Client(base_url=served.intake, timeout=30) as browser:
        token = hidden_fields(browser.get("/login").text)
        before = time.time()
        response = browser.post("/login", data={**token, "name": "alice", "password": REVIEWER_PASSWORD})
        assert response.status_code == 303
        session = next(c for c in response.headers.get_list("set-cookie") if c.startswith("session="))
        expires = email.utils.parsedate_to_datetime(session.split("Expires=")[1].split(";")[0])
        lifetime = expires - dt.datetime.fromtimestamp(before, dt.UTC)
        assert dt.timedelta(hours=8) - dt.timedelta(seconds=5) <= lifetime <= dt.timedelta(hours=8, seconds=5)
        saved = browser.cookies["session"]
        assert browser.get("/review").status_code == 200
        logout = browser.post("/logout", data=hidden_fields(browser.get("/review").text))
        assert logout.status_code == 303
        for _ in range(6):  # whichever worker answers
            replay = httpx.get(f"{served.intake}/review", cookies={"session": saved}, timeout=30)
            assert replay.status_code == 302


# Throttling: guessing slowed, the reviewer's own browser never locked out

ADDRESSES = {"REGISTRY_PROXIES": "1"}  # the tests name the client's address in X-Forwarded-For


def test_strangers_failures_do_not_lock_the_reviewer_out_of_their_browser(monkeypatch, reviewer):
    app = make_app(monkeypatch, **ADDRESSES)
    reviewer_browser = app.test_client()
    assert log_in(reviewer_browser, address="203.0.113.5").status_code == 303
    assert reviewer_browser.get_cookie(DEVICE_COOKIE, path="/login") is not None
    post_form(reviewer_browser, "/logout", {}, form_url="/review")
    attacker = app.test_client()
    statuses = [log_in(attacker, password=f"guess {n}", address=f"198.51.100.{n}").status_code for n in range(20)]
    # the account's allowance for new browsers, 5 a minute (the reviewer's first login was one)
    assert statuses == [200] * 4 + [429] * 16
    assert log_in(reviewer_browser, address="203.0.113.5").status_code == 303
    assert can_review(reviewer_browser)


def test_a_stranger_at_the_reviewers_address_does_not_lock_them_out(monkeypatch, reviewer):
    """A newsroom's shared address: the stranger's failures use up the address's allowance,
    not the reviewer's."""
    app = make_app(monkeypatch, **ADDRESSES)
    reviewer_browser = app.test_client()
    assert log_in(reviewer_browser, address="192.0.2.1").status_code == 303  # once, from home
    post_form(reviewer_browser, "/logout", {}, form_url="/review")
    attacker = app.test_client()
    statuses = [log_in(attacker, f"user{n}", "guess", address="203.0.113.5").status_code for n in range(12)]
    assert statuses == [200] * 10 + [429] * 2  # the address's allowance: 10 a minute
    assert log_in(reviewer_browser, address="203.0.113.5").status_code == 303


def test_guessing_one_account_from_many_addresses_is_slowed(monkeypatch, reviewer):
    app = make_app(monkeypatch, **ADDRESSES)
    attacker = app.test_client()
    statuses = [log_in(attacker, password=f"guess {n}", address=f"198.51.100.{n}").status_code for n in range(7)]
    assert statuses == [200] * 5 + [429] * 2
    # a browser that never logged in to the account waits too, even with the right
    # password: what the attacker can still do (SECURITY.md); it is told what to do
    refused = log_in(app.test_client(), address="192.0.2.77")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "log in from a browser you have used for it" in text(refused)


def test_guessing_many_accounts_from_one_address_is_slowed(monkeypatch, reviewer):
    app = make_app(monkeypatch, **ADDRESSES)
    attacker = app.test_client()
    statuses = [log_in(attacker, f"user{n}", "guess", address="198.51.100.1").status_code for n in range(11)]
    assert statuses == [200] * 10 + [429]


def test_a_known_browser_has_its_own_allowance(monkeypatch, reviewer):
    """Mistypings in the reviewer's browser are limited too (a stolen device cookie buys
    few guesses) and do not use up the account's allowance for other browsers."""
    app = make_app(monkeypatch, **ADDRESSES)
    reviewer_browser = app.test_client()
    assert log_in(reviewer_browser, address="203.0.113.5").status_code == 303
    post_form(reviewer_browser, "/logout", {}, form_url="/review")
    statuses = [log_in(reviewer_browser, password=f"typo {n}", address="203.0.113.5").status_code for n in range(6)]
    assert statuses == [200] * 5 + [429]
    assert log_in(reviewer_browser, address="203.0.113.5").status_code == 429  # this browser waits
    assert log_in(app.test_client(), address="192.0.2.8").status_code == 303  # a new browser does not


@pytest.mark.parametrize(
    "cookie",
    [
        "forged",
        "eyJhY2NvdW50IjoiYWxpY2UiLCJub25jZSI6IngifQ.aaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbb",  # a bad signature
    ],
)
def test_a_forged_device_cookie_is_a_stranger(monkeypatch, reviewer, cookie):
    app = make_app(monkeypatch, **ADDRESSES)
    attacker = app.test_client()
    attacker.set_cookie(DEVICE_COOKIE, cookie, path="/login")
    statuses = [log_in(attacker, password=f"guess {n}", address=f"198.51.100.{n}").status_code for n in range(6)]
    assert statuses == [200] * 5 + [429]


def test_a_device_cookie_of_one_account_is_a_stranger_to_another(monkeypatch, reviewer, seeded):
    from registry.services.accounts import create_user
    from registry.store.connection import connect

    db = connect(seeded.intake_db)
    create_user(db, "bob", "another long password", "reviewer")
    db.close()
    app = make_app(monkeypatch, **ADDRESSES)
    alices_browser = app.test_client()
    assert log_in(alices_browser, address="203.0.113.5").status_code == 303
    statuses = [log_in(alices_browser, "bob", f"guess {n}", address=f"198.51.100.{n}").status_code for n in range(6)]
    assert statuses == [200] * 5 + [429]  # bob's allowance for strangers, not alice's device's
