"""Finding 8 of issue 18, replayed: a saved session cookie replayed after logout, a
reviewer locked out by strangers' wrong passwords, and password guessing from many
addresses (what each guess costs the server: argon2 runs only for the guesses let through).

The statuses returned are the anonymous requests'; whether the reviewer got in is
printed, since the harness judges cost, not outcome (tests/test_sessions.py asserts it)."""

from __future__ import annotations

import sys

import httpx

from attacks.harness import PASSWORD, REVIEWER, Attack, Server

ENV = {"REGISTRY_PROXIES": "1"}  # the attacker's addresses are named in X-Forwarded-For

_reviewer_browser: dict[str, httpx.Client] = {}


def _log_in(server: Server, client: httpx.Client, name: str, password: str, address: str | None = None) -> int:
    headers = {"X-Forwarded-For": address} if address else {}
    data = {"csrf_token": server.token(client, "/login"), "name": name, "password": password}
    return client.post("/login", data=data, headers=headers).status_code


def _say(line: str) -> None:
    print(f"  sessions: {line}", file=sys.stderr, flush=True)


def saved_cookie_setup(server: Server) -> None:
    """The reviewer logs in from their browser (which keeps its device cookie), copies the
    session cookie, and logs out."""
    browser = httpx.Client(base_url=server.intake, timeout=60)
    assert _log_in(server, browser, REVIEWER, PASSWORD, "203.0.113.5") == 303
    _reviewer_browser["cookie"] = httpx.Client(cookies={"session": browser.cookies["session"]})
    browser.post("/logout", data={"csrf_token": server.token(browser, "/review")})
    _reviewer_browser["browser"] = browser


def saved_cookie_replay(server: Server) -> list[int]:
    """20 requests to the review queue with the cookie saved before logout."""
    saved = _reviewer_browser["cookie"].cookies["session"]
    statuses = [
        server.anonymous.get("/review", cookies={"session": saved}, follow_redirects=False).status_code
        for _ in range(20)
    ]
    _say(f"replayed cookie after logout: {statuses.count(200)} of 20 let in (want 0)")
    return statuses


def lockout(server: Server) -> list[int]:
    """20 wrong passwords for the reviewer from 20 addresses, then the reviewer logs in
    from the browser they used before."""
    with httpx.Client(base_url=server.intake, timeout=60) as attacker:
        statuses = [_log_in(server, attacker, REVIEWER, f"guess {n}", f"198.51.100.{n}") for n in range(20)]
    reviewer = _log_in(server, _reviewer_browser["browser"], REVIEWER, PASSWORD, "203.0.113.5")
    _say(f"after 20 strangers' failures the reviewer's own login answered {reviewer} (want 303)")
    return statuses


def guessing(server: Server) -> list[int]:
    """200 guesses at one account name from 200 addresses: the account's allowance for
    unknown browsers lets 5 through a minute, the rest cost a refusal."""
    with httpx.Client(base_url=server.intake, timeout=60) as attacker:
        statuses = [_log_in(server, attacker, "editor", f"guess {n}", f"192.0.2.{n % 250}") for n in range(200)]
    _say(f"200 guesses from 200 addresses: {statuses.count(200)} checked, {statuses.count(429)} refused")
    return statuses


ATTACKS = [
    Attack("session cookie replayed after logout, 20 requests", "8", saved_cookie_replay, saved_cookie_setup),
    Attack("20 wrong passwords for a reviewer from 20 addresses, then the reviewer logs in", "8", lockout),
    Attack("200 password guesses at one account from 200 addresses", "8", guessing),
]
