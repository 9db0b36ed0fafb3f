"""Uploads are read within a memory and time budget (issue 18, findings 2, 3, 4 and the
upload parts of 9): each hostile file of tests/hostile_uploads.py, sent through the real
intake app, answers in bounded CPU and memory with a clear message, never a 500 or a path
of the server, and the process serving it carries on."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import resource
from pathlib import Path

import httpx
import pytest

from registry import create_app
from registry.importer import budget
from registry.importer.readers import read_table
from tests import hostile_uploads as hostile
from tests.conftest import hidden_fields, serving, text
from tests.test_upload import FLOCK_MAPPING, run_mapping

BOUNDARY = "budget-test-boundary"

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def reset_peak(pid: int | str = "self") -> int:
    """Reset the process's peak resident set to what it holds now; return that, in kB."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return status_kb(pid, "VmHWM")


def status_kb(pid: int | str, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {key} for {pid}")


def upload(client, name: str, content: bytes):
    """Post a file to /import as a browser does, the body built here (the test client would
    spool a large body to a temporary file it never closes)."""
    fields = hidden_fields(client.get("/import").get_data(as_text=True))
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()
    ]
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    body = b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()
    return client.post("/import", data=body, content_type=f"multipart/form-data; boundary={BOUNDARY}")


def assert_no_path(page: str, settings) -> None:
    assert str(settings.instance) not in page
    assert "/uploads/" not in page and "Traceback" not in page


# Finding 2: csv.Sniffer was quadratic.


def test_the_sniffer_bomb_costs_a_mapping_page_little_cpu(client, seeded):
    before = cpu_seconds()
    response = upload(client, "bomb.csv", hostile.SNIFFER_BOMB)
    assert response.status_code in (303, 422)
    if response.status_code == 303:
        for _ in range(3):
            assert client.get(response.headers["Location"]).status_code == 200
    # Before: about 16 CPU seconds for each view of the mapping page.
    assert cpu_seconds() - before < 2


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ('id;name;notes\n1;"Springfield\nPolice";NA\n2;"Salem; OR";NA\n', ";"),  # quoted newline and delimiter
        ("id\tname\n1\tA, B and C\n2\tD\n", "\t"),
        ("id,name\n1,Springfield PD\n2,Salem PD\n", ","),
        ("name\nSpringfield PD\n", ","),
        ('!"a' * 21845, ","),
    ],
)
def test_the_delimiter_is_found_in_linear_time(tmp_path, sample, expected):
    path = tmp_path / "list.csv"
    path.write_text(sample, encoding="utf-8")
    start = cpu_seconds()
    assert read_table(path).delimiter == expected
    assert cpu_seconds() - start < 0.5


# Finding 3: an XLSX's shared strings expanded to gigabytes in the worker.


@pytest.mark.parametrize(
    ("name", "build", "message"),
    [
        ("strings.xlsx", lambda: hostile.shared_strings_bomb(count=100_000), "a zip bomb, not a spreadsheet"),
        ("sheet.xlsx", lambda: hostile.sheet_bomb(rows=400_000), "a zip bomb, not a spreadsheet"),
        ("count.xlsx", lambda: hostile.distinct_strings(1_200_000), "more than 1,100,000 shared strings"),
    ],
)
def test_an_xlsx_bomb_is_refused_before_it_is_parsed(client, seeded, name, build, message):
    content = build()
    peak, before = reset_peak(), cpu_seconds()
    response = upload(client, name, content)
    assert response.status_code == 422
    page = text(response)
    assert f"{name}: " in page and message in page
    assert_no_path(page, seeded)
    assert cpu_seconds() - before < 2
    assert status_kb("self", "VmHWM") - peak < 50 * 1024  # kB: before, 100 MB of strings were held
    assert not [p for p in (seeded.instance / "uploads").iterdir() if p.suffix == ".xlsx"]  # not kept


def test_a_file_past_the_memory_budget_gets_a_clear_message(seeded, monkeypatch):
    monkeypatch.setenv("REGISTRY_READ_MEMORY_MB", "16")
    client = create_app({"TESTING": True, "DATASETTE_URL": "http://datasette.test"}).test_client()
    peak = reset_peak()
    response = upload(client, "agencies.xlsx", hostile.distinct_strings(300_000))  # within the XLSX caps
    assert response.status_code == 422
    page = text(response)
    assert "agencies.xlsx: This file could not be read within 16 MB of memory and 2 seconds of CPU" in page
    assert status_kb("self", "VmHWM") - peak < 30 * 1024  # the child paid, not this process
    assert client.get("/import").status_code == 200  # and the app carries on


def test_a_file_past_the_cpu_budget_gets_a_clear_message(seeded, monkeypatch):
    monkeypatch.setenv("REGISTRY_READ_MEMORY_MB", "2000")
    monkeypatch.setenv("REGISTRY_READ_CPU_SECONDS", "1")
    client = create_app({"TESTING": True, "DATASETTE_URL": "http://datasette.test"}).test_client()
    content = hostile.distinct_strings(1_000_000)  # about 3 CPU seconds for openpyxl to load
    before = cpu_seconds()
    response = upload(client, "agencies.xlsx", content)
    assert response.status_code == 422
    assert "agencies.xlsx: This file could not be read within 2000 MB of memory and 1 second of CPU" in text(response)
    assert "it needs more CPU time" in text(response)
    assert cpu_seconds() - before < 1


def test_a_read_past_the_wall_clock_limit_is_stopped(tmp_path):
    path = tmp_path / "list.xlsx"
    path.write_bytes(hostile.distinct_strings(300_000))  # about a second to open
    with pytest.raises(budget.BudgetError, match=r"list.xlsx: This file could not be read within .*: it took too long"):
        budget.sample(path, 10, budget.Budget(memory_mb=2000, cpu_seconds=60, wall_seconds=0.1))
    assert not multiprocessing.active_children()  # the child was killed and reaped


def test_readings_from_several_threads_at_once_each_get_their_file(tmp_path):
    paths = []
    for i in range(8):
        paths.append(tmp_path / f"list{i}.csv")
        paths[-1].write_text(f"name,country\nPolice {i},US\n", encoding="utf-8")
    with concurrent.futures.ThreadPoolExecutor(4) as pool:  # as a worker's threads do
        samples = list(pool.map(lambda path: budget.sample(path, 10, budget.Budget()), paths))
    assert [rows for _, rows in samples] == [[{"name": f"Police {i}", "country": "US"}] for i in range(8)]


# Finding 4: a regex in an anonymous mapping held a worker until it was killed.


def test_a_catastrophic_regex_in_a_mapping_runs_in_linear_time(client, seeded):
    location = upload(client, "agencies.csv", hostile.REGEX_BOMB_CSV).headers["Location"]
    before = cpu_seconds()
    mapping = hostile.with_name_transform(FLOCK_MAPPING, f"{{extract: '{hostile.REGEX_BOMB}'}}")
    page = text(run_mapping(client, location, "preview", mapping))
    assert "1 rows read" in page or "1 row read" in page
    assert "client.name" in page  # no match: an empty name, reported as a problem of the row
    assert cpu_seconds() - before < 2


@pytest.mark.parametrize(
    ("regex", "feature"),
    [("(?=Police)(\\w+)", "invalid perl operator: (?="), ("(\\w)\\1", "invalid escape sequence: \\1")],
)
def test_a_regex_re2_cannot_run_is_refused_naming_the_rule(client, seeded, regex, feature):
    location = upload(client, "agencies.csv", b"id,name,notes\n1,Springfield PD,NA\n").headers["Location"]
    mapping = hostile.with_name_transform(FLOCK_MAPPING, f"{{extract: '{regex}'}}")
    page = text(run_mapping(client, location, "preview", mapping))
    assert "Nothing was stored" in page
    assert "client.name.transforms[0]: the regular expression" in page
    assert feature in page and "RE2 syntax" in page


# Finding 9 (uploads): damaged XLSX gave a 500, and XLSX errors showed the instance's path.


@pytest.mark.parametrize("kind", [*hostile.malformed_workbooks(), "huge dimension"])
def test_a_damaged_workbook_gets_a_message_naming_the_file_not_a_500(client, seeded, kind):
    content = hostile.huge_dimension() if kind == "huge dimension" else hostile.malformed_workbooks()[kind]
    before = cpu_seconds()
    response = upload(client, "leaked list.xlsx", content)
    assert response.status_code in (303, 422), kind
    if response.status_code == 303:  # read well enough to map: its page, too, answers
        page = text(client.get(response.headers["Location"]))
        assert "Police of Springfield" in page
    else:
        page = text(response)
        assert "leaked_list.xlsx: " in page  # as the contributor named it (secure_filename's spelling)
        assert "save it again" in page or "sheet" in page, page  # what to do, or which part is wrong
    assert_no_path(page, seeded)
    assert cpu_seconds() - before < 2


def test_damage_past_the_first_rows_is_reported_by_the_preview(client, seeded):
    response = upload(client, "agencies.xlsx", hostile.damaged_after(30))
    assert response.status_code == 303
    page = text(run_mapping(client, response.headers["Location"], "preview", FLOCK_MAPPING))
    assert "agencies.xlsx: the sheet cannot be read after row" in page
    assert "Nothing was stored" in page or "failed" in page
    assert_no_path(page, seeded)


def test_a_deleted_upload_is_named_as_uploaded_not_by_its_path(client, seeded):
    location = upload(client, "agencies.csv", b"id,name,notes\n1,Springfield PD,NA\n").headers["Location"]
    token = location.rsplit("/", 1)[1]
    (seeded.instance / "uploads" / f"{token}.csv").unlink()
    page = text(run_mapping(client, location, "preview", FLOCK_MAPPING))
    assert "agencies.csv: file not found" in page
    assert_no_path(page, seeded)


# The attacks against a real `registry serve`: its workers' CPU and memory, and that they live.


def worker_pids(served) -> list[int]:
    """gunicorn's workers: the children of `registry serve` (gunicorn's arbiter) but Datasette."""
    children = Path(f"/proc/{served.process.pid}/task/{served.process.pid}/children").read_text().split()
    return sorted(int(pid) for pid in children if "\0-m\0datasette\0" not in Path(f"/proc/{pid}/cmdline").read_text())


def process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def test_served_attacks_cost_a_worker_little_and_it_lives(seeded, monkeypatch):
    bomb = hostile.shared_strings_bomb()  # the finding's file: 2.3 MB, a million 1 KB strings
    with serving(seeded) as served, httpx.Client(base_url=served.intake, timeout=120) as http:
        workers = worker_pids(served)
        assert workers
        attacks = {
            "sniffer bomb": ("bomb.csv", hostile.SNIFFER_BOMB, 3),
            "shared strings bomb": ("bomb.xlsx", bomb, 0),
            "huge dimension": ("dimension.xlsx", hostile.huge_dimension(), 1),
        }
        for attack, (name, content, views) in attacks.items():
            peaks = {pid: reset_peak(pid) for pid in workers}
            cpu = {pid: process_cpu(pid) for pid in workers}
            form = hidden_fields(http.get("/import").text)
            response = http.post("/import", data=form, files={"file": (name, content)})
            statuses = [response.status_code]
            if response.status_code == 303:
                statuses += [http.get(response.headers["Location"]).status_code for _ in range(views)]
            assert all(s < 500 for s in statuses), (attack, statuses)
            used = sum(process_cpu(pid) - cpu[pid] for pid in workers)
            grown = max(status_kb(pid, "VmHWM") - peaks[pid] for pid in workers) / 1024
            assert used / len(statuses) < 2, (attack, used)
            assert grown < 200, (attack, grown)  # MB
        assert worker_pids(served) == workers  # none killed or replaced
    assert "Traceback" not in served.output and "WORKER TIMEOUT" not in served.output
