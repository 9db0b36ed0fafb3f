"""The seed says only what its sources say (issue 14): every organisation, relationship,
place, date and figure in seed/ is in a paragraph that the seed cites from one of the five
stored documents, or the seed says in words that it is not.

A locator "paragraph N" is the N-th non-empty line of the stored file, and every quote is
a verbatim substring of that paragraph. Where a fact is a translation (the documents are
mostly in French), the check uses the quote and a short list of equivalences kept here and
reviewed with the seed: country adjectives ("américaine" -> US) and one name. A fact no
stored document gives (a country of a company, a year the undated article leaves out)
stays only if its record says so: "... not stated in the stored documents" (or "copy").

The checks are functions that return their problems, so that the last tests can show
them failing on what the seed used to say (two police agencies no document names)."""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
import yaml

from registry.rules.records import build_breach
from registry.store.vocabulary import load_vocabulary
from tests.conftest import ROOT, SHARED, query

SEED = ROOT / "seed"
DOCUMENTS = {"sha256:" + hashlib.sha256(p.read_bytes()).hexdigest(): p for p in (SHARED / "seeds").glob("0*.txt")}

# Reviewed equivalences. A country is supported by a quote that names the organisation and
# one of these words; keep the list to words that say the country, not a language or a
# place inside it.
COUNTRY_WORDS = {
    "US": ("États-Unis", "Etats-Unis", "américain", "américaine", "américaines", "American", "US", "U.S."),
    "FR": ("France", "français", "française"),
    "BE": ("Belgique", "belge", "Belgium", "Belgian"),
}
# Subdivisions and cities a quote may state, as {code or city: words}. None is seeded.
PLACE_WORDS: dict[str, tuple[str, ...]] = {}
# Names the documents give only in a phrase of their own (French plural, "like France's").
NAME_EQUIVALENCES = {"police-nationale": ("polices nationales comme celle de la France",)}
MONTHS = {
    1: ("janvier", "january"),
    2: ("février", "fevrier", "february"),
    3: ("mars", "march"),
    4: ("avril", "april"),
    5: ("mai", "may"),
    6: ("juin", "june"),
    7: ("juillet", "july"),
    8: ("août", "aout", "august"),
    9: ("septembre", "september"),
    10: ("octobre", "october"),
    11: ("novembre", "november"),
    12: ("décembre", "decembre", "december"),
}
NOT_STATED = re.compile(r"\bnot stated in the stored (?:documents|copy)\b")


def normal(text: str) -> str:
    """Case, curly apostrophes and no-break spaces do not make a name or a word differ."""
    return re.sub(r"\s+", " ", text.replace("\u2019", "'").replace("\xa0", " ")).casefold()


def mentions(text: str, phrase: str, *, exact: bool = False) -> bool:
    """The phrase as whole words ("ICE" is not in "police"); `exact` keeps case ("US", not "us")."""
    fold = (lambda s: re.sub(r"\s+", " ", s.replace("\u2019", "'").replace("\xa0", " "))) if exact else normal
    return re.search(rf"(?<!\w){re.escape(fold(phrase))}(?!\w)", fold(text)) is not None


def marked(text: str | None, says: Callable[[str], bool]) -> bool:
    """The record says in words, in one sentence, that this fact is not in the stored
    documents: the sentence names the field ("Its country is not stated ...") or, for a
    date, writes the date itself ("... October 2018 is the date of ...")."""
    sentences = re.split(r"(?<=\.)\s+", text or "")
    return any(NOT_STATED.search(s) and says(s) for s in sentences)


def names_field(field: str) -> Callable[[str], bool]:
    return lambda sentence: re.search(rf"\b{field}\b", sentence, re.IGNORECASE) is not None


@dataclass(frozen=True)
class Cited:
    """One citation, response or figure: the paragraph it names and its quote."""

    where: str
    source: str
    paragraph: str
    quote: str


class Seed:
    """seed/*.yml with the stored documents, read as YAML: no database involved."""

    def __init__(self, folder: Path = SEED) -> None:
        def load(name: str) -> Any:
            path = folder / name
            return yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else []

        self.sources = {s["slug"]: s for s in load("sources.yml")}
        self.organisations = {o["slug"]: o for o in load("organisations.yml")}
        self.disclosures = {d["slug"]: d for d in load("disclosures.yml")}
        self.relationships = load("relationships.yml")
        self.breaches = load("breaches.yml") or []
        self.documents = {
            slug: paragraphs(DOCUMENTS[s["content_hash"]])
            for slug, s in self.sources.items()
            if s.get("content_hash") in DOCUMENTS
        }
        self.problems: list[str] = []

    # -- what each record cites ------------------------------------------------------

    def cite(self, item: dict[str, Any], where: str) -> Cited | None:
        """The paragraph a citation, response or figure names, checked: a stored document,
        'paragraph N' within it, and a quote found verbatim there."""
        document = self.documents.get(item.get("source"))
        match = re.fullmatch(r"paragraph (\d+)", item.get("locator") or "")
        if document is None:
            self.problems.append(f"{where}: source {item.get('source')!r} is not a stored document")
        elif not match or not 1 <= int(match.group(1)) <= len(document):
            self.problems.append(f"{where}: locator {item.get('locator')!r} is not a paragraph of {item['source']}")
        elif not item.get("quote") or item["quote"] not in document[int(match.group(1)) - 1]:
            self.problems.append(f"{where}: quote {item.get('quote')!r} is not verbatim in {item['locator']}")
        else:
            return Cited(where, item["source"], document[int(match.group(1)) - 1], item["quote"])
        return None

    def cites(self, items: Iterable[dict[str, Any]], where: str) -> list[Cited]:
        return [c for i, item in enumerate(items) if (c := self.cite(item, f"{where}[{i}]"))]

    def relationship_label(self, rel: dict[str, Any]) -> str:
        return f"relationships.yml ({rel['vendor']} -> {rel['client']})"

    def about(self) -> dict[str, list[Cited]]:
        """For each organisation, the citations of every record that names it: the
        relationships it is a party to, its breaches, its responses, its figures."""
        found: dict[str, list[Cited]] = {slug: [] for slug in self.organisations}
        for rel in self.relationships:
            label = self.relationship_label(rel)
            cited = self.cites(rel.get("citations", []), f"{label} citations")
            for party in (rel["vendor"], rel["client"]):
                found.setdefault(party, []).extend(cited)
            for i, r in enumerate(rel.get("responses", [])):
                found.setdefault(r["organisation"], []).extend(self.cites([r], f"{label} responses[{i}]"))
        for slug, d in self.disclosures.items():
            for i, r in enumerate(d.get("responses", [])):
                where = f"disclosures.yml ({slug}) responses[{i}]"
                found.setdefault(r["organisation"], []).extend(self.cites([r], where))
        for b in self.breaches:
            cited = self.cites(b.get("citations", []), f"breaches.yml ({b['slug']}) citations")
            for party in (b["organisation"], b.get("vendor")):
                if party:
                    found.setdefault(party, []).extend(cited)
        for slug, o in self.organisations.items():
            found[slug].extend(self.cites(o.get("observations", []), f"organisations.yml ({slug}) observations"))
        return found


def paragraphs(path: Path) -> list[str]:
    """The non-empty lines of a document (a line of spaces or no-break spaces is empty)."""
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def names(org: dict[str, Any]) -> list[str]:
    return [org["name"], *(a["alias"] if isinstance(a, dict) else a for a in org.get("aliases", []))]


def named(org: dict[str, Any], slug: str, text: str) -> bool:
    return any(mentions(text, n) for n in [*names(org), *NAME_EQUIVALENCES.get(slug, ())])


# -- the checks ------------------------------------------------------------------------


def citation_problems(seed: Seed) -> list[str]:
    """Every citation, response and figure quotes a stored document's paragraph verbatim,
    and a response's named author (the one place a person may be named) is in it."""
    seed.about()
    for slug, d in seed.disclosures.items():
        for i, r in enumerate(d.get("responses", [])):
            cited = seed.cite(r, f"disclosures.yml ({slug}) responses[{i}]")
            if cited and r.get("author") and not mentions(cited.paragraph, r["author"].split(",")[0]):
                seed.problems.append(f"{cited.where}: author {r['author']!r} is not named in {r['locator']}")
    return list(dict.fromkeys(seed.problems))


def name_problems(seed: Seed) -> list[str]:
    """Each organisation is named (by its name or an alias) in a paragraph cited about it;
    both parties of a relationship, and a breach's organisation, in its own paragraphs."""
    problems = []
    about = seed.about()
    for slug, org in seed.organisations.items():
        if not any(named(org, slug, c.paragraph) for c in about[slug]):
            problems.append(f"organisations.yml ({slug}): {org['name']!r} is in no paragraph cited about it")
    for rel in seed.relationships:
        label = seed.relationship_label(rel)
        cited = seed.cites(rel.get("citations", []), label)
        for role in ("vendor", "client"):
            org = seed.organisations.get(rel[role])
            if org is None or not any(named(org, rel[role], c.paragraph) for c in cited):
                problems.append(f"{label}: the {role} {rel[role]!r} is in none of its cited paragraphs")
    for b in seed.breaches:
        cited = seed.cites(b.get("citations", []), b["slug"])
        for role in ("organisation", "vendor"):
            org = seed.organisations.get(b.get(role) or "")
            if b.get(role) and (org is None or not any(named(org, b[role], c.paragraph) for c in cited)):
                where = f"breaches.yml ({b['slug']})"
                problems.append(f"{where}: the {role} {b[role]!r} is in none of its cited paragraphs")
    return problems


def parent_problems(seed: Seed) -> list[str]:
    """An organisation is part of another (its `parent`) only where a paragraph cited about it
    names both (the DEA, "Rattachée au ministère de la Justice")."""
    problems = []
    about = seed.about()
    for slug, org in seed.organisations.items():
        parent = org.get("parent")
        if not parent:
            continue
        upper = seed.organisations.get(parent)
        if upper is None or not any(
            named(org, slug, c.paragraph) and named(upper, parent, c.paragraph) for c in about[slug]
        ):
            problems.append(f"organisations.yml ({slug}): parent {parent!r} is in no cited paragraph that names both")
    return problems


def place_problems(seed: Seed) -> list[str]:
    """A country, subdivision or city is said by a quote that also names the organisation
    (a paragraph may speak of several), or marked as not stated; an international body
    has none (it shows as "International")."""
    problems = []
    about = seed.about()
    for slug, org in seed.organisations.items():
        where = f"organisations.yml ({slug})"
        quotes = [c.quote for c in about[slug] if named(org, slug, c.quote)]
        if org["kind"] == "international-body" and org.get("country"):
            problems.append(f"{where}: an international body has no country, not {org['country']!r}")
        country = org.get("country")
        if country and not marked(org.get("description"), names_field("country")):
            words = COUNTRY_WORDS.get(country, ())
            if not any(mentions(q, w, exact=True) for q in quotes for w in words):
                problems.append(f"{where}: country {country!r} is in no quote naming it, and not marked as not stated")
        for field in ("subdivision", "city"):
            value = org.get(field)
            words = PLACE_WORDS.get(value or "", ())
            if (
                value
                and not marked(org.get("description"), names_field(field))
                and not any(mentions(q, w) for q in quotes for w in words)
            ):
                problems.append(f"{where}: {field} {value!r} is in no quote naming it, and not marked as not stated")
    return problems


def date_patterns(value: str) -> list[str]:
    """How a document writes a date of this precision: '2020-02', 'septembre 2017',
    'June 2, 2020', '18 juin 2020' (the year next to its month, not elsewhere)."""
    parts = [int(p) for p in value.split("-")]
    if len(parts) == 1:
        return [rf"\b{parts[0]}\b"]
    year, month = parts[0], MONTHS[parts[1]]
    names = "|".join(month)
    if len(parts) == 2:
        return [re.escape(value), rf"\b(?:{names})\s+(?:\d{{1,2}},?\s+)?{year}\b"]
    day = parts[2]
    return [re.escape(value), rf"\b{day}(?:er)?\s+(?:{names})\s+{year}\b", rf"\b(?:{names})\s+{day},?\s+{year}\b"]


def date_supported(value: str, cited: Iterable[str]) -> bool:
    return any(re.search(p, normal(text)) for text in cited for p in date_patterns(value))


def dated_fields(seed: Seed) -> Iterator[tuple[str, str, str, list[str], str]]:
    """(where, field, date, paragraphs that may support it, the record's own words)."""
    rel_paragraphs: dict[str, list[str]] = {}
    for rel in seed.relationships:
        label = seed.relationship_label(rel)
        cited = [c.paragraph for c in seed.cites(rel.get("citations", []), label)]
        if rel.get("disclosure"):
            rel_paragraphs.setdefault(rel["disclosure"], []).extend(cited)
        text = f"{rel.get('summary', '')} {rel.get('notes', '')}"
        for field in ("start_date", "end_date"):
            yield label, field, rel.get(field), cited, text
        for i, r in enumerate(rel.get("responses", [])):
            own = [c.paragraph for c in seed.cites([r], label)]
            yield f"{label} responses[{i}]", "response_date", r.get("response_date"), own, r.get("summary", "")
    for b in seed.breaches:
        cited = [c.paragraph for c in seed.cites(b.get("citations", []), b["slug"])]
        for d in b.get("disclosures", []):
            rel_paragraphs.setdefault(d, []).extend(cited)
        text = f"{b.get('description', '')} {b.get('notes', '')}"
        for field in ("start_date", "end_date", "discovered_date", "notified_date"):
            yield f"breaches.yml ({b['slug']})", field, b.get(field), cited, text
    for slug, d in seed.disclosures.items():
        cited = rel_paragraphs.get(slug, []) + [c.paragraph for c in seed.cites(d.get("responses", []), slug)]
        text = f"{d.get('description', '')} {d.get('completeness_note', '')}"
        for field in ("disclosed_date", "period_start", "period_end"):
            yield f"disclosures.yml ({slug})", field, d.get(field), cited, text
        for i, r in enumerate(d.get("responses", [])):
            own = [c.paragraph for c in seed.cites([r], slug)]
            yield f"disclosures.yml ({slug}) responses[{i}]", "response_date", r.get("response_date"), own, ""
    for slug, o in seed.organisations.items():
        for i, ob in enumerate(o.get("observations", [])):
            own = [c.paragraph for c in seed.cites([ob], slug)]
            for field in ("period_start", "period_end"):
                yield f"organisations.yml ({slug}) observations[{i}]", field, ob.get(field), own, ob.get("metric", "")
    for slug, s in seed.sources.items():
        # A stored document's own date is in its own text; an original report has no text here.
        yield (
            f"sources.yml ({slug})",
            "published_date",
            s.get("published_date"),
            seed.documents.get(slug, []),
            s.get("notes", ""),
        )


def date_problems(seed: Seed) -> list[str]:
    return [
        f"{where}: {field} {value!r} is in no cited paragraph, and not marked as not stated"
        for where, field, value, cited, text in dated_fields(seed)
        if value
        and not date_supported(str(value), cited)
        and not marked(text, lambda sentence, v=str(value): date_supported(v, [sentence]))
    ]


def number_forms(value: float) -> list[str]:
    """How a French or English text writes a figure: 2200, 2,200, 2.200, 2 200, 3,63 millions."""
    n = int(value)
    forms = {str(n), f"{n:,}", f"{n:,}".replace(",", "."), f"{n:,}".replace(",", " ")}
    if n >= 1_000_000:
        millions = f"{n / 1_000_000:.2f}".rstrip("0").rstrip(".")
        forms |= {f"{millions.replace('.', ',')} millions", f"{millions} million"}
    return sorted(forms)


def number_supported(value: float, cited: Iterable[str]) -> bool:
    return any(re.search(rf"(?<![\d.,]){re.escape(f)}(?![\d])", normal(t)) for t in cited for f in number_forms(value))


def figure_problems(seed: Seed) -> list[str]:
    """A disclosure's reported count, a breach's numbers affected, a trial's length and
    every figure's low and high are written in a cited paragraph."""
    problems = []
    by_disclosure: dict[str, list[str]] = {}
    for rel in seed.relationships:
        label = seed.relationship_label(rel)
        cited = [c.paragraph for c in seed.cites(rel.get("citations", []), label)]
        by_disclosure.setdefault(rel.get("disclosure") or "", []).extend(cited)
        if rel.get("trial_days") and not number_supported(rel["trial_days"], cited):
            problems.append(f"{label}: trial_days {rel['trial_days']} is in no cited paragraph")
        for i, ob in enumerate(rel.get("observations", [])):
            problems += [f"{label} observations[{i}]: {p}" for p in _figure(seed, ob, label)]
    for b in seed.breaches:
        cited = [c.paragraph for c in seed.cites(b.get("citations", []), b["slug"])]
        for d in b.get("disclosures", []):
            by_disclosure.setdefault(d, []).extend(cited)
        for field in ("affected_low", "affected_high"):
            if b.get(field) is not None and not number_supported(b[field], cited):
                problems.append(f"breaches.yml ({b['slug']}): {field} {b[field]} is in no cited paragraph")
    for slug, d in seed.disclosures.items():
        if d.get("reported_count") and not number_supported(d["reported_count"], by_disclosure.get(slug, [])):
            problems.append(f"disclosures.yml ({slug}): reported_count {d['reported_count']} is in no cited paragraph")
    for slug, o in seed.organisations.items():
        for i, ob in enumerate(o.get("observations", [])):
            problems += [f"organisations.yml ({slug}) observations[{i}]: {p}" for p in _figure(seed, ob, slug)]
    return problems


def _figure(seed: Seed, ob: dict[str, Any], where: str) -> list[str]:
    own = [c.quote for c in seed.cites([ob], where)]
    return [
        f"{field} {ob[field]} is not in its quote"
        for field in ("low", "high")
        if ob.get(field) is not None and not number_supported(ob[field], own)
    ]


def source_problems(seed: Seed) -> list[str]:
    """The title of an original report (not stored here, so its title is in no stored
    document) is a descriptive one, said to be so."""
    return [
        f"sources.yml ({slug}): title {s['title']!r} is from no stored document"
        for slug, s in seed.sources.items()
        if slug not in seed.documents and not s["title"].endswith("(descriptive title)")
    ]


CHECKS = (
    citation_problems, name_problems, parent_problems, place_problems, date_problems, figure_problems, source_problems,
)  # fmt: skip


# -- the seed as it is ---------------------------------------------------------------


def test_the_five_documents_are_all_stored_and_cited():
    seed = Seed()
    assert set(seed.documents) == {
        "doc-usine-digitale-microsoft-dea",
        "doc-amazon-rekognition-ice",
        "doc-clearview-belgian-french-police",
        "doc-cnet-microsoft-dea",
        "doc-buzzfeed-clearview-clients-fr",
    }
    assert {c.source for cited in seed.about().values() for c in cited} == set(seed.documents)
    # The paragraph rule as stored: lines of no-break spaces are not paragraphs.
    assert seed.documents["doc-usine-digitale-microsoft-dea"][18].startswith("Engadget a interrogé Microsoft")


@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__ for c in CHECKS])
def test_the_seed_says_only_what_its_sources_say(check):
    assert check(Seed()) == []


def test_the_checks_cover_every_seeded_fact():
    """What the checks above looked at, counted, so that an empty seed cannot pass them."""
    seed = Seed()
    about = seed.about()
    assert len(seed.organisations) == 30 and all(about[slug] for slug in seed.organisations)
    assert len(seed.relationships) == 28
    dates = [(w, f, v) for w, f, v, _, _ in dated_fields(seed) if v]
    assert len(dates) >= 12
    supported = [(w, f, v) for w, f, v, cited, _ in dated_fields(seed) if v and date_supported(str(v), cited)]
    # Dated from the documents themselves: the DEA emails, L'Usine Digitale's own date,
    # BuzzFeed's (004) date behind the Clearview disclosure and breach.
    assert ("relationships.yml (microsoft -> dea)", "start_date", "2017-09") in supported
    assert ("sources.yml (doc-usine-digitale-microsoft-dea)", "published_date", "2020-06-18") in supported
    assert ("disclosures.yml (clearview-client-list-2020)", "disclosed_date", "2020-02") in supported
    assert ("breaches.yml (clearview-ai-client-list-breach-2020)", "notified_date", "2020-02") in supported
    marked_dates = {(w, f) for w, f, v in dates} - {(w, f) for w, f, v in supported}
    assert ("disclosures.yml (amazon-ice-pogo-foia-2018)", "disclosed_date") in marked_dates
    countries = {slug: o.get("country") for slug, o in seed.organisations.items()}
    says_country = names_field("country")
    unmarked = {
        s for s, o in seed.organisations.items() if o.get("country") and not marked(o["description"], says_country)
    }
    assert unmarked == {
        "clearview-ai", "microsoft", "dea", "us-department-of-homeland-security", "ice", "us-army",
        "police-nationale", "belgian-federal-police", "dgse",
    }  # fmt: skip
    assert countries["interpol"] is None


def test_the_seed_has_what_the_issue_asks_and_no_more():
    seed = Seed()
    pairs = {(r["vendor"], r["client"]) for r in seed.relationships}
    assert ("amazon", "us-department-of-homeland-security") in pairs
    assert not {c for _, c in pairs} & {"washington-county-sheriffs-office", "orlando-police-department"}
    dhs = next(r for r in seed.relationships if r["client"] == "us-department-of-homeland-security")
    assert dhs["arrangement"] == "unknown"  # "un nouveau contrat juteux en perspective": not yet a contract
    assert {c["locator"] for c in dhs["citations"]} == {"paragraph 18", "paragraph 20"}
    (statement,) = seed.disclosures["clearview-client-list-2020"]["responses"]
    assert (statement["organisation"], statement["author"]) == ("clearview-ai", "Tor Ekeland, Clearview AI's lawyer")
    figures = {(o["low"], o["unit"], o["locator"]) for o in seed.organisations["amazon"]["observations"]}
    assert figures == {(3630000, "dollars", "paragraph 12"), (204, "authorisations", "paragraph 18")}
    (breach,) = seed.breaches
    assert (breach["organisation"], breach["disclosures"]) == ("clearview-ai", ["clearview-client-list-2020"])
    assert breach["data_kinds"] == ["client-list", "usage-records"]  # "au nombre de recherches menées"
    assert breach.get("affected_low") is None  # no number of accounts or searches is given
    assert all(len(breach[f]) == 7 for f in ("notified_date",) if breach.get(f))  # month precision


# -- the checks fail on what the seed used to say ------------------------------------

OLD_POLICE = [
    {
        "slug": "washington-county-sheriffs-office",
        "name": "Washington County Sheriff's Office",
        "kind": "public-agency",
        "sector": "law-enforcement",
        "country": "US",
        "subdivision": "US-OR",
        "description": "Sheriff's office of Washington County, Oregon.",
    },
    {
        "slug": "orlando-police-department",
        "name": "Orlando Police Department",
        "kind": "public-agency",
        "sector": "law-enforcement",
        "country": "US",
        "subdivision": "US-FL",
        "description": "Police department of the city of Orlando, Florida.",
    },
]
OREGON_FLORIDA = {
    "source": "doc-amazon-rekognition-ice",
    "locator": "paragraph 10",
    "quote": "la technologie Rekognition équipe néanmoins déjà les forces de police de l’Oregon et de la Floride",
}


def old_seed() -> Seed:
    """Today's seed with relationships 27 and 28 as they were: two agencies named from
    "les forces de police de l'Oregon et de la Floride", Interpol in France, and the
    Amazon -> ICE meeting dated to a year the article does not give."""
    seed = Seed()
    for org in copy.deepcopy(OLD_POLICE):
        seed.organisations[org["slug"]] = org
        seed.relationships.append(
            {"vendor": "amazon", "client": org["slug"], "product": "Rekognition", "arrangement": "unknown",
             "summary": "Rekognition in use by this police force.", "citations": [dict(OREGON_FLORIDA)]}
        )  # fmt: skip
    seed.organisations["interpol"] = {**seed.organisations["interpol"], "country": "FR"}
    ice = next(r for r in seed.relationships if (r["vendor"], r["client"]) == ("amazon", "ice"))
    ice["start_date"] = "2018-06-12"
    ice["notes"] = "The year 2018 follows from the article's date."
    return seed


def test_the_checks_fail_on_the_two_police_agencies_interpol_in_france_and_an_invented_year():
    seed = old_seed()
    problems = [p for check in CHECKS for p in check(seed)]
    assert problems == [
        'organisations.yml (washington-county-sheriffs-office): "Washington County Sheriff\'s Office" '
        "is in no paragraph cited about it",
        "organisations.yml (orlando-police-department): 'Orlando Police Department' is in no paragraph cited about it",
        "relationships.yml (amazon -> washington-county-sheriffs-office): the client "
        "'washington-county-sheriffs-office' is in none of its cited paragraphs",
        "relationships.yml (amazon -> orlando-police-department): the client 'orlando-police-department' "
        "is in none of its cited paragraphs",
        "organisations.yml (interpol): an international body has no country, not 'FR'",
        "organisations.yml (interpol): country 'FR' is in no quote naming it, and not marked as not stated",
        "organisations.yml (washington-county-sheriffs-office): country 'US' is in no quote naming it, "
        "and not marked as not stated",
        "organisations.yml (washington-county-sheriffs-office): subdivision 'US-OR' is in no quote naming it, "
        "and not marked as not stated",
        "organisations.yml (orlando-police-department): country 'US' is in no quote naming it, "
        "and not marked as not stated",
        "organisations.yml (orlando-police-department): subdivision 'US-FL' is in no quote naming it, "
        "and not marked as not stated",
        "relationships.yml (amazon -> ice): start_date '2018-06-12' is in no cited paragraph, "
        "and not marked as not stated",
    ]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda s: s.relationships[2]["citations"][1].update(quote="On retrouve Interpol, le FBI, Verizon, Google"),
            "relationships.yml (clearview-ai -> verizon) citations[1]: quote 'On retrouve Interpol, le FBI, Verizon, "
            "Google' is not verbatim in paragraph 7",
        ),
        (
            lambda s: s.relationships[2]["citations"][1].update(locator="paragraph 99"),
            "relationships.yml (clearview-ai -> verizon) citations[1]: locator 'paragraph 99' is not a paragraph of "
            "doc-clearview-belgian-french-police",
        ),
        (
            lambda s: s.organisations["amazon"]["observations"][0].update(low=3360000),
            "organisations.yml (amazon) observations[0]: low 3360000 is not in its quote",
        ),
        (
            lambda s: s.disclosures["clearview-client-list-2020"].update(reported_count=2300),
            "disclosures.yml (clearview-client-list-2020): reported_count 2300 is in no cited paragraph",
        ),
        (
            lambda s: s.breaches[0].update(start_date="2020-01"),
            "breaches.yml (clearview-ai-client-list-breach-2020): start_date '2020-01' is in no cited paragraph, "
            "and not marked as not stated",
        ),
        (
            lambda s: s.sources["nyt-clearview-2020"].update(title="The Secretive Company That Might End Privacy"),
            "sources.yml (nyt-clearview-2020): title 'The Secretive Company That Might End Privacy' is from no "
            "stored document",
        ),
        (
            lambda s: s.disclosures["clearview-client-list-2020"]["responses"][0].update(author="Hoan Ton-That"),
            "disclosures.yml (clearview-client-list-2020) responses[0]: author 'Hoan Ton-That' is not named in "
            "paragraph 5",
        ),
        (
            lambda s: s.relationships[0]["citations"][1].update(source="buzzfeed-clearview-client-list-2020"),
            "relationships.yml (clearview-ai -> interpol) citations[1]: source 'buzzfeed-clearview-client-list-2020' "
            "is not a stored document",
        ),
        (
            lambda s: s.organisations["ice"].update(parent="us-department-of-homeland-security"),
            "organisations.yml (ice): parent 'us-department-of-homeland-security' is in no cited paragraph that "
            "names both",
        ),
    ],
    ids=["quote", "locator", "figure", "count", "breach-date", "title", "author", "not-stored", "parent"],
)
def test_each_check_names_the_record_and_the_fact(edit, expected):
    seed = Seed()
    edit(seed)
    problems = [p for check in CHECKS for p in check(seed)]
    assert expected in problems


# -- the seed as loaded and published ----------------------------------------------


def test_loaded_seed_publishes_interpol_as_international_and_the_new_facts(seeded):
    db = seeded.registry_db
    assert query(db, "select client_country from relationships where client = 'Interpol'") == [("International",)]
    assert query(db, "select count(*) from organisations where name like '%Sheriff%' or name like '%Orlando%'") == [
        (0,)
    ]
    assert query(
        db,
        "select r.arrangement from relationships r where r.vendor = 'Amazon' "
        "and r.client = 'United States Department of Homeland Security'",
    ) == [("Unknown",)]
    assert query(
        db,
        "select o.slug, re.kind, re.author, re.locator from responses re "
        "join organisations o on o.id = re.organisation_id join disclosures d on d.id = re.disclosure_id "
        "where d.slug = 'clearview-client-list-2020'",
    ) == [("clearview-ai", "clarified", "Tor Ekeland, Clearview AI's lawyer", "paragraph 5")]
    assert sorted(
        query(
            db,
            "select ob.low, ob.high, ob.unit, ob.locator, s.slug from observations ob "
            "join organisations o on o.id = ob.organisation_id join sources s on s.id = ob.source_id "
            "where o.slug = 'amazon'",
        )
    ) == [(204.0, 204.0, "authorisations", "paragraph 18", "doc-amazon-rekognition-ice"),
          (3630000.0, 3630000.0, "dollars", "paragraph 12", "doc-amazon-rekognition-ice")]  # fmt: skip


def test_the_breach_is_valid_as_build_breach_takes_it(seeded):
    """seed/breaches.yml in the shared format (records.build_breach), naming seeded rows."""
    seed = Seed()
    vocabulary = load_vocabulary(sqlite_utils.Database(seeded.intake_db))
    for item in seed.breaches:
        breach = build_breach(item, vocabulary)
        assert breach.organisation in seed.organisations
        assert set(breach.disclosures) <= set(seed.disclosures)
        assert {c.source for c in breach.citations} <= set(seed.documents)
        assert (breach.start_date, breach.notified_date, breach.affected_low) == (None, "2020-02", None)
