"""A breach import reviewed as it will be published: the review page and the dry run show the
first breaches of the real HHS files (organisation, vendor, dates, affected range with unit,
types, kinds of data, media) and their counts; the review page reads the person-like names the
import flagged when it ran, not every name again, while approval still judges every one."""

from __future__ import annotations

import csv
import html
import json
import re

import pytest

from registry.importer import service
from registry.services import approval
from registry.store.connection import connect
from tests.conftest import invoke, query
from tests.test_import_breaches import FILES, MAPPINGS
from tests.test_persons import write_list


def first_rows(year: int, count: int) -> list[dict[str, str]]:
    with FILES[year].open(encoding="utf-8", newline="") as f:
        return [row for _, row in zip(range(count), csv.DictReader(f), strict=False)]


def page_of(client, submission_id: int) -> str:
    response = client.get(f"/review/submissions/{submission_id}")
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def breach_rows(page: str) -> list[list[str]]:
    """The cells of each row of the review page's breach table, as text."""
    table = re.search(r'<table id="preview-breaches"[^>]*>(.*?)</table>', page, re.S)
    assert table, "no breach table on the review page"
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1).split("<tbody>")[1], re.S)
    return [[" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in re.findall(r"<td>(.*?)</td>", r, re.S)]
            for r in rows]  # fmt: skip


def stored(settings) -> list[tuple]:
    return query(settings.intake_db, "select (select count(*) from breaches), (select count(*) from submissions)")


def submission_of(settings, reference: str) -> int:
    return query(settings.intake_db, "select id from submissions where reference = ?", [reference])[0][0]


def test_the_review_page_shows_the_breaches_of_an_hhs_import_as_published(seeded, reviewer_client):
    result = service.import_file(seeded, FILES[2014], MAPPINGS[2014])
    page = page_of(reviewer_client, submission_of(seeded, result.reference))
    rows = breach_rows(page)
    assert len(rows) == 20
    first = first_rows(2014, 1)[0]  # Brooke Army Medical Center, 1000 affected, 10/16/2009, Theft, Paper
    _, title, organisation, vendor, when, affected, how, kinds, media = rows[0]
    assert title == f"{first['Name_of_Covered_Entity']}: Theft (10/16/2009)"
    assert organisation == f"{first['Name_of_Covered_Entity']} (new) , United States"
    # Dates in words; the file gives no discovery or notice date, so none is shown.
    assert (vendor, when, affected) == ("none named", "16 October 2009", "1,000 people")
    assert (how, kinds, media) == ("Theft", "Contact details, Health information, Names", "Paper or films")
    # A row that names its business associate shows it, as the page's reader would read it.
    named = [row for row in rows if row[3] != "none named"]
    expected = [r["Business_Associate_Involved"] for r in first_rows(2014, 25) if r["Business_Associate_Involved"]]
    assert named and any(named[0][3].removesuffix(" (new)") in cell for cell in expected), (named[0], expected)
    assert "1,054 stored as new breaches" in page and "1 rejected" in page
    # The relationships these breaches reveal are listed under their own heading.
    assert "Vendor relationships the breaches reveal" in page


def test_the_dry_run_shows_the_first_breaches_and_their_counts_and_stores_nothing(seeded):
    before = stored(seeded)
    dry = invoke("import", str(FILES[2015]), "--mapping", str(MAPPINGS[2015]), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "1,151 stored as new breaches, 0 already in the registry" in dry.output and "0 rejected" in dry.output
    assert "First 5 of the 1,151 new breaches, as they would be published:" in dry.output
    shown = re.findall(r"^  - (.*)$", dry.output, re.M)
    assert len(shown) == 5
    for row, title in zip(first_rows(2015, 5), shown, strict=True):
        assert title.startswith(row["Name.of.Covered.Entity"].split()[0]), (row, title)
    assert re.search(r"^    organisation: .+ \(new\), United States; vendor: ", dry.output, re.M)
    assert re.search(r"^    affected: [\d,]+( to [\d,]+)? people$", dry.output, re.M)
    assert re.search(r"^    types: [A-Z].*; data: .*; held on: [A-Z]", dry.output, re.M)
    assert "Dry run: nothing stored." in dry.output
    assert stored(seeded) == before


def test_a_relationship_dry_run_shows_no_breach_list(seeded, tmp_path):
    path, mapping = write_list(tmp_path, ["Brooke Army Medical Center"])
    dry = invoke("import", str(path), "--mapping", str(mapping), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "new breaches" not in dry.output


# The person check, judged once when the import runs -----------------------------------------


def test_the_import_keeps_the_ids_it_flagged_and_the_review_page_reads_them(
    seeded, reviewer_client, reviewer, tmp_path
):
    path, mapping = write_list(tmp_path, ["Brooke Army Medical Center", "Laura Poitras"])
    result = service.import_file(seeded, path, mapping)
    submission_id = submission_of(seeded, result.reference)
    payload = json.loads(query(seeded.intake_db, "select payload from submissions where id = ?", [submission_id])[0][0])
    (poitras,) = query(seeded.intake_db, "select id from organisations where name = 'Laura Poitras'")[0]
    assert payload["import"]["person_ids"] == [poitras]
    page = page_of(reviewer_client, submission_id)
    persons = re.search(r'<div id="persons">(.*?)</div>', page, re.S)
    assert persons and "<li>Laura Poitras</li>" in persons.group(1)
    assert "Brooke Army Medical Center</li>" not in persons.group(1)
    # The page reads the kept ids only: with none kept, it lists nobody...
    db = connect(seeded.intake_db)
    with db.conn:
        db.execute("update submissions set payload = json_set(payload, '$.import.person_ids', json('[]')) where id = ?",
                   [submission_id])  # fmt: skip
    db.close()
    assert '<div id="persons">' not in page_of(reviewer_client, submission_id)
    # ...while approval still judges every name the import made, and refuses without a statement.
    with pytest.raises(approval.ReviewError, match="Laura Poitras"):
        approval.approve(seeded, submission_id, reviewer)
    assert query(seeded.registry_db, "select count(*) from organisations where name = 'Laura Poitras'") == [(0,)]


def test_a_reviewers_statement_takes_a_flagged_name_off_the_review_page(seeded, reviewer_client, tmp_path):
    path, mapping = write_list(tmp_path, ["Laura Poitras", "Glenn Greenwald", "Brooke Army Medical Center"])
    result = service.import_file(seeded, path, mapping)
    submission_id = submission_of(seeded, result.reference)
    page = page_of(reviewer_client, submission_id)
    assert "<li>Laura Poitras</li>" in page and "<li>Glenn Greenwald</li>" in page
    db = connect(seeded.intake_db)
    with db.conn:
        db.execute("update organisations set person_name_reason = 'A film company.' where name = 'Laura Poitras'")
    db.close()
    page = page_of(reviewer_client, submission_id)
    assert "<li>Laura Poitras</li>" not in page and "<li>Glenn Greenwald</li>" in page


def test_an_import_recorded_before_the_flags_were_kept_is_judged_in_full(seeded, reviewer_client, tmp_path):
    path, mapping = write_list(tmp_path, ["Laura Poitras", "Brooke Army Medical Center"])
    result = service.import_file(seeded, path, mapping)
    submission_id = submission_of(seeded, result.reference)
    db = connect(seeded.intake_db)
    with db.conn:
        db.execute("update submissions set payload = json_remove(payload, '$.import.person_ids') where id = ?",
                   [submission_id])  # fmt: skip
    db.close()
    assert "<li>Laura Poitras</li>" in page_of(reviewer_client, submission_id)
