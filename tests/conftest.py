"""Fixtures: a fresh instance folder per test, built with the real CLI."""

from __future__ import annotations

import contextlib
import html
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from registry import create_app
from registry.cli import cli
from registry.config import Settings, load_settings
from registry.services.accounts import create_user
from registry.store.connection import connect

ROOT = Path(__file__).resolve().parents[1]


def _shared_folder() -> Path:
    """Find ../shared (source documents and real data sets); tests fail loudly without it."""
    candidates = [Path(p) for p in [os.environ.get("REGISTRY_SHARED_DIR")] if p]
    candidates += [ROOT.parent / "shared", Path("/work/shared")]
    for folder in candidates:
        if (folder / "seeds").is_dir():
            return folder
    raise RuntimeError(f"shared data folder not found; looked in {', '.join(map(str, candidates))}")


SHARED = _shared_folder()


def chromium_executable() -> str | None:
    """The Chromium the browser tests drive: $REGISTRY_CHROMIUM (default Debian's
    /usr/bin/chromium) when it is there, else None, Playwright's own (`playwright install
    chromium`). scripts/ensure-browser, which `make test` runs first, installs one or the other."""
    path = os.environ.get("REGISTRY_CHROMIUM", "/usr/bin/chromium")
    return path if os.access(path, os.X_OK) else None


def invoke(*args: str):
    """Run a registry command and return click's result."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def dump(path: Path) -> list[str]:
    """Return the whole content of a database as SQL statements."""
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An instance initialised, seeded and published once per session, to copy from."""
    folder = tmp_path_factory.mktemp("seeded")
    mp = pytest.MonkeyPatch()
    mp.setenv("REGISTRY_INSTANCE", str(folder))
    try:
        for command in (("init",), ("seed",), ("publish",)):
            result = invoke(*command)
            assert result.exit_code == 0, result.output
    finally:
        mp.undo()
    return folder


@pytest.fixture(autouse=True)
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings pointing at an empty instance folder (every test gets one: none writes to ./instance)."""
    monkeypatch.setenv("REGISTRY_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.delenv("REGISTRY_SEED", raising=False)
    return load_settings()


@pytest.fixture
def seeded(instance: Settings, seeded_template: Path) -> Settings:
    """An instance with the seed data loaded and published."""
    shutil.copytree(seeded_template, instance.instance)
    return instance


@pytest.fixture
def app(seeded: Settings):
    return create_app({"TESTING": True, "DATASETTE_URL": "http://datasette.test"})


@pytest.fixture
def client(app):
    return app.test_client()


HIDDEN = re.compile(r'<input[^>]*name="(csrf_token|idempotency_key)"[^>]*value="([^"]*)"')


def hidden_fields(page: str) -> dict[str, str]:
    """The CSRF token and idempotency key a rendered form carries."""
    return {name: value for name, value in HIDDEN.findall(page)}


def post_form(client, url: str, data: dict, form_url: str | None = None):
    """GET the form (for its CSRF token and idempotency key) and POST `data` to `url`."""
    page = client.get(form_url or url).get_data(as_text=True)
    return client.post(url, data={**hidden_fields(page), **data})


def text(response) -> str:
    """A response's HTML with entities decoded, to compare with what a reader sees."""
    return html.unescape(response.get_data(as_text=True))


REVIEWER_PASSWORD = "correct horse battery staple"


@pytest.fixture
def reviewer(seeded: Settings) -> dict:
    """A reviewer account in the seeded instance."""
    db = connect(seeded.intake_db)
    try:
        user_id = create_user(db, "alice", REVIEWER_PASSWORD, "reviewer")
    finally:
        db.close()
    return {"id": user_id, "name": "alice", "password": REVIEWER_PASSWORD}


@pytest.fixture
def reviewer_client(client, reviewer):
    """A test client logged in as the reviewer."""
    response = post_form(client, "/login", {"name": reviewer["name"], "password": reviewer["password"]})
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


def query(path: Path, sql: str, params: tuple | list = ()) -> list[tuple]:
    """Rows of a query on a database file (each test opens and closes its own connection)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


REGISTRY = Path(sys.executable).with_name("registry")


@contextlib.contextmanager
def small_disk(folder: Path, size: str, why_else: str = "") -> Iterator[Path]:
    """A tmpfs of `size` (as mount's -o size=: "24m", "600k") mounted on `folder`, unmounted
    afterwards (lazily: a failed test's files may still be open). Skips where mounting is not
    allowed; `why_else` says which other test covers the case then."""
    folder.mkdir(parents=True, exist_ok=True)
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here ({made.stderr.decode().strip()}){why_else}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_answers(url: str, process: subprocess.Popen, log: Path, timeout: float = 30) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"`registry serve` exited early:\n{log.read_text(errors='replace')}")
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout}s")


@dataclass
class Served:
    intake: str
    datasette: str
    process: subprocess.Popen
    output: str = ""


@contextlib.contextmanager
def serving(settings: Settings) -> Iterator[Served]:
    """`registry serve` as a real process on free ports; stopped with SIGTERM whatever happens.
    Its output goes to a file (a pipe nobody reads would fill and stall the servers)."""
    port, datasette_port = free_port(), free_port()
    env = {**os.environ, "REGISTRY_INSTANCE": str(settings.instance)}
    log_path = settings.instance.parent / f"serve-{port}.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [str(REGISTRY), "serve", "--port", str(port), "--datasette-port", str(datasette_port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    served = Served(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{datasette_port}", process)
    try:
        wait_until_answers(f"{served.intake}/", process, log_path)
        wait_until_answers(f"{served.datasette}/registry/relationships.json?_size=0", process, log_path)
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        served.output = log_path.read_text(encoding="utf-8", errors="replace")


# The hostile-input tests post thousands of times from one address: limits raised, a
# reviewer logged in.


def make_hostile_app(monkeypatch):
    """The intake app with limits high enough for thousands of posts from one address."""
    monkeypatch.setenv("REGISTRY_SUBMIT_LIMIT", "1000000 per minute")
    monkeypatch.setenv("REGISTRY_LOGIN_LIMIT", "1000000 per minute")
    monkeypatch.setenv("REGISTRY_LOGIN_ACCOUNT_LIMIT", "1000000 per minute")
    monkeypatch.setenv("REGISTRY_MAPPING_LIMIT", "1000000 per minute")
    monkeypatch.setenv("REGISTRY_PREVIEW_LIMIT", "1000000 per minute")
    monkeypatch.setenv("REGISTRY_UPLOAD_QUOTA_FILES", "100000")
    return create_app({"TESTING": True, "DATASETTE_URL": "http://datasette.test"})


def logged_in(app, reviewer):
    """A client of `app`, logged in as the reviewer."""
    client = app.test_client()
    token = hidden_fields(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={**token, "name": reviewer["name"], "password": reviewer["password"]})
    assert response.status_code == 303
    return client


@pytest.fixture
def hostile_app(seeded, monkeypatch):
    return make_hostile_app(monkeypatch)


@pytest.fixture
def reviewer_of(hostile_app, reviewer):
    return logged_in(hostile_app, reviewer)
