"""The intake app as `registry serve` runs it (gunicorn): limits answered over real HTTP."""

from __future__ import annotations

import os

import httpx
import pytest

from tests.conftest import hidden_fields, serving

pytestmark = pytest.mark.slow


def test_limits_and_error_pages_over_http(seeded, monkeypatch):
    monkeypatch.setenv("REGISTRY_MAX_UPLOAD_MB", "1")
    monkeypatch.setenv("REGISTRY_SUBMIT_LIMIT", "2 per minute")
    monkeypatch.setenv("FLASK_DEBUG", "1")  # must not matter
    with serving(seeded) as served, httpx.Client(base_url=served.intake, timeout=30) as client:
        token = hidden_fields(client.get("/import").text)["csrf_token"]
        big = os.urandom(3 * 1024 * 1024)
        response = client.post("/import", data={"csrf_token": token}, files={"file": ("list.csv", big, "text/csv")})
        assert response.status_code == 413
        assert "too large" in response.text and "1 MB" in response.text

        statuses = []
        for _ in range(3):
            response = client.post("/import", data={"csrf_token": token}, files={"file": ("list.csv", b"", "text/csv")})
            statuses.append(response.status_code)
        assert statuses[-1] == 429, statuses  # the 413 counted too: 3 posts, a limit of 2
        assert int(response.headers["Retry-After"]) > 0

        missing = client.get("/no/such/page")
        assert missing.status_code == 404
        assert "Not found" in missing.text and "Werkzeug" not in missing.text
        assert missing.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in missing.headers["Content-Security-Policy"]
        assert missing.headers["Server"].lower().startswith("gunicorn")
        # a request line or a header beyond gunicorn's limits is refused before the app
        assert client.get("/" + "a" * 9000).status_code in (400, 414)
        headers = {f"X-Flood-{i}": "x" for i in range(150)}
        assert client.get("/", headers=headers).status_code == 431
    assert "Traceback" not in served.output
