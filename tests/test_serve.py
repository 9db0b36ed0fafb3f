"""`registry serve` as a real process: both servers answer, then stop cleanly."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess

import httpx

from tests.conftest import REGISTRY, free_port, query, serving


def port_is_closed(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as s:
        return s.connect_ex((host, int(port))) != 0


def test_serve_answers_on_both_ports_then_stops(seeded):
    with serving(seeded) as served:
        home = httpx.get(f"{served.intake}/", timeout=5)
        assert home.status_code == 200
        assert 'data-count="relationships">29<' in home.text
        assert f"{served.datasette}/registry/relationships" in home.text
        table = httpx.get(f"{served.datasette}/registry/relationships.json?_size=0", timeout=5)
        assert table.status_code == 200
        assert table.json()["filtered_table_rows_count"] == 29
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
