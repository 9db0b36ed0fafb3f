"""`registry serve` as a real process: both servers answer, then stop cleanly."""

from __future__ import annotations

import http.client
import os
import socket
import sqlite3
import subprocess
import time

import httpx
import pytest

from tests.conftest import REGISTRY, free_port, query, serving


def port_is_closed(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as s:
        return s.connect_ex((host, int(port))) != 0


@pytest.mark.slow
def test_serve_answers_on_both_ports_then_stops(seeded):
    with serving(seeded) as served:
        home = httpx.get(f"{served.intake}/", timeout=5)
        assert home.status_code == 200
        assert 'data-count="relationships">28<' in home.text
        assert f"{served.datasette}/registry/relationships" in home.text
        table = httpx.get(f"{served.datasette}/registry/relationships.json?_size=0", timeout=5)
        assert table.status_code == 200
        assert table.json()["filtered_table_rows_count"] == 28
    assert served.process.returncode == 0, served.output
    assert f"Intake app: {served.intake}/" in served.output
    assert f"Datasette:  {served.datasette}/registry/relationships" in served.output
    assert "Stopped both servers." in served.output
    assert port_is_closed(served.intake)
    assert port_is_closed(served.datasette)


def test_serve_without_databases_says_what_to_run(instance):
    env = {**os.environ, "REGISTRY_INSTANCE": str(instance.instance)}
    result = subprocess.run(
        [str(REGISTRY), "serve", "--port", str(free_port())], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 1
    assert "registry.db: not found (run `registry init` and `registry publish`)" in result.stderr


@pytest.mark.slow
def test_serve_removes_an_import_its_last_run_left_unfinished(seeded):
    conn = sqlite3.connect(seeded.intake_db)
    with conn:
        conn.execute(
            "insert into submissions (reference, kind, status, payload, created_at) "
            "values ('S-DEADBEEF00', 'import', 'importing', '{}', '2026-01-01T00:00:00Z')"
        )
    conn.close()
    with serving(seeded) as served:
        assert httpx.get(f"{served.intake}/", timeout=5).status_code == 200
    assert "Removed the unfinished import S-DEADBEEF00" in served.output
    assert query(seeded.intake_db, "select count(*) from submissions where reference = 'S-DEADBEEF00'") == [(0,)]


@pytest.mark.slow
def test_a_worker_keeps_no_more_idle_connections_than_threads(seeded, monkeypatch):
    """SharingThreadWorker: past `threads` idle kept-alive connections, a worker answers with
    "Connection: close", so that the client's next connection may go to another worker
    (gthread alone would keep about a thousand)."""
    monkeypatch.setenv("REGISTRY_WORKERS", "1")
    monkeypatch.setenv("REGISTRY_THREADS", "1")
    with serving(seeded) as served:
        host, port = served.intake.removeprefix("http://").split(":")
        first, second = http.client.HTTPConnection(host, int(port)), http.client.HTTPConnection(host, int(port))
        try:
            first.request("GET", "/submit")
            answer = first.getresponse()
            answer.read()
            assert answer.status == 200 and answer.getheader("Connection", "").lower() != "close"
            time.sleep(0.3)  # the worker's main thread puts the first connection among its idle ones
            second.request("GET", "/submit")
            answer = second.getresponse()
            answer.read()
            assert answer.status == 200
            assert answer.getheader("Connection", "").lower() == "close"  # one idle connection already kept
            first.request("GET", "/submit")  # the first one is still served, and kept
            answer = first.getresponse()
            answer.read()
            assert answer.status == 200 and answer.getheader("Connection", "").lower() != "close"
        finally:
            first.close()
            second.close()
