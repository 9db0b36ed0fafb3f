"""Issue 18, finding 7 and parts of 9, replayed: withdrawn text read back by public SQL,
a submitter's name that turned `registry check` red, an upper-case `HTTPS://` address
that made approval fail, and control characters in a submitter's name.

Whether each attack still works is written to stderr (the table on stdout gives its cost):
"LEAK" or "HELD" for finding 7, check's exit code, the approval's status, the refusals."""

from __future__ import annotations

import re
import sys
import uuid

from attacks.harness import Attack, Server

SUMMARY_WORDS = ("compliance", "teams")  # words only Clearview AI → Coinbase's summary has


def _say(line: str) -> None:
    print(f"  traces: {line}", file=sys.stderr, flush=True)


def _coinbase(server: Server) -> int:
    rows = server.reader.get("/registry/relationships.json?client=Coinbase&vendor=Clearview+AI&_shape=array").json()
    return int(rows[0]["id"]) if rows else 0


def withdraw_coinbase(server: Server) -> None:
    """A reviewer withdraws Clearview AI → Coinbase (not measured)."""
    rel = _coinbase(server)
    reviewer = server.reviewer()
    token = server.token(reviewer, f"/review/relationships/{rel}")
    data = {"csrf_token": token, "reason": "Misread row of the leak", "public_reason": "Listed in error."}
    response = reviewer.post(f"/review/relationships/{rel}", data=data)
    _say(f"withdrew relationship {rel}: {response.status_code}")


def read_withdrawn_words(server: Server) -> list[int]:
    """Public SQL over the search index's shadow table, as the attacker did."""
    statuses, found = [], []
    for word in SUMMARY_WORDS:
        sql = f"select count(*) as n from relationships_fts_data where instr(block, cast('{word}' as blob)) > 0"
        response = server.reader.get("/registry.json", params={"sql": sql, "_shape": "array"})
        statuses.append(response.status_code)
        if response.status_code == 200 and response.json()[0]["n"]:
            found.append(word)
    download = server.reader.get("/registry.db")  # the whole file, as anyone may download it
    statuses.append(download.status_code)
    if download.status_code == 200:
        found += [f"{w} (in /registry.db)" for w in SUMMARY_WORDS if w.encode() in download.content]
    _say(f"finding 7: {'LEAK ' + ', '.join(found) if found else 'HELD: no word of the withdrawn summary readable'}")
    return statuses


def _submit_source(server: Server, **fields: str) -> int:
    data = {"csrf_token": server.token(server.anonymous, "/submit/source"), "idempotency_key": uuid.uuid4().hex,
            "source-title": f"A source {uuid.uuid4().hex[:6]}", "source-language": "en", **fields}  # fmt: skip
    return server.anonymous.post("/submit/source", data=data).status_code


def clearview_submitter(server: Server) -> list[int]:
    """An anonymous submission signed "Clearview AI" turned CI red."""
    statuses = [_submit_source(server, submitter_name="Clearview AI")]
    check = server.registry("check", check=False)
    _say(f"finding 9 (submitter named like a vendor): registry check exit {check.returncode}")
    return statuses


def upper_case_address(server: Server) -> list[int]:
    """`HTTPS://` accepted, then the approval answered 500 (the last status is the reviewer's)."""
    statuses = [_submit_source(server, **{"source-url": "HTTPS://Example.ORG/Leak"})]
    reviewer = server.reviewer()
    queue = reviewer.get("/review").text
    found = [int(n) for n in re.findall(r"/review/submissions/(\d+)", queue)]
    page = f"/review/submissions/{max(found)}"
    approval = reviewer.post(f"{page}/approve", data={"csrf_token": server.token(reviewer, page)})
    _say(f"finding 9 (HTTPS://): submission {statuses[0]}, approval {approval.status_code}")
    return [*statuses, approval.status_code]


def control_characters(server: Server) -> list[int]:
    """NUL, bell, a bidi override and U+FFFE in the submitter's name: each must be refused (422)."""
    statuses = [_submit_source(server, submitter_name=f"Anna {c} Smith") for c in ("\x00", "\x07", "\u202e", "\ufffe")]
    _say(f"finding 9 (control characters): {statuses}")
    return statuses


ATTACKS = [
    Attack("withdrawn summary read back by public SQL and /registry.db", "7", read_withdrawn_words, withdraw_coinbase),
    Attack("submitter named 'Clearview AI', then registry check", "9", clearview_submitter),
    Attack("HTTPS:// source address, then approval", "9", upper_case_address),
    Attack("NUL, bell, bidi override, U+FFFE in the submitter's name", "9", control_characters),
]
