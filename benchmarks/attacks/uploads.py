"""Replays of issue 18's finding 5 (uploads never deleted, a full disk answered 500 and
reviewers locked out) against the served registry, with its default settings.

The replay server's disk is not small, so what is replayed is what stops the disk from
filling: one address's anonymous uploads meet the quota (429) long before they fill
anything, the form and the reviewers' login go on answering, and the mapping page of an
upload is cheap (its first rows read once, at upload) and rate-limited. The full disk
itself is tested on a 24 MB tmpfs in tests/test_upload_lifecycle.py."""

from __future__ import annotations

import re
import subprocess

import httpx

from attacks.harness import PASSWORD, REGISTRY, REVIEWER, Attack, Server

THREE_MB = (
    b"name,country\n" + b"".join(b"Agency %07d with a long enough name,US\n" % i for i in range(80_000))[:3_000_000]
)
LOCATION = re.compile(r"/import/([A-Za-z0-9_-]+)$")


def _upload(server: Server, client: httpx.Client) -> httpx.Response:
    data = {"csrf_token": server.token(client, "/import"), "submitter_contact": "attacker@example.org"}
    return client.post("/import", data=data, files={"file": ("list.csv", THREE_MB, "text/csv")})


def fill_with_uploads(server: Server) -> list[int]:
    """Twelve 3 MB anonymous uploads from one address (7 filled a 24 MB disk before),
    then a contributor's form and a reviewer's login, which must still answer."""
    statuses = [_upload(server, server.anonymous).status_code for _ in range(12)]
    statuses.append(server.anonymous.get("/submit/relationship").status_code)
    with httpx.Client(base_url=server.intake, timeout=300) as reviewer:
        data = {"csrf_token": server.token(reviewer, "/login"), "name": REVIEWER, "password": PASSWORD}
        statuses.append(reviewer.post("/login", data=data).status_code)
        statuses.append(reviewer.get("/review").status_code)
    return statuses


def free_the_quota(server: Server) -> None:
    """What an operator does on a full disk: delete every unsent upload at once (the first
    replay left this address at its quota)."""
    env = {**server.env, "REGISTRY_UPLOAD_RETENTION_HOURS": "0"}
    subprocess.run([str(REGISTRY), "clean"], env=env, check=True, capture_output=True)


def view_a_mapping_page(server: Server) -> list[int]:
    """One 3 MB upload, then 80 views of its mapping page (60 a minute are let through)."""
    response = _upload(server, server.anonymous)
    found = LOCATION.search(response.headers.get("location", ""))
    if not found:
        return [response.status_code]
    return [server.anonymous.get(f"/import/{found.group(1)}").status_code for _ in range(80)]


ATTACKS = [
    Attack("12 anonymous 3 MB uploads, then the form and a reviewer's login", "5", fill_with_uploads),
    Attack("80 views of an upload's mapping page", "2, 5", view_a_mapping_page, setup=free_the_quota),
]
