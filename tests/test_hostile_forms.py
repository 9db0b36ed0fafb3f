"""Every hostile value of tests/hostile.py through every field of the five contributor
forms, the login form and the reviewer's edit and reject forms, in-process.

For each post: no 500 and no traceback; refused (422, or 413 when over the form size
limit) with nothing stored, or stored pending with the value kept; and every page that
shows it (the re-rendered form, the reviewer's submission page and queue) has no markup
or script of the value's making."""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import dump, hidden_fields
from tests.hostile import SHAPED_VALUES, VALUES
from tests.test_submit import DISCLOSURE, org_id, response_data

# Attributes whose value a browser follows as a URL.
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href", "srcdoc", "poster", "background"}
# Elements neither app's templates use: any one in a page was made by a value.
FOREIGN_ELEMENTS = {
    "iframe", "object", "embed", "base", "frame", "frameset", "applet", "math", "template", "marquee",
    "video", "audio", "source", "img", "body", "style", "link", "meta", "svg", "animate", "set", "foreignobject",
}  # fmt: skip
PAGE_ELEMENTS = {"html", "head", "body", "meta", "link", "style", "svg"}  # the page's own, counted below


class InertCheck(HTMLParser):
    """Collect what in a page could run script or lead to it."""

    def __init__(self, own_scripts: tuple[str, ...]) -> None:
        super().__init__(convert_charrefs=True)
        self.own_scripts = own_scripts
        self.problems: list[str] = []
        self.counts: dict[str, int] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if tag == "script":
            src = dict(attrs).get("src") or ""
            if not src.startswith(self.own_scripts):
                self.problems.append(f"<script src={src!r}>")
        if tag in FOREIGN_ELEMENTS - PAGE_ELEMENTS:
            self.problems.append(f"<{tag}> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}={value!r}>")
            if name == "autofocus" and tag != "input":
                self.problems.append(f"<{tag} autofocus>")
            if name in URL_ATTRIBUTES and value is not None:
                bare = "".join(c for c in value if c > " ").lower()
                own_icon = tag == "link" and value == "data:,"  # base.html: no favicon request
                if bare.startswith(("javascript:", "vbscript:", "data:")) and not own_icon:
                    self.problems.append(f"<{tag} {name}={value!r}>")
            if name == "style" and value and ("expression(" in value or "javascript:" in value or "url(" in value):
                self.problems.append(f"<{tag} style={value!r}>")


# The list of country names every form carries: the templates' own, and long to parse.
COUNTRY_LIST = re.compile(r'<datalist id="countries">[^<]*(?:<option value="[^"<>]*">[^<]*</option>\s*)*</datalist>')


def inert_problems(page: str, own_scripts: tuple[str, ...] = ("/static/",), baseline: dict | None = None) -> list[str]:
    """What in an HTML page could run script; with `baseline` (the counts of a page of the
    same view with harmless values), also any element there is more of than usual."""
    check = InertCheck(own_scripts)
    check.feed(COUNTRY_LIST.sub("", page))
    check.close()
    problems = check.problems
    if baseline is not None:
        for tag in PAGE_ELEMENTS | {"script", "a", "form", "input", "button", "textarea", "select"}:
            if check.counts.get(tag, 0) > baseline.get(tag, 0):
                problems.append(f"{check.counts.get(tag, 0)} <{tag}> elements, {baseline.get(tag, 0)} usually")
    return problems


def tag_counts(page: str) -> dict[str, int]:
    check = InertCheck(("/static/",))
    check.feed(COUNTRY_LIST.sub("", page))
    return check.counts


class Writes:
    """Whether anyone committed to a database since the last look (PRAGMA data_version
    changes when another connection commits)."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path)
        self.version = self.now()

    def now(self) -> int:
        return self.conn.execute("pragma data_version").fetchone()[0]

    def changed(self) -> bool:
        """True if a commit happened since the last call."""
        version = self.now()
        changed, self.version = version != self.version, version
        return changed

    def close(self) -> None:
        self.conn.close()


def assert_no_error_page(response, where: str) -> str:
    body = response.get_data(as_text=True)
    assert response.status_code != 500, f"{where}: 500"
    assert "Traceback" not in body and "Something went wrong" not in body, f"{where}: an error page"
    return body


def relationship_base(seeded) -> dict[str, str]:
    return {
        "vendor-id": str(org_id(seeded, "clearview-ai")),
        "vendor-name": "Clearview AI",
        "client-name": "Hostile Test Agency",
        "client-kind": "public-agency",
        "client-sector": "law-enforcement",
        "client-country": "US",
        "client-is_new": "y",
        "arrangement": "trial",
        "trial_days": "30",
        "start_date": "2019-11",
        "end_date": "2019-12",
        "summary": "A summary.",
        "notes": "Notes.",
        "product": "A product",
        "source-title": "A source",
        "source-url": "https://example.org/list",
        "source-publisher": "Example News",
        "source-language": "en",
        "source-published_date": "2020-02-27",
        "locator": "row 1",
        "quote": "A quote",
        "submitter_name": "Anna",
        "submitter_contact": "anna@example.org",
    }


# Per form: its base data; the fields taking free text (all set to the value at once);
# the fields WTForms parses (choices, numbers, ticks, the hidden key: all at once, since
# WTForms checks every field); and the text fields with a shape (one at a time).
FORMS = {
    "relationship": (
        relationship_base,
        ["client-name", "product", "summary", "notes", "locator", "quote", "source-title", "source-publisher",
         "submitter_name"],
        ["vendor-id", "client-id", "client-kind", "client-sector", "client-is_new", "arrangement", "trial_days",
         "disclosure", "source-id", "idempotency_key"],
        ["vendor-name", "client-country", "start_date", "end_date", "source-url", "source-language",
         "source-published_date", "submitter_contact"],
    ),
    "organisation": (
        lambda seeded: {"name": "Hostile Test Organisation", "kind": "company", "sector": "technology",
                        "country": "BE", "subdivision": "", "aliases": "HTO", "description": "A company."},
        ["name", "aliases", "description", "submitter_name"],
        ["is_new", "kind", "sector", "idempotency_key"],
        ["country", "subdivision", "submitter_contact"],
    ),
    "source": (
        lambda seeded: {"source-title": "A source", "source-language": "en", "source-publisher": "Example News",
                        "source-url": "https://example.org/a", "source-published_date": "2020-06", "notes": "PDF"},
        ["source-title", "source-publisher", "notes", "submitter_name"],
        ["source-id", "idempotency_key"],
        ["source-url", "source-language", "source-published_date", "submitter_contact"],
    ),
    "disclosure": (
        lambda seeded: {**DISCLOSURE, "reported_count": "5,152", "period_start": "2023", "period_end": "2024"},
        ["title", "disclosed_by", "description", "completeness_note", "submitter_name"],
        ["kind", "idempotency_key"],
        ["disclosed_date", "reported_count", "period_start", "period_end", "submitter_contact"],
    ),
    "response": (
        lambda seeded: {**response_data(seeded), "quote": "No comment.", "response_date": "2020-03",
                        "source-url": "https://example.org/r"},
        ["quote", "summary", "locator", "author", "source-title", "source-publisher", "submitter_name"],
        ["relationship_id", "organisation", "kind", "source-id", "idempotency_key"],
        ["response_date", "source-url", "source-language", "source-published_date", "submitter_contact"],
    ),
    "breach": (
        lambda seeded: {"organisation-id": str(org_id(seeded, "clearview-ai")), "organisation-name": "Clearview AI",
                        "title": "A breach", "description": "What happened.", "notes": "Notes.",
                        "start_date": "2020-01", "end_date": "2020-02", "discovered_date": "2020-02",
                        "notified_date": "2020-03", "affected_low": "1,000", "affected_high": "2,000",
                        "affected_unit": "records", "breach_types": ["hacking"], "data_kinds": ["names", "health"],
                        "media": ["email"], "verified": "y", "source-title": "A source", "source-language": "en",
                        "source-url": "https://example.org/b", "locator": "page 2", "quote": "A quote"},
        ["title", "description", "notes", "locator", "quote", "source-title", "source-publisher", "submitter_name"],
        ["organisation-id", "affected_unit", "breach_types", "data_kinds", "media", "disclosures", "verified",
         "idempotency_key"],
        ["start_date", "end_date", "discovered_date", "notified_date", "affected_low", "affected_high", "source-url",
         "source-language", "source-published_date", "submitter_contact"],
    ),
    "figure": (
        lambda seeded: {"organisation-id": str(org_id(seeded, "amazon")), "metric": "lobbying spend", "low": "1,000",
                        "high": "2,000", "unit": "USD", "period_start": "2018", "period_end": "2019",
                        "source-title": "A source", "source-language": "en", "source-url": "https://example.org/f",
                        "locator": "paragraph 18"},
        ["metric", "unit", "locator", "source-title", "source-publisher", "submitter_name"],
        ["organisation-id", "organisation-choice", "breach_id", "source-id", "idempotency_key"],
        ["low", "high", "period_start", "period_end", "source-url", "source-language", "source-published_date",
         "submitter_contact"],
    ),
    "correction": (
        lambda seeded: {"relationship_id": response_data(seeded)["relationship_id"],
                        "problem": "The dates are wrong.", "evidence": "https://example.org/e, page 2."},
        ["problem", "evidence", "submitter_name"],
        ["relationship_id", "idempotency_key"],
        ["submitter_contact"],
    ),
}  # fmt: skip


class Sweep:
    """Posts to one form from one session; records what was stored."""

    def __init__(self, app, seeded, kind: str) -> None:
        self.client = app.test_client()
        self.seeded = seeded
        self.kind = kind
        page = self.client.get(f"/submit/{kind}").get_data(as_text=True)
        self.token = hidden_fields(page)["csrf_token"]
        self.stored: dict[str, str] = {}  # reference -> what was sent, as a label
        self.baseline: dict[str, int] | None = None
        self.writes = Writes(seeded.intake_db)
        self.values: dict[str, str] = {}

    def post(self, data: dict[str, str], label: str, value: str = "<"):
        key = uuid.uuid4().hex
        data = {"csrf_token": self.token, "idempotency_key": key, **data}
        self.writes.changed()
        response = self.client.post(f"/submit/{self.kind}", data=data)
        body = assert_no_error_page(response, label)
        if response.status_code == 303:
            reference = response.headers["Location"].rsplit("/", 1)[1]
            assert reference not in self.stored, f"{label}: {reference} given twice"
            self.stored[reference] = label
            self.values[reference] = value
            assert self.writes.changed(), f"{label}: stored, yet data_version did not change"  # the check works
        else:
            assert response.status_code in (422, 413), f"{label}: {response.status_code}"
            assert not self.writes.changed(), f"{label}: refused, but something was written"
            if response.status_code == 422 and MARKUP.search(value):
                if self.baseline is None:
                    self.baseline = tag_counts(self.client.get(f"/submit/{self.kind}").get_data(as_text=True))
                problems = inert_problems(body, baseline=self.baseline)
                assert problems == [], f"{label}: the re-rendered form has {problems}"
        return response


MARKUP = re.compile(r"[<>\"'`:=&\\]")  # a value without these cannot make markup, attributes or a URL scheme


def stored_submissions(seeded, references) -> dict[str, tuple[int, dict]]:
    conn = sqlite3.connect(seeded.intake_db)
    try:
        rows = conn.execute(
            f"select reference, id, payload from submissions where reference in ({','.join('?' * len(references))})",
            list(references),
        ).fetchall()
    finally:
        conn.close()
    return {reference: (sid, json.loads(payload)) for reference, sid, payload in rows}


def check_dump_grew_by_submissions_only(before: list[str], after: list[str], stored: int) -> None:
    """The database after a sweep is the one before plus one submissions row per 303."""
    removed = sorted(set(before) - set(after))
    added = sorted(set(after) - set(before))
    assert removed == [], f"rows changed or removed: {removed[:3]}"
    assert all(line.startswith('INSERT INTO "submissions"') for line in added), [
        line[:120] for line in added if not line.startswith('INSERT INTO "submissions"')
    ][:3]
    assert len(added) == stored


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(FORMS))
def test_hostile_values_in_every_field_of_every_form(hostile_app, seeded, reviewer_of, kind):
    base_of, free_fields, parsed_fields, shaped_fields = FORMS[kind]
    base = base_of(seeded)
    sweep = Sweep(hostile_app, seeded, kind)
    first = sweep.post(base, "harmless base")
    assert first.status_code == 303  # the base is valid: refusals are the value's
    ((harmless_id, _),) = stored_submissions(seeded, list(sweep.stored)).values()
    before = dump(seeded.intake_db)
    sweep.stored.clear()
    sent: dict[str, dict[str, str]] = {}
    for value_id, value in VALUES:
        data = {**base, **dict.fromkeys(free_fields, value)}
        if kind == "relationship" and value.strip():
            data["client-name"] = f"{value} {uuid.uuid4().hex[:6]}"  # not an existing organisation's name
        response = sweep.post(data, f"{kind} free text {value_id}", value)
        if response.status_code == 303:
            sent[response.headers["Location"].rsplit("/", 1)[1]] = data
        sweep.post({**base, **dict.fromkeys(parsed_fields, value)}, f"{kind} parsed fields={value_id}", value)
        if value in SHAPED_VALUES:
            for field in shaped_fields:
                sweep.post({**base, field: value}, f"{kind} {field}={value_id}", value)
    stored = stored_submissions(seeded, sweep.stored)
    assert len(stored) == len(sweep.stored)
    check_dump_grew_by_submissions_only(before, dump(seeded.intake_db), len(stored))

    # Stored values are kept as typed (single-line fields with their spaces collapsed).
    for reference, data in sent.items():
        form = stored[reference][1]["form"]
        for field in free_fields:
            if field == "submitter_name":
                continue  # private: kept out of the payload
            group, name = field.split("-", 1) if "-" in field and field.split("-")[0] in form else (None, field)
            kept = form[group][name] if group else form[name]
            assert kept is None or " ".join(kept.split()) == " ".join(data[field].split()), (reference, field)

    # The reviewer's view of every stored hostile submission, and the queue listing them all.
    baseline = tag_counts(reviewer_of.get(f"/review/submissions/{harmless_id}").get_data(as_text=True))
    for reference, (submission_id, _) in stored.items():
        if not MARKUP.search(sweep.values[reference]):
            continue  # nothing in it can make markup
        page = assert_no_error_page(reviewer_of.get(f"/review/submissions/{submission_id}"), reference)
        assert reference in page
        assert inert_problems(page, baseline=baseline) == [], (sweep.stored[reference], inert_problems(page))
    queue = assert_no_error_page(reviewer_of.get("/review"), "queue")
    assert inert_problems(queue) == []
    print(f"{kind}: {len(VALUES)} values, {len(sweep.stored)} stored")


@pytest.mark.parametrize("url", ["https://[::1/", "https://example.org:99999/", "http://[evil/x"])
def test_a_malformed_source_address_is_refused_not_a_500(hostile_app, seeded, url):
    """urlsplit raises ValueError on these: it was an uncaught error (a 500)."""
    sweep = Sweep(hostile_app, seeded, "source")
    response = sweep.post({**FORMS["source"][0](seeded), "source-url": url}, url, url)
    assert response.status_code == 422
    assert "is not a web address starting with http:// or https://" in response.get_data(as_text=True)


@pytest.mark.parametrize("value", ["\ufffe", "a\uffffb"])
def test_non_characters_are_refused_as_the_atom_feed_cannot_carry_them(hostile_app, seeded, value):
    """XML 1.0 has no U+FFFE or U+FFFF: stored and approved, they made the feed unreadable."""
    sweep = Sweep(hostile_app, seeded, "organisation")
    response = sweep.post({**FORMS["organisation"][0](seeded), "name": f"Organisation {value}"}, repr(value), value)
    assert response.status_code == 422
    assert "contains control or direction-override characters" in response.get_data(as_text=True)
