"""Stored hostile values in Chromium, against `registry serve`: the contributor's
confirmation, the reviewer's submission pages, and once approved, Datasette's table,
search, organisation, vendor and disclosure pages, the Atom feed and the CSV downloads.

On every page: no dialog opens, no script of a value's making runs (the payloads set
window.__hostile or call alert()), the DOM holds no event-handler attribute, no
javascript:/data:/vbscript: link and no element a value made; CSV cells a spreadsheet
would run are neutralised."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from xml.etree import ElementTree

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import hidden_fields, make_hostile_app, query, serving
from tests.hostile import FLAG
from tests.test_browser import PASSWORD, REVIEWER, JsErrors, browser, js_errors, page, reviewer  # noqa: F401
from tests.test_hostile_forms import relationship_base

pytestmark = pytest.mark.slow

TAG = uuid.uuid4().hex[:6]
# Names that are search terms as well as payloads (the word before the markup).
VENDOR = f'Hostilevendor{TAG} <img src=x onerror="window.{FLAG}=1"> "; DROP TABLE submissions; --'
CLIENT = f'Hostileclient{TAG} <script>window.{FLAG}=1</script> " autofocus onfocus=alert(1) x=" {{{{7*7}}}}'
HOSTILE_FIELDS = {
    "vendor-name": VENDOR,
    "client-name": CLIENT,
    "product": "=cmd|' /C calc'!A0",
    "summary": f"<svg/onload=window.{FLAG}=1> ${{7*7}} x]; DROP TABLE relationships; -- Clear\u200bview",
    "notes": "+1+1 <iframe src=javascript:alert(1)></iframe>",
    "locator": "@SUM(1+1) <a href=javascript:alert(1)>row</a>",
    "quote": "-2+3+cmd|' /C calc'!A0 </textarea><script>alert(1)</script>",
    "source-title": f"Source{TAG} <details open ontoggle=alert(1)> ＜script＞alert(1)＜/script＞ 😀",
    "source-url": 'https://example.org/"><script>alert(1)</script>',
    "source-publisher": '=HYPERLINK("https://evil.example/","x") <body onload=alert(1)>',
}
ORGANISATION_FIELDS = {
    "name": f"Hostileorg{TAG} <svg><script>alert(1)</script></svg>",
    "kind": "company",
    "sector": "technology",
    "country": "BE",
    "aliases": "<img src=x onerror=alert(1)>\n=cmd|' /C calc'!A0\n{{config}}",
    "description": f"<style>@import 'javascript:alert(1)';</style> <marquee onstart=window.{FLAG}=1>",
}
DISCLOSURE_FIELDS = {
    "title": f"Hostiledisclosure{TAG} <object data=javascript:alert(1)></object>",
    "kind": "leak",
    "disclosed_date": "2020-02",
    "disclosed_by": "@SUM(1+1) <base href=//evil.example/>",
    "description": f"<math><mtext></mtext><mglyph><style><img src=x onerror=window.{FLAG}=1>",
    "completeness_note": "'; DROP TABLE submissions; -- <meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

DOM_CHECK = """() => {
  const bad = [];
  const urlAttributes = ["href", "src", "action", "formaction", "xlink:href", "data", "srcdoc", "background"];
  for (const el of document.querySelectorAll("*")) {
    for (const a of el.attributes) {
      const name = a.name.toLowerCase();
      const value = a.value.replace(/[\\s\\x00-\\x1f]/g, "").toLowerCase();
      if (name.startsWith("on")) bad.push(el.tagName + " " + name + "=" + a.value);
      if (urlAttributes.includes(name) && /^(javascript|vbscript|data):/.test(value)
          && !(el.tagName === "LINK" && value === "data:,")) bad.push(el.tagName + " " + name + "=" + a.value);
      if (name === "autofocus" && el.tagName !== "INPUT") bad.push(el.tagName + " autofocus");
    }
    if (el.tagName === "SCRIPT" && /alert|__hostile/.test(el.textContent)) bad.push("inline script: " + el.textContent);
    if (["IFRAME", "OBJECT", "EMBED", "IMG", "BASE", "MARQUEE", "AUDIO", "VIDEO", "MATH"]
        .includes(el.tagName.toUpperCase())) bad.push(el.tagName);
  }
  return {bad: bad, flag: typeof window.__hostile !== "undefined"};
}"""


class Watch:
    """Dialogs opened and pages checked."""

    def __init__(self, page: Page) -> None:  # noqa: F811 - not the fixture
        self.page = page
        self.dialogs: list[str] = []
        self.checked: list[str] = []
        page.on("dialog", self._dialog)

    def _dialog(self, dialog) -> None:
        self.dialogs.append(f"{self.page.url}: {dialog.type} {dialog.message}")
        dialog.dismiss()

    def check(self, what: str, must_show: str | None = None) -> None:
        """The current page shows `must_show` as text, and nothing in it is live."""
        self.page.wait_for_load_state("load")
        self.page.wait_for_timeout(150)  # onerror/onload/onfocus handlers fire after loading
        if must_show is not None:
            expect(self.page.locator("body")).to_contain_text(must_show)
        result = self.page.evaluate(DOM_CHECK)
        assert result["bad"] == [], f"{what} ({self.page.url}): {result['bad']}"
        assert not result["flag"], f"{what}: a payload's script ran"
        assert self.dialogs == [], f"{what}: {self.dialogs}"
        self.checked.append(what)


def post(app, kind: str, data: dict[str, str]) -> str:
    client = app.test_client()
    response = client.post(f"/submit/{kind}", data={**hidden_fields(client.get(f"/submit/{kind}").get_data(True)),
                                                    **data})  # fmt: skip
    errors = re.findall(r'id="([^"]+)-errors"><li>([^<]*)', response.get_data(as_text=True))
    assert response.status_code == 303, errors
    return response.headers["Location"].rsplit("/", 1)[1]


def submission_id(seeded, reference: str) -> int:
    return query(seeded.intake_db, "select id from submissions where reference = ?", [reference])[0][0]


def fill_relationship_in_the_browser(page: Page, served, watch: Watch) -> None:  # noqa: F811 - not the fixture
    """A contributor types payloads into the real form; the confirmation page is inert."""
    page.goto(f"{served.intake}/submit/relationship")
    values = {
        "#vendor-name": f"Browservendor{TAG} <img src=x onerror=alert(1)>",
        "#client-name": f'Browserclient{TAG} " autofocus onfocus=window.{FLAG}=1 x="',
        "#summary": "<script>alert(1)</script> =cmd|' /C calc'!A0",
        "#product": "{{7*7}} ${7*7}",
        "#source-title": "<svg onload=alert(1)>",
        "#source-language": "en",
        "#locator": "'; DROP TABLE submissions; --",
        "#quote": "Clear\u200bview \u00adsoft",
    }
    for selector, value in values.items():
        page.locator(selector).fill(value)
    for group in ("vendor", "client"):
        page.locator(f"#{group}-is_new").check()
        page.locator(f"#{group}-kind").select_option("company")
        page.locator(f"#{group}-sector").select_option("technology")
    page.locator("#arrangement").select_option("unknown")
    watch.check("the relationship form, filled with payloads")
    page.get_by_role("button", name="Send for review").click()
    expect(page.locator("#reference")).to_have_text(re.compile(r"^S-[0-9A-Z]{10}$"))
    watch.check("the confirmation page")


def test_stored_hostile_values_are_inert_in_both_apps(seeded, reviewer, monkeypatch, page: Page, js_errors):  # noqa: F811
    app = make_hostile_app(monkeypatch)
    relationship = {**relationship_base(seeded), **HOSTILE_FIELDS}
    del relationship["vendor-id"]
    relationship |= {"vendor-is_new": "y", "vendor-kind": "company", "vendor-sector": "technology"}
    references = {
        "relationship": post(app, "relationship", relationship),
        "organisation": post(app, "organisation", ORGANISATION_FIELDS),
        "disclosure": post(app, "disclosure", DISCLOSURE_FIELDS),
    }
    watch = Watch(page)
    with serving(seeded) as served:
        fill_relationship_in_the_browser(page, served, watch)

        page.goto(f"{served.intake}/login")
        page.locator("#name").fill(REVIEWER)
        page.locator("#password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(f"{served.intake}/review")
        watch.check("the review queue", must_show=f"Hostilevendor{TAG}")
        browser_reference = query(seeded.intake_db, "select reference from submissions order by id desc limit 1")[0][0]
        page.goto(f"{served.intake}/review/submissions/{submission_id(seeded, browser_reference)}")
        watch.check("the reviewer's page of the browser's submission", must_show=f"Browserclient{TAG}")
        for kind, reference in references.items():
            page.goto(f"{served.intake}/review/submissions/{submission_id(seeded, reference)}")
            watch.check(f"the reviewer's page of the {kind}", must_show=reference)
            page.get_by_text("Edit before approving").click()  # open the edit form: its inputs hold the values
            watch.check(f"the reviewer's edit form of the {kind}")
            page.get_by_role("button", name="Approve and publish").click()
            expect(page.locator(".flash")).to_have_text("Approved and published.")
            watch.check(f"the queue after approving the {kind}")
        page.goto(f"{served.intake}/review/relationships?q=Hostile")
        watch.check("the published relationships, searched", must_show=f"Hostileclient{TAG}")

        ds = f"{served.datasette}/registry"
        [(client_id,)] = query(
            seeded.registry_db, "select id from organisations where name like ?", [f"Hostileclient{TAG}%"]
        )
        [(vendor_id,)] = query(
            seeded.registry_db, "select id from organisations where name like ?", [f"Hostilevendor{TAG}%"]
        )
        [(org_id,)] = query(seeded.registry_db, "select id from organisations where name like ?", [f"Hostileorg{TAG}%"])
        [(disclosure_id,)] = query(seeded.registry_db, "select id from disclosures where title like ?",
                                   [f"Hostiledisclosure{TAG}%"])  # fmt: skip
        for what, url, shown in (
            ("the relationships table", f"{ds}/relationships", f"Hostileclient{TAG}"),
            ("search results", f"{ds}/relationships?_search=Hostileclient{TAG}", f"Hostileclient{TAG}"),
            ("search by a payload", f"{ds}/relationships?_search=" + "%3Cscript%3Ealert(1)%3C/script%3E", None),
            ("the organisation (client) page", f"{ds}/organisations/{client_id}", f"Hostileclient{TAG}"),
            ("the vendor page", f"{ds}/organisations/{vendor_id}", f"Hostilevendor{TAG}"),
            ("the organisation submitted alone", f"{ds}/organisations/{org_id}", f"Hostileorg{TAG}"),
            ("the disclosure page", f"{ds}/disclosures/{disclosure_id}", f"Hostiledisclosure{TAG}"),
            ("the sources table", f"{ds}/sources?_sort_desc=id", f"Source{TAG}"),
            ("the aliases table", f"{ds}/organisation_aliases?_sort_desc=id", "{{config}}"),
            ("the citations table", f"{ds}/citations?_sort_desc=id", "@SUM(1+1)"),
            ("the clients of the vendor", f"{ds}/clients_of_vendor?vendor=Hostilevendor{TAG}", None),
            ("the overview", f"{served.datasette}/overview", None),
        ):
            page.goto(url)
            watch.check(what, must_show=shown)

        # The feed is well-formed XML carrying the names as text.
        feed = page.request.get(f"{ds}/new_relationships.atom")
        assert feed.ok, feed.text()
        assert "<script" not in feed.text() and "<img" not in feed.text()
        titles = [e.text for e in ElementTree.fromstring(feed.body()).iter("{http://www.w3.org/2005/Atom}title")]
        assert any(f"Hostileclient{TAG} <script>" in (t or "") for t in titles), titles

        # CSV downloads: the hostile row's formulas are neutralised; JSON keeps them as they are.
        for url in (
            f"{ds}/relationships.csv?client_id={client_id}",
            f"{ds}/relationships.csv?_stream=on&client_id={client_id}",
            f"{ds}/relationships.csv?_search=Hostileclient{TAG}",
            f"{ds}/citations.csv?_sort_desc=id&_size=5",
            f"{ds}/sources.csv?_sort_desc=id&_size=5",
            f"{ds}/organisation_aliases.csv?_sort_desc=id&_size=5",
            f"{ds}/relationships?_format=csv&client_id={client_id}",
        ):
            response = page.request.get(url)
            assert response.ok, (url, response.status)
            if "_format=csv" in url and not response.headers["content-type"].startswith(("text/csv", "text/plain")):
                continue  # Datasette 0.65 answers it with the HTML page: no CSV escapes the guard that way
            rows = list(csv.reader(io.StringIO(response.text())))
            assert len(rows) > 1, url
            live = [cell for row in rows[1:] for cell in row if cell.startswith(FORMULA_STARTS)]
            assert live == [], f"{url}: live formulas {live}"
        as_json = page.request.get(f"{ds}/relationships.json?client_id={client_id}&_shape=array")
        assert json.loads(as_json.text())[0]["product"] == HOSTILE_FIELDS["product"]
    assert served.process.returncode == 0, served.output
    assert "Traceback" not in served.output
    assert len(watch.checked) >= 20
    assert js_errors.found == [] or all("Content Security Policy" in e or "favicon" in e for e in js_errors.found), (
        js_errors.found
    )
