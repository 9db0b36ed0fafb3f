"""Hostile files, file names and mappings through the web upload (/import) in-process, and
through the command line (`registry import`, `create-user`, `backup`) as real processes.

Web: no 500, no traceback; nothing stored by a refused upload or mapping; the mapping
page, the preview and the problems inert; no file written outside the uploads folder.
CLI: a non-zero exit with a one-line message and no traceback, nothing stored."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from registry.cli import cli
from tests.conftest import REGISTRY, dump, hidden_fields
from tests.hostile import CSV_HEADERS, FILE_NAMES, REPRESENTATIVE, VALUES, YAML_ATTACKS
from tests.test_hostile_forms import (
    MARKUP,
    Writes,
    assert_no_error_page,
    inert_problems,
)
from tests.test_upload import wait_for_job

MAPPING = """\
vendor: {slug: clearview-ai}
source:
  new: {title: "Hostile list", publisher: Example News, language: en, published_date: 2020-02}
locator: "row {row}"
client:
  name: {column: Agency}
  kind: {value: public-agency}
  sector: {value: law-enforcement}
  country: {value: US}
relationship:
  arrangement: {value: unknown}
  summary: {template: "{Agency} appears on the list."}
on_error: skip
"""
# Defects in files this suite may not change, described in the report; each test marked
CANARY = Path("/tmp/hostile-yaml")  # what the YAML payloads would create if they ran
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def printable(value: str) -> bool:
    """Cells a CSV can carry for this test: no NUL (refused as binary), not over the csv module's limit."""
    return "\x00" not in value and len(value) < 100_000


class Uploader:
    def __init__(self, app, seeded) -> None:
        self.client = app.test_client()
        self.seeded = seeded
        self.token = hidden_fields(self.client.get("/import").get_data(as_text=True))["csrf_token"]
        self.writes = Writes(seeded.intake_db)

    def upload(self, name: str, content: bytes):
        data = {"csrf_token": self.token, "file": (io.BytesIO(content), name)}
        response = self.client.post("/import", data=data, content_type="multipart/form-data")
        assert_no_error_page(response, f"upload {name!r}")
        assert response.status_code in (303, 422, 413), (name, response.status_code)
        assert not self.writes.changed(), f"upload {name!r}: an upload alone wrote to intake.db"
        return response

    def mapping_page(self, response) -> str:
        page = assert_no_error_page(self.client.get(response.headers["Location"]), "mapping page")
        assert inert_problems(page) == [], inert_problems(page)
        return page

    def run(self, location: str, action: str, mapping: str):
        token = location.rsplit("/", 1)[1]
        response = self.client.post(f"/import/{token}/{action}", data={"csrf_token": self.token, "mapping": mapping})
        assert_no_error_page(response, f"{action} {mapping[:40]!r}")
        if response.status_code != 303:
            assert response.status_code in (422, 413), response.status_code
            return response
        return wait_for_job(self.client, response.headers["Location"])


def test_hostile_file_names(hostile_app, seeded, tmp_path):
    uploader = Uploader(hostile_app, seeded)
    uploads = seeded.instance / "uploads"
    outside_before = {p for p in tmp_path.rglob("*") if uploads not in p.parents}
    content = csv_bytes(["Agency"], [["Sylvania Police Department"]])
    for name in FILE_NAMES:
        response = uploader.upload(name, content)
        if response.status_code == 303:
            page = uploader.mapping_page(response)
            assert "Sylvania Police Department" in page
        elif MARKUP.search(name):
            assert inert_problems(response.get_data(as_text=True)) == [], name
    # Every file the uploads wrote is in the uploads folder, under a name of the app's making.
    assert {p for p in tmp_path.rglob("*") if uploads not in p.parents} - outside_before <= {uploads}
    for path in uploads.rglob("*"):
        assert path.name.isascii() and ".." not in path.name and "\\" not in path.name, path


def test_hostile_cells_and_headers_are_shown_inert(hostile_app, seeded):
    uploader = Uploader(hostile_app, seeded)
    values = [v for _, v in VALUES if printable(v)]
    for start in range(0, len(values), 10):  # the mapping page shows ten rows
        chunk = values[start : start + 10]
        content = csv_bytes(["Agency", "Notes"], [[v, v] for v in chunk])
        response = uploader.upload("cells.csv", content)
        assert response.status_code in (303, 422)
        if response.status_code == 303:
            uploader.mapping_page(response)
    for header in CSV_HEADERS:
        body = csv_bytes([h.replace("\x00", "") for h in header], [["x"] * len(header)])
        if any("\x00" in h for h in header):
            body = body.replace(b"Agency", b"Agency\x00", 1)
        response = uploader.upload("headers.csv", body)
        if response.status_code == 303:
            uploader.mapping_page(response)
        else:
            assert inert_problems(response.get_data(as_text=True)) == [], header


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("latin.csv", b"Agency\n\xff\xfe\xfd Police\n"),
        ("broken-utf8.csv", b"Agency\nPolice \xc3\x28 \xe2\x82 \xf0\x28\x8c\x28\n"),
        ("utf16.csv", "Agency\nPolice\n".encode("utf-16")),
        ("binary.csv", bytes(range(256)) * 4),
        ("nested.json", b"[" * 100_000 + b"]" * 100_000),
        ("nested-object.json", b'[{"Agency": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]"),
        ("nested.ndjson", b'{"Agency": "x"}\n' + b"[" * 100_000 + b"]" * 100_000 + b"\n"),
        ("first-nested.ndjson", b'{"Agency": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"),
        ("not.json", b"{'Agency': 1}"),
        ("scalar.json", b"42"),
        ("fake.xlsx", b"PK\x03\x04 not really a workbook"),
        ("bomb.xlsx", b"PK" + b"\x00" * 1000),
        ("empty.csv", b""),
        ("only-bom.csv", b"\xef\xbb\xbf"),
        ("unclosed.csv", b'Agency\n"never closed\n'),
        ("ragged.csv", b"Agency,B\n1\n1,2,3\n"),
        ("huge-cell.csv", b"Agency\n" + b"x" * 200_000 + b"\n"),
    ],
)
def test_hostile_file_contents(hostile_app, seeded, name, content):
    uploader = Uploader(hostile_app, seeded)
    before = dump(seeded.intake_db)
    response = uploader.upload(name, content)
    if response.status_code == 303:  # readable enough to sample: the preview must then cope
        uploader.mapping_page(response)
        job = uploader.run(response.headers["Location"], "preview", MAPPING.replace("on_error: skip", ""))
        assert_no_error_page(job, name)
        assert inert_problems(job.get_data(as_text=True)) == []
    else:
        assert response.status_code == 422
        assert "errors" in response.get_data(as_text=True)  # the reason is shown next to the field
    assert dump(seeded.intake_db) == before


@pytest.mark.slow
def test_hostile_mappings_are_refused_and_never_run(hostile_app, seeded):
    CANARY.unlink(missing_ok=True)
    uploader = Uploader(hostile_app, seeded)
    location = uploader.upload("list.csv", csv_bytes(["Agency"], [["Sylvania Police Department"]]))
    location = location.headers["Location"]
    before = dump(seeded.intake_db)
    for mapping in YAML_ATTACKS:
        for action in ("preview", "submit"):
            job = uploader.run(location, action, mapping)
            page = assert_no_error_page(job, mapping[:60])
            assert inert_problems(page) == [], mapping[:60]
            if job.status_code == 200:
                assert "Nothing was stored" in page, mapping[:60]
    assert not CANARY.exists()
    assert dump(seeded.intake_db) == before


def test_hostile_rows_previewed_and_their_problems_neutralised(hostile_app, seeded):
    """Every value as a client name: the preview and the problems page are inert, and
    the problems CSV the registry writes has no cell a spreadsheet would run."""
    uploader = Uploader(hostile_app, seeded)
    values = [v for _, v in VALUES if printable(v) and "\r" not in v and "\n" not in v]
    response = uploader.upload("rows.csv", csv_bytes(["Agency"], [[v] for v in values]))
    location = response.headers["Location"]
    before = dump(seeded.intake_db)
    job = uploader.run(location, "preview", MAPPING)
    page = assert_no_error_page(job, "preview")
    assert "The preview stored nothing." in page
    assert inert_problems(page) == [], inert_problems(page)
    assert dump(seeded.intake_db) == before
    job_id = job.request.path.rsplit("/", 1)[1]
    problems = hostile_app.test_client().get(f"/import/jobs/{job_id}/problems.csv")
    assert problems.status_code == 200
    rows = list(csv.reader(io.StringIO(problems.get_data(as_text=True))))
    assert len(rows) > 1  # some names are refused (control characters, bidi overrides)
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS), f"a live formula in problems.csv: {cell!r}"


# ---- the command line, as real processes -------------------------------------------------


def run_registry(*args: str, env: dict | None = None, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(REGISTRY), *args],
        env={**os.environ, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def refusal_problem(result: subprocess.CompletedProcess, what: str) -> str | None:
    """What is wrong with how a command refused (None: a non-zero exit, one 'Error: ...' line, no traceback)."""
    output = result.stdout + result.stderr
    if result.returncode == 0:
        return f"{what}: accepted\n{output}"
    if "Traceback" in output:
        return f"{what}: a traceback\n{output[-600:]}"
    if len([line for line in result.stderr.splitlines() if line.startswith("Error")]) != 1:
        return f"{what}: no one-line 'Error: ...' message\n{output}"
    return None


def assert_clear_refusals(results: list[subprocess.CompletedProcess], whats: list[str]) -> None:
    problems = [p for r, w in zip(results, whats, strict=True) if (p := refusal_problem(r, w))]
    assert problems == [], "\n\n".join(problems)


@pytest.mark.slow
def test_cli_import_refuses_hostile_files_mappings_and_paths(seeded, tmp_path):
    env = {"REGISTRY_INSTANCE": str(seeded.instance)}
    good_csv = tmp_path / "list.csv"
    good_csv.write_text("Agency\nSylvania Police Department\n", encoding="utf-8")
    good_mapping = tmp_path / "m.yml"
    good_mapping.write_text(MAPPING, encoding="utf-8")
    hostile_csv = tmp_path / "hostile.csv"
    hostile_csv.write_bytes(csv_bytes(["Agency"], [[v] for _, v in VALUES if printable(v)]))
    cases: list[tuple[str, list[str]]] = []
    for i, attack in enumerate(YAML_ATTACKS):
        path = tmp_path / f"attack-{i}.yml"
        path.write_text(attack, encoding="utf-8")
        cases.append((f"mapping {attack[:40]!r}", [str(good_csv), "--mapping", str(path)]))
    for name, content in (
        ("nested.json", b"[" * 100_000 + b"]" * 100_000),
        ("nested.ndjson", b'{"Agency": "x"}\n' + b"[" * 100_000 + b"]" * 100_000 + b"\n"),
        ("broken.csv", b'Agency\n"never closed\n'),
        ("binary.csv", bytes(range(256)) * 4),
        ("utf16.csv", "Agency\nPolice\n".encode("utf-16")),
        ("x.exe", b"Agency\nPolice\n"),
    ):
        (tmp_path / name).write_bytes(content)
        cases.append((name, [str(tmp_path / name), "--mapping", str(good_mapping)]))
    cases += [
        ("hostile rows, no skipping", [str(hostile_csv), "--mapping", str(tmp_path / "strict.yml")]),
        ("missing mapping", [str(good_csv), "--mapping", str(tmp_path / "../../etc/passwd.yml")]),
        ("mapping is a directory", [str(good_csv), "--mapping", str(tmp_path)]),
        ("mapping is /etc/passwd", [str(good_csv), "--mapping", "/etc/passwd"]),
        ("file is a directory", [str(tmp_path), "--mapping", str(good_mapping)]),
        ("traversal", [str(tmp_path / "../../../../etc/passwd.csv"), "--mapping", str(good_mapping)]),
        ("errors into /proc", [str(hostile_csv), "--mapping", str(tmp_path / "strict.yml"), "--errors", "/proc/x.csv"]),
        ("errors is a dir", [str(hostile_csv), "--mapping", str(tmp_path / "strict.yml"), "--errors", str(tmp_path)]),
        ("errors under a file", [str(hostile_csv), "--mapping", str(tmp_path / "strict.yml"),
                                 "--errors", str(good_csv / "x.csv")]),
    ]  # fmt: skip
    (tmp_path / "strict.yml").write_text(MAPPING.replace("on_error: skip", ""), encoding="utf-8")
    before = dump(seeded.intake_db)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda case: run_registry("import", *case[1], env=env), cases))
    assert_clear_refusals(results, [what for what, _ in cases])
    assert dump(seeded.intake_db) == before
    assert not CANARY.exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    "case", ["vendor: [vendor", "vendor: {vendor", "nested.ndjson", "errors into /proc", "errors under a file"]
)
def test_cli_import_refuses_deep_nesting_and_unwritable_reports(seeded, tmp_path, case):
    env = {"REGISTRY_INSTANCE": str(seeded.instance)}
    good_csv = tmp_path / "list.csv"
    good_csv.write_text("Agency\nSylvania Police Department\n", encoding="utf-8")
    mapping = tmp_path / "m.yml"
    mapping.write_text(MAPPING.replace("on_error: skip", ""), encoding="utf-8")
    hostile_csv = tmp_path / "hostile.csv"
    hostile_csv.write_text("Agency\n\u202eevil\n", encoding="utf-8")
    args = {
        "vendor: [vendor": [str(good_csv), "--mapping", str(tmp_path / "attack.yml")],
        "vendor: {vendor": [str(good_csv), "--mapping", str(tmp_path / "attack.yml")],
        "nested.ndjson": [str(tmp_path / "nested.ndjson"), "--mapping", str(mapping)],
        "errors into /proc": [str(hostile_csv), "--mapping", str(mapping), "--errors", "/proc/x.csv"],
        "errors under a file": [str(hostile_csv), "--mapping", str(mapping), "--errors", str(good_csv / "x.csv")],
    }[case]
    nesting = "[" * 10_000 + "]" * 10_000 if "[" in case else "{" * 10_000 + "}" * 10_000
    (tmp_path / "attack.yml").write_text("vendor: " + nesting, encoding="utf-8")
    (tmp_path / "nested.ndjson").write_bytes(b'{"Agency": "x"}\n' + b"[" * 100_000 + b"]" * 100_000 + b"\n")
    before = dump(seeded.intake_db)
    assert refusal_problem(run_registry("import", *args, env=env), case) is None
    assert dump(seeded.intake_db) == before


@pytest.mark.slow
def test_cli_import_stores_hostile_names_as_text(seeded, tmp_path):
    """Skipping the invalid rows, the rest is stored pending as typed; the error report
    the command writes has no live formula."""
    env = {"REGISTRY_INSTANCE": str(seeded.instance)}
    hostile_csv = tmp_path / "hostile.csv"
    hostile_csv.write_bytes(csv_bytes(["Agency"], [[v] for _, v in VALUES if printable(v)]))
    mapping = tmp_path / "m.yml"
    mapping.write_text(MAPPING, encoding="utf-8")
    errors = tmp_path / "errors.csv"
    result = run_registry("import", str(hostile_csv), "--mapping", str(mapping), "--errors", str(errors), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "Stored as pending submission" in result.stdout
    with errors.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) > 1
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), f"a live formula in {errors}: {cell!r}"


@pytest.mark.slow
def test_cli_create_user_refuses_hostile_names(seeded):
    """Every value in-process (fast), a representative set as real processes."""
    env = {"REGISTRY_INSTANCE": str(seeded.instance)}
    runner = CliRunner()
    password = "correct horse battery staple"
    accepted = 0
    for value_id, value in VALUES:
        result = runner.invoke(cli, ["create-user", value, "--role", "reviewer", "--password", password])
        assert result.exception is None or isinstance(result.exception, SystemExit), (value_id, result.exception)
        assert "Traceback" not in result.output
        if result.exit_code == 0:  # only names of letters, digits, '.', '-' and '_' are accounts
            assert all(c.isalnum() or c in "._-" for c in value.strip()), f"create-user {value_id}: accepted"
            accepted += 1
        else:
            assert "Error:" in result.output, value_id  # "account not created: ..." or click's usage error
    assert accepted < len(VALUES) // 8  # plain words ("null", "café"), nothing else
    before = dump(seeded.intake_db)
    names = [v for v in REPRESENTATIVE if "\x00" not in v] + ["-" * 3, "--role", "a" * 101, "../../etc"]
    with ThreadPoolExecutor(max_workers=2) as pool:
        args = [("create-user", n, "--role", "reviewer", "--password", password) for n in names]
        results = list(pool.map(lambda a: run_registry(*a, env=env), args))
    assert_clear_refusals(results, [f"create-user {name!r}" for name in names])
    assert dump(seeded.intake_db) == before


@pytest.mark.slow
def test_cli_backup_refuses_hostile_destinations(seeded, tmp_path):
    env = {"REGISTRY_INSTANCE": str(seeded.instance)}
    a_file = tmp_path / "a-file"
    a_file.write_text("x", encoding="utf-8")
    not_empty = tmp_path / "not-empty"
    not_empty.mkdir()
    (not_empty / "keep.txt").write_text("keep", encoding="utf-8")
    destinations = [
        str(a_file),
        str(not_empty),
        "/",
        str(seeded.instance),
        "",
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda d: run_registry("backup", d, env=env), destinations))
    assert_clear_refusals(results, [f"backup {d!r}" for d in destinations])
    assert (not_empty / "keep.txt").read_text(encoding="utf-8") == "keep"
    assert a_file.read_text(encoding="utf-8") == "x"
    # A name full of markup, quotes and traversal that stays inside tmp_path is just a folder name.
    odd = tmp_path / "x" / ".." / f"<script>'; DROP TABLE x; --{uuid.uuid4().hex[:4]}"
    result = run_registry("backup", str(odd), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (odd / "intake.db").is_file() and (tmp_path / odd.name / "registry.db").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("where", ["under-a-file", "/proc/hostile-backup"])
def test_cli_backup_into_an_impossible_place(seeded, tmp_path, where):
    a_file = tmp_path / "a-file"
    a_file.write_text("x", encoding="utf-8")
    destination = str(a_file / "sub") if where == "under-a-file" else where
    result = run_registry("backup", destination, env={"REGISTRY_INSTANCE": str(seeded.instance)})
    assert refusal_problem(result, destination) is None
