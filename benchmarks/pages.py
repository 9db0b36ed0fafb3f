"""Time the public pages of a large published registry: our Datasette configuration against stock Datasette.

Builds ONE registry.db (the registry part of schema.sql, filled directly) with --rows relationships of a
realistic shape: 30 vendors, Zipf-skewed so a few hold most rows; rows/5 organisations; 200 of the countries
(registry.countries.country_rows(), skewed toward a few); the sectors, kinds and arrangements of
seed/vocabularies.yml; start dates over ten years; 50 disclosures; 3,000 sources and one citation per
relationship; then the search index (registry.store.public.enable_search) and ANALYZE.

Then times, through Datasette's internal client, two configurations on the same file:
  A  ours: datasette/metadata.yml, datasette/templates, datasette/plugins and the settings of
     registry.serve.datasette_command (suggest_facets off, facet_time_limit_ms 1000, sql_time_limit_ms 2000,
     max_returned_rows 1000, allow_download on, default_cache_ttl 0);
  B  stock: Datasette([path]) with default settings and no metadata, in a child process (Datasette 0.65
     registers plugins_dir plugins process-wide, so in this process B would run ours too).
Pages: the default relationships page (HTML and .json; A with our 5 facets, B with its suggested facets),
.json?_nofacet=1, a vendor + client country filter, a search for a common client name word (the same URL each
time) and a search for 20 other words (each timed once, unwarmed: no counts kept from an earlier request), a
client's and the biggest vendor's organisation page, and a streamed CSV of 50,000 rows (id__lte=50000, _stream=on).
Page by page, A then B: each URL is warmed once, then requested --repeats times for A and --stock-repeats
times for B (stock Datasette takes seconds a page at a million rows: a smaller B sample keeps a 1M run short);
median and p95 (nearest rank) in ms are printed with B/A, the load average and the targets, and written to
DIR/pages.json. --reuse measures DIR/registry.db again (after applying schema.sql's new indexes).
--stock-python runs B under another interpreter, e.g. a venv with a Datasette 1.0 pre-release (the child
imports only Datasette; see benchmarks/datasette-1.0.md).

    .venv/bin/python benchmarks/pages.py --rows 200000
    .venv/bin/python benchmarks/pages.py --rows 1000000 --stock-repeats 3 --out /tmp/pages
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import importlib.metadata
import io
import itertools
import json
import math
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote_plus

import yaml
from datasette.app import Datasette

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "datasette"
TABLE = "/registry/relationships"
N_VENDORS = 30
N_SOURCES = 3000
CSV_ROWS = 50_000
SEARCH_WORD = "police"
OTHER_WORDS = ["department", "sheriff", "service", "state", "border", "immigration", "intelligence", "defence", "army",
               "prosecutor", "prison", "court", "council", "county", "ministry", "university", "school", "hospital",
               "bank", "insurance"]  # fmt: skip
VENDORS = [f"{a}{b}" for a in ("Clear", "Safe", "Vigil", "Argus", "Sentry", "Lumen")
           for b in (" View AI", "Watch Systems", " Data Corp", "Track Labs", "Sight Inc.")]  # fmt: skip
# Client name endings by sector: "<place> <ending>"; SEARCH_WORD is common among them.
ENDINGS = {
    "law-enforcement": ["Police Department", "Sheriff's Office", "Police Service", "State Police"],
    "immigration-border": ["Border Agency", "Immigration Service"],
    "intelligence": ["Intelligence Service"],
    "military-defence": ["Defence Ministry", "Army Command"],
    "justice": ["Prosecutor's Office", "Prison Service", "District Court"],
    "government": ["City Council", "County Government", "Ministry of Interior"],
    "education": ["University", "School District", "University Police"],
    "health": ["Health System", "Hospital"],
    "retail": ["Department Stores", "Supermarkets"],
    "banking-finance": ["Bank", "Credit Union", "Insurance"],
}
SYLLABLES = ["an", "ber", "cal", "dor", "el", "fen", "gar", "hol", "in", "jor", "kel", "lin", "mar", "nor", "os",
             "pal", "quin", "ros", "sel", "tor", "ul", "ven", "wes", "yor", "zan"]  # fmt: skip
DISCLOSURE_KINDS = ["breach", "leak", "records-release", "lawsuit", "court-filing", "press-investigation"]
A_SETTINGS = {"sql_time_limit_ms": 2000, "max_returned_rows": 1000, "facet_time_limit_ms": 1000,
              "suggest_facets": False, "allow_download": True, "default_cache_ttl": 0}  # fmt: skip
# Our default facets of the relationships table, as metadata.yml lists them (PyYAML comes with Datasette).
METADATA = yaml.safe_load((FOLDER / "metadata.yml").read_text(encoding="utf-8"))
A_FACETS = len(METADATA["databases"]["registry"]["tables"]["relationships"]["facets"])


RELATIONSHIP_COLUMNS = ("id", "vendor", "client", "client_aliases", "client_sector", "client_country",
                        "client_government_level", "arrangement", "disclosure", "product", "trial_days", "start_date",
                        "start_precision", "start_year", "end_date", "end_precision", "summary", "notes",
                        "published_at", "citation_count", "response_count", "vendor_id", "client_id",
                        "client_sector_code", "client_country_code", "client_kind", "client_government_level_code",
                        "arrangement_code", "disclosure_id")  # fmt: skip


def cum_zipf(n: int, s: float) -> list[float]:
    return list(itertools.accumulate(1 / (k + 1) ** s for k in range(n)))


def insert(conn: sqlite3.Connection, table: str, rows) -> None:
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return
    cols = list(first)
    sql = f"INSERT INTO [{table}] ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    conn.executemany(sql, (tuple(r.values()) for r in itertools.chain([first], rows)))


def build(path: Path, n: int, seed: int, breaches: int = 0) -> dict:
    """Fill registry.db; return what the measurements need (ids and filter values)."""
    import sqlite_utils  # here and below, not at the top: the stock child may run under a Datasette-only venv
    import yaml

    from registry.rules.countries import country_rows
    from registry.store.public import enable_search
    from registry.store.schema import schema_for

    rng = random.Random(seed)
    vocab = yaml.safe_load((ROOT / "seed" / "vocabularies.yml").read_text(encoding="utf-8"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.executescript(schema_for("registry"))
    conn.execute("BEGIN")
    countries = country_rows()
    insert(conn, "countries", countries)
    for table in ("sectors", "organisation_kinds", "arrangements", "disclosure_kinds", "response_kinds",
                  "government_levels"):  # fmt: skip
        insert(conn, table, vocab.get(table) or [])
    kinds = {k["code"] for k in vocab["disclosure_kinds"]}
    picked = rng.sample(countries, 200)
    country_cw = cum_zipf(len(picked), 1.3)
    sectors = {s["code"]: s["label"] for s in vocab["sectors"]}
    sector_codes = list(sectors)
    sector_cw = cum_zipf(len(sector_codes), 0.9)
    kind_codes = [k["code"] for k in vocab["organisation_kinds"]]
    levels = {g["code"]: g["label"] for g in vocab["government_levels"]}
    level_cw = cum_zipf(len(levels), 1.0)
    places = [f"{a}{b}".capitalize() for a in SYLLABLES for b in SYLLABLES]
    orgs = [{"id": i + 1, "slug": f"vendor-{i + 1}", "name": name, "kind": "company", "sector": "technology",
             "country": "US", "description": "A surveillance or data vendor.", "government_level": None}
            for i, name in enumerate(VENDORS)]  # fmt: skip
    for i in range(N_VENDORS + 1, max(n // 5, 100) + N_VENDORS + 1):
        sector = rng.choices(sector_codes, cum_weights=sector_cw)[0]
        country = None if rng.random() < 0.02 else rng.choices(picked, cum_weights=country_cw)[0]
        ending = rng.choice(ENDINGS.get(sector, [sectors[sector] + " Group"]))
        kind = "public-agency" if sector in ENDINGS and sector not in ("retail", "banking-finance") else "company"
        level = rng.choices(list(levels)[::-1], cum_weights=level_cw)[0] if kind == "public-agency" else None
        orgs.append({"id": i, "slug": f"org-{i}", "name": f"{rng.choice(places)} {ending}",
                     "kind": kind if kind in kind_codes else kind_codes[0], "sector": sector,
                     "country": country and country["code"], "description": None,
                     "government_level": level})  # fmt: skip
    insert(conn, "organisations", orgs)
    aliased = rng.sample(range(N_VENDORS, len(orgs)), len(orgs) // 10)
    insert(conn, "organisation_aliases", ({"id": k + 1, "organisation_id": orgs[j]["id"],
                                           "alias": orgs[j]["name"].upper(), "language": None}
                                          for k, j in enumerate(aliased)))  # fmt: skip
    aliases = {orgs[j]["id"]: orgs[j]["name"].upper() for j in aliased}
    conn.execute("UPDATE organisations SET aliases = (SELECT group_concat(alias, '; ') FROM organisation_aliases a "
                 "WHERE a.organisation_id = organisations.id)")  # fmt: skip
    publishers = [f"{rng.choice(places)} {p}" for p in ("Times", "Post", "Herald", "News", "Records Office")]
    insert(conn, "sources", ({"id": i, "slug": f"source-{i}", "title": f"Report no. {i}",
                              "url": f"https://example.org/{i}", "publisher": rng.choice(publishers),
                              "language": rng.choice(["en", "en", "en", "fr", "de", "es"]),
                              "published_date": f"{2015 + i % 10}-{1 + i % 12:02d}", "published_precision": "month"}
                             for i in range(1, N_SOURCES + 1)))  # fmt: skip
    disclosures = [{"id": i, "slug": f"disclosure-{i}", "title": f"{VENDORS[(i - 1) % 30]} customer records, {i}",
                    "kind": DISCLOSURE_KINDS[i % 6] if DISCLOSURE_KINDS[i % 6] in kinds else sorted(kinds)[0],
                    "disclosed_date": f"{2015 + i % 10}-0{1 + i % 9}", "disclosed_precision": "month",
                    "disclosed_by": "A newsroom", "published_count": 0, "description": "What it revealed.",
                    "completeness_note": "Absence from the list does not mean not a client.", "primary_source_id": i}
                   for i in range(1, 51)]  # fmt: skip
    insert(conn, "disclosures", disclosures)
    names = {c["code"]: c["name"] for c in countries}
    arrangements = {a["code"]: a["label"] for a in vocab["arrangements"]}
    arr_codes = list(arrangements)
    arr_weights = [{"contract": 50, "trial": 15, "pitch": 12, "unknown": 10, "ended": 8}.get(a, 5) for a in arr_codes]
    vendor_cw, disclosure_cw = cum_zipf(N_VENDORS, 1.2), cum_zipf(50, 1.0)
    clients = orgs[N_VENDORS:]

    def relationships():
        for i in range(1, n + 1):
            vendor = orgs[rng.choices(range(N_VENDORS), cum_weights=vendor_cw)[0]]
            client = rng.choice(clients)
            arr = rng.choices(arr_codes, weights=arr_weights)[0]
            disc = None if rng.random() < 0.1 else disclosures[rng.choices(range(50), cum_weights=disclosure_cw)[0]]
            year, precision = rng.randint(2015, 2024), rng.choice(["day", "day", "month", "year"])
            start = {"year": f"{year}", "month": f"{year}-{rng.randint(1, 12):02d}"}.get(precision)
            start = start or f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            ended = rng.random() < 0.3
            yield (i, vendor["name"], client["name"], aliases.get(client["id"]), sectors[client["sector"]],
                   names.get(client["country"]), levels.get(client.get("government_level") or ""),
                   arrangements[arr], disc and disc["title"],
                   f"{vendor['name']} product {rng.randint(1, 5)}" if rng.random() < 0.6 else None,
                   rng.randint(7, 120) if arr == "trial" and rng.random() < 0.5 else None,
                   start, precision, year, f"{year + 1}" if ended else None, "year" if ended else None,
                   f"{vendor['name']} {arr} with {client['name']}.",
                   "The sources do not give the value." if rng.random() < 0.1 else None,
                   f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T12:00:00Z", 1, 0,
                   vendor["id"], client["id"], client["sector"], client["country"], client["kind"],
                   client.get("government_level"), arr, disc and disc["id"])  # fmt: skip

    named = ", ".join(RELATIONSHIP_COLUMNS)  # by name: columns added to the table since stay null
    conn.executemany(f"INSERT INTO relationships ({named}) VALUES ({', '.join('?' * len(RELATIONSHIP_COLUMNS))})",
                     relationships())  # fmt: skip
    conn.executemany(
        "INSERT INTO citations (id, relationship_id, source_id, locator) VALUES (?, ?, ?, ?)",
        ((i, i, rng.randint(1, N_SOURCES), f"p. {i % 40 + 1}") for i in range(1, n + 1)),
    )
    conn.execute("UPDATE disclosures SET published_count = "
                 "(SELECT count(*) FROM relationships r WHERE r.disclosure_id = disclosures.id)")  # fmt: skip
    add_breaches(conn, rng, breaches, vocab, orgs, names)
    conn.execute("COMMIT")
    enable_search(sqlite_utils.Database(conn))
    conn.execute("ANALYZE")
    conn.close()
    return describe(path)


def add_breaches(conn: sqlite3.Connection, rng: random.Random, n: int, vocab: dict, orgs: list, names: dict) -> None:
    """`n` breaches of the shape of the HHS breach portal's: one organisation each (a few
    organisations breached many times), a vendor (business associate) for one in four, one
    or two types (theft and hacking the commonest), one to four kinds of data, one or two
    media, dates over fifteen years, the affected as a range of people; the link tables
    and one citation each, as `registry publish` writes them."""
    vocabulary = {v: {t["code"]: t["label"] for t in vocab[v]} for v in ("breach_types", "data_kinds", "breach_media")}
    insert(conn, "breach_types", vocab["breach_types"])
    insert(conn, "data_kinds", vocab["data_kinds"])
    insert(conn, "breach_media", vocab["breach_media"])
    codes = {v: list(labels) for v, labels in vocabulary.items()}
    weights = {v: cum_zipf(len(c), 1.1) for v, c in codes.items()}
    org_cw = cum_zipf(len(orgs) - N_VENDORS, 0.8)
    vendor_cw = cum_zipf(N_VENDORS, 1.2)
    sectors = {s["code"]: s["label"] for s in vocab["sectors"]}

    def pick(vocabulary: str, most: int) -> list[str]:
        chosen = {
            rng.choices(codes[vocabulary], cum_weights=weights[vocabulary])[0] for _ in range(rng.randint(1, most))
        }
        return sorted(chosen)

    rows, links = [], {"breaches_breach_types": [], "breaches_data_kinds": [], "breaches_breach_media": []}
    for i in range(1, n + 1):
        org = orgs[N_VENDORS + rng.choices(range(len(orgs) - N_VENDORS), cum_weights=org_cw)[0]]
        vendor = orgs[rng.choices(range(N_VENDORS), cum_weights=vendor_cw)[0]] if rng.random() < 0.25 else None
        types, kinds, media = pick("breach_types", 2), pick("data_kinds", 4), pick("breach_media", 2)
        year = rng.randint(2010, 2024)
        start = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}" if rng.random() < 0.8 else f"{year}"
        low = rng.choice([500, 1000, 2500, 10_000, 50_000, 250_000])
        country = names.get(org["country"]) or ("International" if org["kind"] == "international-body" else None)
        rows.append((i, f"breach-{i}", f"{org['name']}: breach {i}", org["name"], sectors[org["sector"]], country,
                     vendor and vendor["name"],
                     json.dumps([vocabulary["breach_types"][c] for c in types]),
                     json.dumps(sorted(vocabulary["data_kinds"][c] for c in kinds)),
                     json.dumps(sorted(vocabulary["breach_media"][c] for c in media)),
                     start, "day" if len(start) == 10 else "year", year, f"{year + 1}-03", f"{year + 1}-06",
                     low, low * rng.choice([1, 1, 2]), "people", 1, 0, int("health" in kinds),
                     f"A breach of {org['name']}'s data.", f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T12:00:00Z", 1, 0,
                     org["id"], vendor and vendor["id"], None, org["sector"], org["country"], org["kind"]))  # fmt: skip
        links["breaches_breach_types"] += [(i, c) for c in types]
        links["breaches_data_kinds"] += [(i, c) for c in kinds]
        links["breaches_breach_media"] += [(i, c) for c in media]
    marks = ", ".join("?" * len(BREACH_COLUMNS))
    conn.executemany(f"INSERT INTO breaches ({', '.join(BREACH_COLUMNS)}) VALUES ({marks})", rows)
    for table, pairs in links.items():
        conn.executemany(f"INSERT INTO {table} VALUES (?, ?)", pairs)
    conn.executemany(
        "INSERT INTO breach_citations (id, breach_id, source_id, locator) VALUES (?, ?, ?, ?)",
        ((i, i, rng.randint(1, N_SOURCES), f"row {i}") for i in range(1, n + 1)),
    )


BREACH_COLUMNS = ("id", "slug", "title", "organisation", "organisation_sector", "organisation_country", "vendor",
                  "breach_types", "data_kinds", "media", "start_date", "start_precision", "start_year",
                  "discovered_date", "notified_date", "affected_low", "affected_high", "affected_unit", "verified",
                  "disputed", "sensitive", "description", "published_at", "citation_count", "response_count",
                  "organisation_id", "vendor_id", "relationship_id", "organisation_sector_code",
                  "organisation_country_code", "organisation_kind")  # fmt: skip


def refresh(path: Path) -> dict:
    """Bring an existing benchmark database to the current schema (new indexes), for --reuse."""
    from registry.store.schema import schema_for

    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(schema_for("registry"))
    conn.execute("ANALYZE")
    conn.close()
    return describe(path)


def describe(path: Path) -> dict:
    """The filter values and ids the measurements use."""
    conn = sqlite3.connect(path)
    top_country = conn.execute(
        "SELECT client_country FROM relationships WHERE vendor = ? AND client_country IS NOT NULL "
        "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
        [VENDORS[0]],
    ).fetchone()[0]
    client_id = conn.execute("SELECT client_id FROM relationships WHERE id = 1").fetchone()[0]
    rows = conn.execute("SELECT max(id) FROM relationships").fetchone()[0]
    breaches = conn.execute("SELECT max(id) FROM breaches").fetchone()[0] or 0
    breached = conn.execute("SELECT organisation_id FROM breaches ORDER BY id LIMIT 1").fetchone()
    # The commonest and the rarest country of each feed: a feed reads the given country's rows from its index.
    breach_country = conn.execute(
        "SELECT organisation_country FROM breaches WHERE organisation_country IS NOT NULL "
        "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    rare = {
        table: conn.execute(
            f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL GROUP BY 1 ORDER BY count(*), 1 LIMIT 1"
        ).fetchone()
        for table, column in (("relationships", "client_country"), ("breaches", "organisation_country"))
    }
    rare_kind = conn.execute(  # the kind of data fewest breaches hold (a filter by it reads its rows, sorted)
        "SELECT k.label FROM breaches_data_kinds l JOIN data_kinds k ON k.code = l.data_kind "
        "GROUP BY 1 ORDER BY count(*), 1 LIMIT 1"
    ).fetchone()
    conn.close()
    return {"vendor": VENDORS[0], "vendor_id": 1, "country": top_country, "client_id": client_id, "rows": rows,
            "relationship_id": rows // 2, "breaches": breaches, "breach_id": breaches // 2,
            "breached_id": breached[0] if breached else None,
            "breach_country": breach_country[0] if breach_country else None,
            "rare_country": rare["relationships"][0] if rare["relationships"] else None,
            "rare_breach_country": rare["breaches"][0] if rare["breaches"] else None,
            "rare_kind": rare_kind[0] if rare_kind else None}  # fmt: skip


def pages(info: dict) -> dict[str, str]:
    filt = f"vendor={info['vendor'].replace(' ', '+')}&client_country={info['country'].replace(' ', '+')}"
    return {
        "table HTML": TABLE,
        "table JSON": f"{TABLE}.json",
        "table JSON _nofacet=1": f"{TABLE}.json?_nofacet=1",
        "filtered vendor+country": f"{TABLE}?{filt}",
        f"search '{SEARCH_WORD}'": f"{TABLE}?_search={SEARCH_WORD}",
        # Each timed request a word not searched before (no count kept from an earlier request).
        "search, 20 other words": [f"{TABLE}?_search={word}" for word in OTHER_WORDS],
        "client page": f"/registry/organisations/{info['client_id']}",
        "biggest vendor page": f"/registry/organisations/{info['vendor_id']}",
        "CSV 50,000 rows streamed": f"{TABLE}.csv?id__lte={CSV_ROWS}&_stream=on&_size=max",
        # The registry's own pages (issue 13): stock Datasette has none of them, so they are timed for ours only.
        "front door": "/",
        "relationship page": f"/registry/relationships/{info['relationship_id']}",
        "disclosure page": "/registry/disclosures/1",
        "organisations search": "/registry/organisations?_search=police",
        "overview": "/overview",
        "about": "/about",
        "downloads": "/downloads",
        "feed, one country": f"/registry/new_relationships.atom?country={info['country'].replace(' ', '+')}",
        "feed, the rarest country": f"/registry/new_relationships.atom?country={quote_plus(info['rare_country'])}",
        **(breach_pages(info) if info.get("breaches") else {}),
    }


BREACHES = "/registry/breaches"
FEED = "/registry/new_breaches.atom"


def breach_pages(info: dict) -> dict[str, str]:
    """The breaches table (its 7 facets, 3 of them JSON arrays), filtered and searched, and a breach's page
    (issue 14)."""
    return {
        "breaches HTML": BREACHES,
        "breaches JSON": f"{BREACHES}.json",
        "breaches sector+year": f"{BREACHES}?organisation_sector=Health&start_year=2019",
        "breaches type Theft": f"{BREACHES}?breach_types__arraycontains=Theft",
        "breaches search": f"{BREACHES}?_search=hospital",
        "breach page": f"{BREACHES}/{info['breach_id']}",
        "breached organisation page": f"/registry/organisations/{info['breached_id']}",
        "breach feed, one country": f"/registry/new_breaches.atom?country={info['breach_country'].replace(' ', '+')}",
        "breach feed, the rarest country": f"{FEED}?country={quote_plus(info['rare_breach_country'])}",
        "breaches kind, the rarest": f"{BREACHES}?data_kinds__arraycontains={quote_plus(info['rare_kind'])}",
    }


OURS_ONLY = {"front door", "relationship page", "disclosure page", "organisations search", "overview", "about",
             "downloads", "feed, one country", "feed, the rarest country", "breach page", "breached organisation page",
             "breach feed, one country", "breach feed, the rarest country"}  # fmt: skip
FAST = ("front door", "relationship page")  # p95 <= 50 ms at a million relationships
MAX_TABLE_HTML = 150 * 1024  # bytes of the relationships page


def configuration(path: Path, side: str) -> Datasette:
    if side == "B":
        return Datasette([str(path)])
    return Datasette(
        [str(path)],
        metadata=METADATA,
        template_dir=str(FOLDER / "templates"),
        plugins_dir=str(FOLDER / "plugins"),
        static_mounts=[("static", str(FOLDER / "static"))] if (FOLDER / "static").is_dir() else [],
        settings=A_SETTINGS,
    )


async def timed(ds: Datasette, url: str) -> tuple[float, int, bytes]:
    start = time.perf_counter()
    response = await ds.client.get(url)
    body = response.content  # the whole body, streamed or not
    return (time.perf_counter() - start) * 1000, response.status_code, body


async def time_page(ds: Datasette, side: str, name: str, url: str | list[str], repeats: int) -> dict:
    """Warm a page once, then time it `repeats` times: median and p95 (nearest rank) in ms. A list of
    URLs is timed once each, unwarmed, in turn (at most `repeats` of them)."""
    if isinstance(url, list):
        times, statuses = [], set()
        for each in url[:repeats]:
            ms, status, _ = await timed(ds, each)
            times.append(ms)
            statuses.add(status)
        p95 = sorted(times)[math.ceil(0.95 * len(times)) - 1]
        return {"url": url, "median_ms": statistics.median(times), "p95_ms": p95, "status": sorted(statuses)}
    _, status, body = await timed(ds, url)
    statuses, times = {status}, []
    if name.startswith("CSV") and status == 200:
        lines = sum(1 for _ in csv.reader(io.StringIO(body.decode("utf-8")))) - 1
        if lines < CSV_ROWS:
            print(f"  {side} CSV gave {lines} rows", file=sys.stderr)
    for _ in range(repeats):
        ms, status, _ = await timed(ds, url)
        times.append(ms)
        statuses.add(status)
    p95 = sorted(times)[math.ceil(0.95 * len(times)) - 1]
    return {"url": url, "median_ms": statistics.median(times), "p95_ms": p95, "status": sorted(statuses),
            "bytes": len(body)}  # fmt: skip


class Stock:
    """Stock Datasette in a process of its own (plugins_dir plugins register process-wide in Datasette 0.65, so
    in this process stock Datasette would run ours too), asked to time one page at a time, so that its pages
    are timed right after ours, under the same load."""

    def __init__(self, path: Path, python: str) -> None:
        command = [python, __file__, "--stock-only", "--out", str(path.parent)]
        self.child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, **request) -> dict:
        self.child.stdin.write(json.dumps(request) + "\n")
        self.child.stdin.flush()
        return json.loads(self.child.stdout.readline())

    def close(self) -> None:
        self.child.stdin.close()
        self.child.wait()


async def serve_stock(path: Path) -> None:
    """The child side of Stock: answer one JSON request a line."""
    ds = configuration(path, "B")
    await ds.invoke_startup()
    for line in sys.stdin:
        request = json.loads(line)
        if "url" in request:
            answer = await time_page(ds, "B", request["name"], request["url"], request["repeats"])
        else:
            version = importlib.metadata.version("datasette")
            extra = "?_extra=suggested_facets" if version.startswith("1.") else ""  # 1.0: JSON extras on request
            data = (await ds.client.get(f"{TABLE}.json{extra}")).json()
            answer = {"suggested": [s["name"] for s in data.get("suggested_facets", [])], "datasette": version}
        print(json.dumps(answer), flush=True)


async def cubes_built() -> None:
    """Wait for what our plugins build on threads at startup: counted_facets.py's facet cubes and search codes,
    and csv_stream.py's scan of what each column holds. A server answers from them once it has been up for a few
    seconds; timing pages before would time a start-up."""
    from datasette.plugins import pm

    plugins = {p.__name__: p for p in pm.get_plugins() if getattr(p, "__name__", "").endswith(".py")}
    facets, csv = plugins["counted_facets.py"], plugins["csv_stream.py"]
    while facets.BUILDING or facets.BUILDING_CODES or facets.BUILDING_ARRAYS or csv.SCANNING:
        await asyncio.sleep(0.1)


async def measure(
    path: Path, info: dict, repeats: int, stock_repeats: int, only: str | None, stock_python: str
) -> tuple[dict, dict]:
    """Time every page, ours then stock's, page by page; report our default facets and stock's suggestions."""
    ours = configuration(path, "A")
    started = time.perf_counter()
    await ours.invoke_startup()
    await cubes_built()
    print(f"our facet cubes built in {time.perf_counter() - started:.1f} s after startup", file=sys.stderr)
    stock = Stock(path, stock_python) if stock_repeats else None
    results = {}
    try:
        for name, url in pages(info).items():
            if only and only not in name:
                continue
            results[name] = {"url": url, "A": await time_page(ours, "A", name, url, repeats)}
            if stock and name not in OURS_ONLY:
                results[name]["B"] = stock.ask(name=name, url=url, repeats=stock_repeats)
        answer = stock.ask(suggested=True) if stock else {}
    finally:
        if stock:
            stock.close()
    data = (await ours.client.get(f"{TABLE}.json")).json()
    facets = {"facet_results": sorted(data.get("facet_results", {})), "facets_timed_out": data.get("facets_timed_out")}
    facets["ok"] = len(facets["facet_results"]) == A_FACETS and not facets["facets_timed_out"]
    return results, {**facets, "B_suggested": answer.get("suggested"), "B_datasette": answer.get("datasette")}


def targets(results: dict) -> list[tuple[str, bool]]:
    checks = []
    if not results:  # --only matched no page
        return checks
    failing = [name for name, r in results.items() if r["A"]["status"] != [200]]
    checks.append((f"every A page answers 200 ({', '.join(failing) or 'all do'})", not failing))
    a_p95 = max(r["A"]["p95_ms"] for r in results.values())
    checks.append((f"every A page p95 <= 300 ms (worst {a_p95:.1f} ms)", a_p95 <= 300))
    json_page = results.get("table JSON", {})
    if "A" in json_page and "B" in json_page:
        ratio = json_page["B"]["median_ms"] / json_page["A"]["median_ms"]
        checks.append((f"A table JSON >= 4x faster than B (median B/A {ratio:.2f})", ratio >= 4))
    no_facets = [results[p]["A"]["p95_ms"] for p in ("table JSON _nofacet=1", "client page") if p in results]
    if no_facets:
        worst = max(no_facets)
        checks.append((f"A pages without facets (_nofacet JSON, client page) p95 < 30 ms (worst {worst:.1f} ms)",
                       worst < 30))  # fmt: skip
    fast = [(p, results[p]["A"]["p95_ms"]) for p in FAST if p in results]
    for page, p95 in fast:
        checks.append((f"A {page} p95 <= 50 ms ({p95:.1f} ms)", p95 <= 50))
    if "bytes" in results.get("table HTML", {}).get("A", {}):
        size = results["table HTML"]["A"]["bytes"]
        checks.append((f"A relationships page HTML < 150 KB ({size / 1024:.1f} KB)", size < MAX_TABLE_HTML))
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--breaches", type=int, default=0, help="breaches to add (issue 14's pages), default none")
    parser.add_argument("--repeats", type=int, default=20, help="timed requests per page for ours (A)")
    parser.add_argument("--stock-repeats", type=int, default=None,
                        help="timed requests per page for stock (B), default --repeats; 0 skips stock")  # fmt: skip
    parser.add_argument("--reuse", action="store_true", help="measure DIR/registry.db again instead of building it")
    parser.add_argument("--only", help="measure only the pages whose name contains this")
    parser.add_argument("--stock-python", default=sys.executable,
                        help="interpreter for stock (B), e.g. another venv's python with another Datasette; "
                        "it needs only Datasette (default: this one)")  # fmt: skip
    parser.add_argument("--stock-only", action="store_true", help=argparse.SUPPRESS)  # the child of measure_stock
    parser.add_argument("--out", type=Path, default=None, help="folder for registry.db and pages.json")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="pages-"))
    path = out / "registry.db"
    if args.stock_only:
        asyncio.run(serve_stock(path))
        return
    started = time.perf_counter()
    info = refresh(path) if args.reuse else build(path, args.rows, args.seed, args.breaches)
    args.rows = info["rows"]
    built = time.perf_counter() - started
    size = round(path.stat().st_size / 2**20, 1)
    print(f"{'refreshed' if args.reuse else 'built'} {args.rows} relationships and {info['breaches']} breaches in "
          f"{built:.1f} s ({size} MiB): {path}")  # fmt: skip
    stock_repeats = args.repeats if args.stock_repeats is None else args.stock_repeats
    results, facets = asyncio.run(measure(path, info, args.repeats, stock_repeats, args.only, args.stock_python))
    versions = {"datasette": importlib.metadata.version("datasette"), "sqlite": sqlite3.sqlite_version}
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"datasette {versions['datasette']}, SQLite {versions['sqlite']}, timed requests per page: "
          f"{args.repeats} ours (A), {stock_repeats} stock (B); load average after the run {load}")  # fmt: skip
    if args.stock_python != sys.executable:
        print(f"stock (B) ran under {args.stock_python}: datasette {facets['B_datasette']}")
    print(f"filter: vendor={info['vendor']!r} client_country={info['country']!r}; client id {info['client_id']}")
    head = ("page", "A median", "A p95", "B median", "B p95", "B/A", "A KB")
    print("{:<26}{:>10}{:>10}{:>10}{:>10}{:>8}{:>8}".format(*head))
    for name, r in results.items():
        b = r.get("B")
        cells = [f"{r['A']['median_ms']:>10.1f}", f"{r['A']['p95_ms']:>10.1f}"]
        if b:
            ratio = b["median_ms"] / r["A"]["median_ms"]
            cells += [f"{b['median_ms']:>10.1f}", f"{b['p95_ms']:>10.1f}", f"{ratio:>8.2f}"]
        else:
            cells += [f"{'-':>10}", f"{'-':>10}", f"{'-':>8}"]
        cells.append(f"{r['A']['bytes'] / 1024:>8.1f}" if "bytes" in r["A"] else f"{'-':>8}")
        flags = "".join(f" {s}:{r[s]['status']}" for s in "AB" if s in r and r[s]["status"] != [200])
        print(f"{name:<26}" + "".join(cells) + flags)
    print(f"A default facets: {len(facets['facet_results'])}/{A_FACETS} present, "
          f"facets_timed_out={facets['facets_timed_out']}; B suggested: {facets['B_suggested']}")  # fmt: skip
    checks = targets(results)
    for text, met in checks:
        print(f"  {'met' if met else 'NOT met'}: {text}")
    report = {"rows": args.rows, "repeats": args.repeats, "stock_repeats": stock_repeats, "seed": args.seed,
              "build_s": round(built, 1), "size_mib": size, "load_average": os.getloadavg(), **versions,
              "filter": info, "a_facets": facets, "results": results,
              "targets": {text: met for text, met in checks}}  # fmt: skip
    (out / "pages.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out / 'pages.json'} (times in ms)")


if __name__ == "__main__":
    main()
