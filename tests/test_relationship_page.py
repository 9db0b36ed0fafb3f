"""A relationship's own page: the claim, its sources, the responses, figures, how to cite
it, and the intake forms it links to (respond, report an error) filled for it."""

from __future__ import annotations

import html
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from registry.services import curation
from registry.store.schema import declared_columns
from tests.conftest import dump, invoke, post_form, query, serving, text
from tests.site import DESKTOP, PHONE, Requests, axe_violations, sideways_overflow
from tests.test_browser import JsErrors, browser, js_errors, page  # noqa: F401 - fixtures
from tests.test_datasette import ours
from tests.test_submit import org_id

URL, ARCHIVE = "https://example.org/cnet-microsoft-dea", "https://web.archive.org/web/2020/https://example.org/cnet"


def relationship_id(settings, vendor, client):
    sql = "select id from relationships where vendor_id = ? and client_id = ?"
    return query(settings.intake_db, sql, [org_id(settings, vendor), org_id(settings, client)])[0][0]


@pytest.fixture
def enriched(seeded):
    """The seed, with a web address and an archived copy for CNET's article and two figures on
    Microsoft and the DEA (the seed has neither), published with the real command."""
    rel = relationship_id(seeded, "microsoft", "dea")
    conn = sqlite3.connect(seeded.intake_db)
    with conn:
        conn.execute("update sources set url = ?, archive_url = ? where title like 'Microsoft pushed%'", [URL, ARCHIVE])
        source = conn.execute("select id from sources where title like 'Microsoft pushed%'").fetchone()[0]
        for metric, low, high, unit, start in (("searches", 1000, 5000, "searches", "2018-03"),
                                               ("accounts", 30, 30, "accounts", None)):  # fmt: skip
            conn.execute(
                "insert into observations (relationship_id, metric, low, high, unit, period_start, source_id, "
                "locator, status, created_at) values (?, ?, ?, ?, ?, ?, ?, 'paragraph 2', 'approved', '2026-01-02')",
                [rel, metric, low, high, unit, start, source],
            )
    conn.close()
    assert invoke("publish").exit_code == 0
    return seeded


def page_text(response) -> str:
    """What a reader sees: the page without tags, its spaces folded."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", response.text)))


async def test_page_shows_the_claim_its_sources_responses_and_figures(enriched):
    rel = relationship_id(enriched, "microsoft", "dea")
    response = await ours(enriched.registry_db).client.get(f"/registry/relationships/{rel}")
    assert response.status_code == 200
    body, shown = response.text, page_text(response)
    assert "<title>Microsoft and Drug Enforcement Administration — relationship — Exposure registry</title>" in body
    assert "Microsoft tried to sell its face recognition" in shown  # the summary
    assert f'href="/registry/organisations/{org_id(enriched, "microsoft")}"' in body
    assert f'href="/registry/organisations/{org_id(enriched, "dea")}"' in body
    assert "Declined: The vendor pitched and the client decided not to buy." in shown  # label and description
    assert "From September 2017 to December 2018" in shown  # month precision kept
    assert "Faces API" in shown and "Emails between Microsoft and the DEA" in shown  # product, disclosure
    citations = query(
        enriched.registry_db,
        "select s.title, c.locator, c.quote, s.language, s.id from citations c join sources s on s.id = c.source_id "
        "where c.relationship_id = ?",
        [rel],
    )
    assert len(citations) == 10  # six on the pitch, three on its date and Microsoft, one on the DEA's department
    for title, locator, quote, language, source_id in citations:
        assert title in shown and f"Where: {locator}" in shown
        assert f'<blockquote lang="{language}">{quote}</blockquote>' in html.unescape(body)
        assert f'href="/registry/sources/{source_id}"' in body
    assert f'<a href="{URL}" rel="noopener noreferrer nofollow">Microsoft pushed' in body
    assert f'class="archive" href="{ARCHIVE}"' in body
    assert "CNET, June 2020" in shown  # publisher, date with its precision
    assert "Microsoft: No response" in shown and "Microsoft did not respond to CNET's request for comment." in shown
    assert "1,000–5,000 searches" in shown and "(searches, March 2018)" in shown
    assert "30 accounts" in shown and "30–30" not in shown


async def test_page_suggests_a_citation_with_the_permalink(enriched):
    rel = relationship_id(enriched, "microsoft", "dea")
    response = await ours(enriched.registry_db).client.get(f"/registry/relationships/{rel}")
    published = query(enriched.registry_db, "select published_at from relationships where id = ?", [rel])[0][0][:10]
    permalink = f"http://localhost/registry/relationships/{rel}"
    today = datetime.now(UTC).date().isoformat()
    assert f'<a class="permalink" href="{permalink}">' in response.text
    assert (
        f'Exposure registry, "Microsoft – Drug Enforcement Administration (Declined)", relationship {rel}, '
        f"published {published}, {permalink}, accessed {today}"
    ) in page_text(response)


@pytest.mark.parametrize(
    ("start", "end", "shown"),
    [
        ("2019", None, "From 2019"),
        ("2020-03", "2021", "From March 2020 to 2021"),
        ("2020-03-03", None, "From 3 March 2020"),
        (None, "2020-02", "Until February 2020"),
        (None, None, "The sources give no date."),
    ],
)
async def test_dates_keep_their_precision(seeded, start, end, shown):
    rel = relationship_id(seeded, "amazon", "ice")
    conn = sqlite3.connect(seeded.intake_db)
    with conn:
        conn.execute("update relationships set start_date = ?, end_date = ? where id = ?", [start, end, rel])
    conn.close()
    assert invoke("publish").exit_code == 0
    response = await ours(seeded.registry_db).client.get(f"/registry/relationships/{rel}")
    assert f'<dd id="when">{shown}</dd>' in response.text


async def test_trial_length_is_shown(seeded):
    rel = relationship_id(seeded, "clearview-ai", "coinbase")
    conn = sqlite3.connect(seeded.intake_db)
    with conn:
        conn.execute("update relationships set trial_days = 30 where id = ?", [rel])
    conn.close()
    assert invoke("publish").exit_code == 0
    response = await ours(seeded.registry_db).client.get(f"/registry/relationships/{rel}")
    assert '<dd id="trial">30 days</dd>' in response.text


async def test_the_raw_row_stays_available_as_json(seeded):
    rel = relationship_id(seeded, "microsoft", "dea")
    response = await ours(seeded.registry_db).client.get(f"/registry/relationships/{rel}.json?_shape=objects")
    assert response.status_code == 200
    (row,) = response.json()["rows"]
    assert tuple(row) == declared_columns("registry")["relationships"]
    assert row["id"] == rel and row["vendor"] == "Microsoft"


async def test_an_unknown_relationship_is_still_a_404(seeded):
    response = await ours(seeded.registry_db).client.get("/registry/relationships/999999")
    assert response.status_code == 404


def links_of(body: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}" href="([^"]+)"', body)
    assert found is not None, element_id
    return html.unescape(found.group(1))


@pytest.mark.parametrize(("link", "form"), [("respond", "response"), ("report", "correction")])
async def test_respond_and_report_links_open_the_form_filled_for_this_relationship(seeded, client, link, form):
    rel = relationship_id(seeded, "clearview-ai", "coinbase")
    shown = await ours(seeded.registry_db).client.get(f"/registry/relationships/{rel}")
    href = links_of(shown.text, link)
    intake = re.match(r"https?://[^/]+", href)
    assert intake is not None and href[intake.end() :] == f"/submit/{form}?relationship={rel}"
    response = client.get(href[intake.end() :])
    assert response.status_code == 200
    assert re.search(rf'name="relationship_id"[^>]*value="{rel}"', response.get_data(as_text=True))
    assert "Clearview AI</strong> and <strong>Coinbase" in text(response)  # says which relationship


def report(rel, **changes):
    return {
        "relationship_id": str(rel),
        "problem": "Coinbase says the trial ended in 2019; the page gives no end date.",
        "evidence": "https://example.org/coinbase-statement, paragraph 3.",
        "submitter_contact": "reader@example.org",
        **changes,
    }


def test_an_error_report_becomes_a_pending_submission_reviewers_see(seeded, client, reviewer_client):
    rel = relationship_id(seeded, "clearview-ai", "coinbase")
    public_before = dump(seeded.registry_db)
    response = post_form(client, "/submit/correction", report(rel), form_url=f"/submit/correction?relationship={rel}")
    assert response.status_code == 303
    ((submission_id, kind, status, contact),) = query(
        seeded.intake_db,
        "select s.id, kind, coalesce(r.decision, 'pending'), submitter_contact from submissions s "
        "left join reviews r on r.submission_id = s.id where kind = 'correction'",
    )
    assert (kind, status, contact) == ("correction", "pending", "reader@example.org")
    queue = text(reviewer_client.get("/review"))
    assert f"Error report on relationship {rel}" in queue
    shown = text(reviewer_client.get(f"/review/submissions/{submission_id}"))
    assert "Coinbase says the trial ended in 2019" in shown and "https://example.org/coinbase-statement" in shown
    assert "Nothing is published" in shown
    approved = post_form(reviewer_client, f"/review/submissions/{submission_id}/approve", {},
                         form_url=f"/review/submissions/{submission_id}")  # fmt: skip
    assert approved.status_code == 303
    assert dump(seeded.registry_db) == public_before  # a report never reaches registry.db
    assert invoke("check").exit_code == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"problem": ""}, "Say what is wrong."),
        ({"evidence": "  "}, "Give your evidence"),
        ({"relationship_id": "999999"}, "No published relationship has number 999999."),
        ({"relationship_id": "0"}, "Give the number of a published relationship."),
        ({"relationship_id": "five"}, "Give the number of a published relationship."),
        ({"relationship_id": str(2**63)}, "No published record has this number."),
        ({"problem": "x" * 4001}, "At most 4000 characters."),
        ({"submitter_contact": "not an email"}, "Give an email address"),
    ],
)
def test_an_error_report_with_bad_input_is_refused_with_a_message(seeded, client, changes, message):
    rel = relationship_id(seeded, "clearview-ai", "coinbase")
    before = dump(seeded.intake_db)
    response = post_form(client, "/submit/correction", report(rel, **changes))
    assert response.status_code == 422
    assert message in text(response)
    assert dump(seeded.intake_db) == before


def test_an_error_report_on_a_withdrawn_relationship_is_refused(seeded, client):
    rel = relationship_id(seeded, "clearview-ai", "coinbase")
    conn = sqlite3.connect(seeded.intake_db)
    with conn:
        conn.execute("update relationships set status = 'withdrawn' where id = ?", [rel])
    conn.close()
    response = post_form(client, "/submit/correction", report(rel))
    assert response.status_code == 422
    assert f"No published relationship has number {rel}." in text(response)


SHOTS = Path("/tmp/shots-relpage")
# Datasette's own base.html has no lang attribute; the shared look (another branch) gives
# every page lang="en". Until then that one rule is set aside here, and only that one.
NOT_YET_OURS = ("html-has-lang",)


def reader_checks(page: Page, name: str, width: int) -> None:  # noqa: F811 - not the fixture
    """What every public page must pass, at this width: no sideways scroll, axe, a screenshot."""
    assert sideways_overflow(page) == 0, f"{name} at {width}px scrolls sideways"
    problems = [v for v in axe_violations(page) if not v.startswith(NOT_YET_OURS)]
    assert problems == [], f"{name} at {width}px: {problems}"
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}-{width}.png", full_page=True)


@pytest.mark.slow
def test_relationship_and_withdrawn_pages_in_chromium(enriched, reviewer, page: Page, js_errors: JsErrors):  # noqa: F811
    rel = relationship_id(enriched, "microsoft", "dea")
    gone = relationship_id(enriched, "clearview-ai", "coinbase")
    curation.withdraw(enriched, gone, reviewer, "Private: misread row, checked twice by the desk", "Listed in error.")
    with serving(enriched) as served:
        hosts = {urlsplit(served.datasette).netloc, urlsplit(served.intake).netloc}
        requests = Requests(page, hosts)
        for size in (DESKTOP, PHONE):
            page.set_viewport_size(size)
            answer = page.goto(f"{served.datasette}/registry/relationships/{rel}")
            assert answer is not None and answer.status == 200
            expect(page.locator("h1")).to_have_text("Microsoft and Drug Enforcement Administration")
            expect(page.locator("#suggested-citation")).to_contain_text(f"relationship {rel}")
            reader_checks(page, "relationship", size["width"])
            answer = page.goto(f"{served.datasette}/registry/relationships/{gone}")
            assert answer is not None and answer.status == 410
            expect(page.locator("#public-reason")).to_have_text("Listed in error.")
            reader_checks(page, "withdrawn", size["width"])

        # A reader reports an error from the page: the form opens filled, and the report
        # waits for a reviewer.
        page.set_viewport_size(DESKTOP)
        page.goto(f"{served.datasette}/registry/relationships/{rel}")
        page.locator("#report").click()
        expect(page.locator("#relationship_id")).to_have_value(str(rel))
        page.locator("#problem").fill("The emails end in November 2018, not December.")
        page.locator("#evidence").fill("ACLU's release, the last email, page 212.")
        page.locator("button[type=submit]").click()
        expect(page.locator("h1")).to_contain_text("Thank")
        assert requests.elsewhere == []
    # Chromium reports the 410 itself on the console; it is the answer meant, not a page error.
    errors = [e for e in js_errors.found if "status of 410" not in e]
    assert errors == []
    assert query(enriched.intake_db, "select kind from submissions where kind = 'correction'") == [("correction",)]
