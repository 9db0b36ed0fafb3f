"""`registry serve` as a real process: both servers answer, then stop cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REGISTRY = Path(sys.executable).with_name("registry")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, timeout: float = 30) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read()
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout}s")


def port_is_closed(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_serve_answers_on_both_ports_then_stops(seeded):
    port, datasette_port = free_port(), free_port()
    env = {**os.environ, "REGISTRY_INSTANCE": str(seeded.instance)}
    process = subprocess.Popen(
        [str(REGISTRY), "serve", "--port", str(port), "--datasette-port", str(datasette_port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        home = wait_for(f"http://127.0.0.1:{port}/", process)
        assert home.status_code == 200
        assert 'data-count="relationships">29<' in home.text
        assert f"http://127.0.0.1:{datasette_port}/registry/relationships" in home.text
        table = wait_for(f"http://127.0.0.1:{datasette_port}/registry/relationships.json?_size=0", process)
        assert table.status_code == 200
        assert table.json()["filtered_table_rows_count"] == 29
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert f"Intake app: http://127.0.0.1:{port}/" in output
    assert f"Datasette:  http://127.0.0.1:{datasette_port}/registry/relationships" in output
    assert "Stopped both servers." in output
    assert port_is_closed(port)
    assert port_is_closed(datasette_port)


def test_serve_without_databases_says_what_to_run(instance):
    env = {**os.environ, "REGISTRY_INSTANCE": str(instance.instance)}
    result = subprocess.run(
        [str(REGISTRY), "serve", "--port", str(free_port())], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 1
    assert "registry.db: not found (run `registry init` and `registry publish`)" in result.stderr
