"""Measure the bulk importer on a million-row client list against a raw sqlite3 load and sqlite-utils.

Generates, into --out DIR (default: a temporary folder), a synthetic leaked client list shaped like the real
ones (clients.csv, --rows rows, default 1,000,000) and the mapping that imports it (clients.yml):
  - about rows/5 distinct client organisations ("Greenfield Police Department" in OH, "Oakdale County Sheriff's
    Office" in TX, "Riverview Unified School District", banks, shops, casinos...), each listed about five times
    with different vendors and products, in shuffled order; 5% of rows spell the client another way ("Police
    Dept.", "PD", "Sheriffs Office"), some with doubled spaces;
  - a US state code (some with trailing spaces; blank for the 3% of clients outside the US), a country spelled
    "US", "USA", "United States" or "États-Unis" (or "Canada", "Royaume-Uni"...), a sector label mapped to the
    sector and the kind of organisation, a vendor (40 vendors, Zipf-skewed: a few hold most rows), a product,
    an arrangement word (trial, pilot, contract, demo...), a start date as %m/%d/%Y (some blank), a source URL
    and a "searches" figure (some "Unknown", some with thousands separators).
Every row is valid under the mapping: the script exits with status 1 if the import rejects any or stores fewer
than all (about 10% of rows repeat a client-vendor-product with another arrangement: the import keeps the first
row's values, cites the later row and lists it in its report, as it should).

Then measures, each in its own child process on a fresh instance folder (so peak RSS is per measurement):
  import        `registry init`, then registry.importer.service.import_file(settings, csv, mapping): a pending
                submission (rows checked and matched into a staging file, then moved into intake.db in short
                write transactions; see registry/store/staging.py; a large file's rows are staged by a
                second process, registry/importer/stager.py). Time of import_file only (after the
                interpreter and the registry are loaded); peak RSS (the child's VmHWM on Linux, else
                ru_maxrss) includes the interpreter; the staging process's peak is printed apart.
  import-no-persons  the same import with registry.rules.persons' check replaced by a stub that flags
                nothing (registry.importer.run.unstated_person): import / this is what the check costs
                on a quiet machine; the import also times each call of the check (person_check_s), which
                holds on a busy one, and the target (<= 20% of the import's time) is judged on that.
  raw           csv.reader -> sqlite3 executemany into one plain table with the CSV's columns, one transaction.
  sqlite-utils  `sqlite-utils insert DB clients FILE --csv` (the venv's CLI) as a subprocess; its wall time
                includes the CLI's start-up, its peak RSS is RUSAGE_CHILDREN of a small child that only
                runs it.
  floor         SQLite alone: the rows the import stored (organisations, aliases, relationships, citations,
                figures), read back into tuples (untimed), inserted by executemany into a fresh intake.db
                (`registry init`: schema.sql with all its indexes) in one transaction, foreign keys off,
                with a page cache that holds it all: handing these rows to SQLite and indexing them, without
                reading, checking or matching anything.
  breaches     a breach list of --breach-rows rows (default: a tenth of --rows; breaches.csv, breaches.yml): one
                breach per row, organisations drawn from the same generator (about two breaches each, in the US
                only), a business associate on a fifth of the rows, a date or a range of two, one to three
                breach types and media, a summary from which kinds of data are derived; imported as `import`
                is (a pending submission, on its own fresh instance), and given as the time per 1,000 rows
                beside the client list's in the same run.
and prints elapsed seconds, rows/s and peak RSS for each, the ratios import/raw and sqlite-utils/import, and
the targets (import >= 65,000 rows/s, i.e. <= 15 s per million rows; within 5x of raw; >= 3x faster than
sqlite-utils; peak RSS < 500 MB, the import's and its staging process's added up), each marked met or not.
The figures also go to DIR/import_speed.json.

    .venv/bin/python benchmarks/import_speed.py --rows 1000000
    .venv/bin/python benchmarks/import_speed.py --rows 100000 --out /tmp/import-speed

To profile the import alone on files already generated in DIR (after `REGISTRY_INSTANCE=DIR/profile
.venv/bin/registry init`):

    .venv/bin/python -m cProfile -s cumtime benchmarks/import_speed.py --child import --out DIR \\
        --instance DIR/profile
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata
import itertools
import json
import os
import platform
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CSV_NAME, MAPPING_NAME, JSON_NAME = "clients.csv", "clients.yml", "import_speed.json"
BREACH_CSV, BREACH_MAPPING = "breaches.csv", "breaches.yml"
BREACH_TYPES = ("Theft", "Loss", "Hacking/IT Incident", "Unauthorized Access/Disclosure", "Improper Disposal")
BREACH_MEDIA = ("Laptop", "Paper", "Network Server", "E-mail", "Desktop Computer", "Other")
BREACH_SUMMARIES = (
    "A laptop was stolen. The PHI included names, addresses and social security numbers.",
    "A server was hacked. The data involved included names, dates of birth and diagnoses.",
    "Letters were mailed to the wrong addresses. There were no social security numbers involved.",
    "",
)
COLUMNS = [
    "Client",
    "State",
    "Country",
    "Agency Type",
    "Vendor",
    "Product",
    "Arrangement",
    "Start Date",
    "Source URL",
    "Searches",
]
TARGET_ROWS_PER_S, TARGET_RAW_RATIO, TARGET_SQLITE_UTILS_SPEEDUP, TARGET_PEAK_MB = 65_000, 5.0, 3.0, 500.0
TARGET_PERSONS_SHARE = 0.20  # issue 14: the person check costs at most 20% of an import's time
ROWS_PER_CLIENT = 5


def _words(text: str) -> list[str]:
    return text.split()


STATES = _words(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC "
    "ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY"
)
US_SPELLINGS = (
    ("US", 40),
    ("United States", 30),
    ("USA", 10),
    ("United States of America", 8),
    ("États-Unis", 7),
    ("us", 5),
)
ABROAD = ("Canada", "Royaume-Uni", "United Kingdom", "Belgique", "Australia", "Brazil", "Allemagne", "Mexico")
TOWN_HEADS = _words(
    "Spring Green Oak Maple River Lake Fair Clear Pine Cedar Ash Elm Brook Stone Red White Black North "
    "South East West New Mount Glen Rock Sand Silver Gold Wood Hill Bay Bridge Burling Carl Chester Dan "
    "Eden Frank Graf Hamp Harris Jack Kings Lex Lin Madi Mans Middle Mill Morris Ports Rich Salis "
    "Shel Ster Taylor Trent Union Wash Wilming York"
)
TOWN_PREFIXES = ("", "East ", "West ", "North ", "South ", "New ", "Lake ", "Port ", "Fort ", "Mount ")
TOWN_TAILS = _words("field ville ton wood dale port burg land view haven ford mont brook ridge side crest grove bury")
COMPANY_WORDS = _words(
    "Atlas Summit Pioneer Liberty Heritage Keystone Frontier Harbor Prairie Beacon Cardinal Evergreen "
    "Granite Horizon Lakeshore Meridian Northstar Pinnacle Redwood Sterling Trinity Valley Vista "
    "Westfield Magnolia Cascade Coastal Empire Patriot Sentinel"
)
# (template, sector label, variant spellings): {t} a town, {c} a county, {w} a company word.
ORG_TEMPLATES = (
    ("{t} Police Department", "Police", ("{t} Police Dept.", "{t} PD"), 30),
    ("{c} County Sheriff's Office", "Sheriff", ("{c} County Sheriffs Office", "{c} County SO"), 14),
    ("{t} State Police", "State Police", (), 1),
    ("{c} County District Attorney's Office", "District Attorney", ("{c} County District Attorneys Office",), 5),
    ("{c} County Department of Corrections", "Corrections", ("{c} County Dept. of Corrections",), 4),
    ("{t} Unified School District", "School District", ("{t} unified school district",), 6),
    ("University of {t}", "University", ("Univ. of {t}",), 3),
    ("{t} Transit Authority", "Transit", (), 3),
    ("{t} Department of Motor Vehicles", "DMV", ("{t} Dept. of Motor Vehicles",), 2),
    ("{w} {t} Bank", "Bank", ("{w} {t} BANK",), 8),
    ("{w} {t} Stores Inc.", "Retail", ("{w} {t} Stores, Inc.",), 8),
    ("{w} {t} Casino & Resort", "Casino", ("{w} {t} Casino and Resort",), 3),
    ("{w} {t} Fitness Club", "Gym", (), 2),
    ("{w} {t} Medical Center", "Hospital", (), 4),
    ("{w} Property Management of {t}", "Property Manager", (), 3),
    ("{w} {t} Wireless", "Telecom", (), 2),
)
SECTOR_MAP = {
    "police": "law-enforcement",
    "sheriff": "law-enforcement",
    "state police": "law-enforcement",
    "district attorney": "justice",
    "corrections": "justice",
    "school district": "education",
    "university": "education",
    "transit": "transport",
    "dmv": "government",
    "bank": "banking-finance",
    "retail": "retail",
    "casino": "gambling",
    "gym": "fitness-leisure",
    "hospital": "health",
    "property manager": "real-estate",
    "telecom": "telecommunications",
}
COMPANY_LABELS = {"bank", "retail", "casino", "gym", "property manager", "telecom"}
VENDORS = {
    "Clearview AI": ["Clearview AI search", "Clearview Consent"],
    "Flock Safety": ["Falcon LPR cameras", "Raven gunshot detection", "FlockOS"],
    "Axon": ["Body cameras", "Evidence.com", "Fusus"],
    "Motorola Solutions": ["Vigilant PlateSearch", "CommandCentral"],
    "Cellebrite": ["UFED", "Pathfinder"],
    "ShotSpotter": ["ShotSpotter Respond"],
    "Palantir": ["Gotham"],
    "Babel Street": ["Locate X"],
    "Fog Data Science": ["Fog Reveal"],
    "Dataminr": ["First Alert"],
    "Voyager Labs": ["VoyagerAnalytics"],
    "Skopenow": ["Skopenow search"],
    "Penlink": ["Tangles"],
    "Grayshift": ["GrayKey"],
    "Magnet Forensics": ["AXIOM"],
    "DataWorks Plus": ["FACE Plus"],
    "Idemia": ["MorphoTrak face recognition"],
    "NEC": ["NeoFace"],
    "Rekor": ["Rekor Scout"],
    "Genetec": ["Security Center"],
    "Verkada": ["Verkada cameras"],
    "BriefCam": ["BriefCam video analytics"],
    "Cobwebs": ["Tangles web intelligence"],
    "ShadowDragon": ["SocialNet"],
    "Hikvision": ["DeepinView cameras"],
    "Geofeedia": ["Geofeedia monitoring"],
    "Banjo": ["Live Time"],
    "Thomson Reuters": ["CLEAR"],
    "LexisNexis Risk Solutions": ["Accurint for Law Enforcement"],
    "TransUnion": ["TLOxp"],
    "Vaak": ["VaakEye"],
    "FaceFirst": ["FaceFirst surveillance"],
    "SAFR": ["SAFR face recognition"],
    "Wolfcom": ["Halo"],
    "Ring": ["Neighbors Public Safety Service"],
    "Persistent Surveillance Systems": ["Wide-area aerial surveillance"],
    "Zignal Labs": ["Zignal monitoring"],
    "Media Sonar": ["Media Sonar"],
    "Social Sentinel": ["Social Sentinel alerts"],
    "Gaggle": ["Gaggle Safety Management"],
}
ARRANGEMENT_WORDS = (
    ("Trial", 25),
    ("trial", 8),
    ("Free trial", 6),
    ("Pilot", 4),
    ("Contract", 20),
    ("contract", 5),
    ("Paid", 5),
    ("Subscription", 5),
    ("Demo", 5),
    ("Ended", 3),
    ("Expired", 2),
    ("Declined", 2),
    ("Unknown", 4),
    ("", 6),
)
ARRANGEMENT_MAP = {
    "trial": "trial",
    "free trial": "trial",
    "pilot": "trial",
    "contract": "contract",
    "paid": "contract",
    "subscription": "contract",
    "demo": "pitch",
    "ended": "ended",
    "expired": "ended",
    "declined": "declined",
    "unknown": "unknown",
}


# Generation ---------------------------------------------------------------------------


def _weighted(pairs: tuple[tuple[str, int], ...]) -> tuple[list[str], list[int]]:
    return [p[0] for p in pairs], list(itertools.accumulate(p[1] for p in pairs))


def make_clients(count: int, rng: random.Random) -> list[tuple[str, str, str, str, list[str]]]:
    """`count` distinct organisations: (name, state, sector label, country, variant spellings)."""
    towns = [p + h + t for p in TOWN_PREFIXES for h in TOWN_HEADS for t in TOWN_TAILS]
    counties = towns[::3]
    templates, template_weights = list(ORG_TEMPLATES), list(itertools.accumulate(t[3] for t in ORG_TEMPLATES))
    seen: set[tuple[str, str]] = set()
    clients = []
    while len(clients) < count:
        template, label, variants, _ = rng.choices(templates, cum_weights=template_weights)[0]
        words = {"t": rng.choice(towns), "c": rng.choice(counties), "w": rng.choice(COMPANY_WORDS)}
        abroad = rng.random() < 0.03
        state = "" if abroad else rng.choice(STATES)
        name = template.format(**words)
        if (name, state) in seen:
            continue
        seen.add((name, state))
        country = rng.choice(ABROAD) if abroad else ""  # US clients get a spelling per row
        clients.append((name, state, label, country, [v.format(**words) for v in variants]))
    return clients


def generate(out: Path, rows: int, seed: int) -> dict[str, int]:
    """Write DIR/clients.csv and DIR/clients.yml; return the shape of what was written."""
    rng = random.Random(seed)
    client_count = max(1, round(rows / ROWS_PER_CLIENT))
    clients = make_clients(client_count, rng)
    order = [i % client_count for i in range(rows)]
    rng.shuffle(order)
    vendor_names = list(VENDORS)
    vendor_weights = list(itertools.accumulate(1 / (rank + 1) ** 1.1 for rank in range(len(vendor_names))))
    us_names, us_weights = _weighted(US_SPELLINGS)
    words, word_weights = _weighted(ARRANGEMENT_WORDS)
    url_pool = [f"https://records.example.org/foia/{rng.randrange(10**6):06d}/client-list.pdf" for _ in range(2000)]
    choices, random_ = rng.choices, rng.random
    with (out / CSV_NAME).open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for index in order:
            name, state, label, abroad, variants = clients[index]
            if variants and random_() < 0.05:
                name = rng.choice(variants)
            if random_() < 0.01:
                name = name.replace(" ", "  ", 1)
            if state and random_() < 0.2:
                state += " " * rng.randint(1, 3)
            country = abroad or choices(us_names, cum_weights=us_weights)[0]
            vendor = choices(vendor_names, cum_weights=vendor_weights)[0]
            product = rng.choice(VENDORS[vendor])
            arrangement = choices(words, cum_weights=word_weights)[0]
            start = (
                ""
                if random_() < 0.05
                else f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{rng.randint(2016, 2023)}"
            )
            luck = random_()
            searches = "Unknown" if luck < 0.15 else "" if luck < 0.2 else f"{rng.randint(0, 60000):,}"
            writer.writerow(
                [name, state, country, label, vendor, product, arrangement, start, rng.choice(url_pool), searches]
            )
    (out / MAPPING_NAME).write_text(mapping_text(), encoding="utf-8")
    return {"rows": rows, "clients": client_count, "vendors": len(vendor_names)}


def generate_breaches(out: Path, rows: int, seed: int) -> dict[str, int]:
    """Write DIR/breaches.csv and DIR/breaches.yml (see the module's docstring)."""
    rng = random.Random(seed + 1)
    organisations = [c for c in make_clients(max(1, rows // 2), rng) if c[1]]  # in the US: a state
    vendors = list(VENDORS)
    with (out / BREACH_CSV).open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Entity", "State", "Associate", "Affected", "When", "Type", "Where", "Summary"])
        for _ in range(rows):
            name, state, *_ = rng.choice(organisations)
            day = f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{rng.randint(2009, 2013)}"
            when = f"{day} - {rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/2014" if rng.random() < 0.1 else day
            types = ", ".join(rng.sample(BREACH_TYPES, rng.randint(1, 2)))
            media = ", ".join(rng.sample(BREACH_MEDIA, rng.randint(1, 3)))
            associate = rng.choice(vendors) if rng.random() < 0.2 else ""
            affected = str(rng.randint(500, 90_000))
            writer.writerow([name, state, associate, affected, when, types, media, rng.choice(BREACH_SUMMARIES)])
    mapping = {
        "source": {"new": {"title": "Generated breach list", "language": "en"}},
        "breach": {
            "organisation": {"name": {"column": "Entity", "transforms": ["collapse"]}, "kind": {"value": "other"},
                             "sector": {"value": "health"}, "country": {"value": "US"},
                             "subdivision": {"column": "State", "prefix": "US-"}},
            "vendor": {"name": {"column": "Associate"}},
            "title": {"template": "{Entity}: {Type} ({When})"},
            "description": {"column": "Summary", "default": "No summary."},
            "dates": {"column": "When", "formats": ["%m/%d/%Y"]},
            "affected": {"column": "Affected"},
            "affected_unit": {"value": "people"},
            "breach_types": {"column": "Type", "split": ",", "map": dict(zip(BREACH_TYPES, ("theft", "loss", "hacking",
                             "unauthorised-access", "improper-disposal"), strict=True))},
            "media": {"column": "Where", "split": ",", "map": dict(zip(BREACH_MEDIA, ("laptop", "paper",
                      "network-server", "email", "desktop", "other"), strict=True))},
            "data_kinds": {"column": "Summary", "find": {r"\bnames\b": "names", r"social security": "identity-numbers",
                           r"dates of birth": "dates-of-birth", r"\baddresses\b": "contact-details",
                           r"diagnos": "health"}},
        },
    }  # fmt: skip
    (out / BREACH_MAPPING).write_text(yaml.safe_dump(mapping, sort_keys=False), encoding="utf-8")
    return {"rows": rows, "organisations": len(organisations)}


def mapping_text() -> str:
    mapping = {
        "description": "Synthetic client list (benchmarks/import_speed.py)",
        "disclosure": {
            "new": {
                "slug": "synthetic-client-list",
                "title": "Synthetic client list (benchmark)",
                "kind": "leak",
                "disclosed_date": "2024-01-15",
                "disclosed_by": "benchmarks/import_speed.py",
                "description": "A generated client list of surveillance vendors, for measuring the importer.",
                "completeness_note": "Generated data: nothing in it is true.",
            }
        },
        "source": {
            "new": {
                "slug": "synthetic-client-list-csv",
                "title": "Synthetic client list (clients.csv)",
                "publisher": "benchmarks/import_speed.py",
                "language": "en",
                "published_date": "2024-01-15",
            }
        },
        # A bare string would be a constant: the template form gives each row its own locator.
        "locator": {"template": "row {row}"},
        "vendors": {"column": "Vendor", "new": {"kind": "company", "sector": "technology"}},
        "client": {
            "name": {"column": "Client", "transforms": ["collapse"]},
            "kind": {
                "column": "Agency Type",
                "transforms": ["trim", "lower"],
                "map": {label: "company" for label in sorted(COMPANY_LABELS)},
                "default": "public-agency",
            },
            "sector": {"column": "Agency Type", "transforms": ["trim", "lower"], "map": SECTOR_MAP, "default": "other"},
            "country": {"column": "Country", "transforms": ["trim"]},
            "subdivision": {"column": "State", "transforms": ["trim", "upper"], "prefix": "US-"},
        },
        "relationship": {
            "product": {"column": "Product", "transforms": ["trim"]},
            "arrangement": {
                "column": "Arrangement",
                "transforms": ["trim", "lower"],
                "map": ARRANGEMENT_MAP,
                "default": "unknown",
            },
            "start_date": {"column": "Start Date", "transforms": ["trim"], "formats": ["%m/%d/%Y"]},
        },
        "observations": [
            {
                "metric": "searches",
                "unit": "searches",
                "value": {"column": "Searches", "transforms": ["trim"], "null_if": ["Unknown"]},
            }
        ],
    }
    header = "# Generated by benchmarks/import_speed.py for clients.csv.\n"
    return header + yaml.safe_dump(mapping, sort_keys=False, allow_unicode=True, width=110)


# Measurements (each in its own process) ------------------------------------------------


def peak_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size in MB.

    For this process, Linux's VmHWM: ru_maxrss survives exec, so a child started from this (large) parent
    would report the parent's peak as its own. Elsewhere, and for RUSAGE_CHILDREN, ru_maxrss (KB on Linux,
    bytes on macOS)."""
    status = Path("/proc/self/status")
    if who == resource.RUSAGE_SELF and status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    peak = resource.getrusage(who).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def child_import(out: Path, instance: Path) -> dict:
    from registry.config import load_settings
    from registry.importer import service
    from registry.store.connection import connect

    settings = load_settings({**os.environ, "REGISTRY_INSTANCE": str(instance)})
    persons = _time_person_check()
    before = peak_mb()
    start = time.perf_counter()
    result = service.import_file(settings, out / CSV_NAME, out / MAPPING_NAME)
    elapsed = time.perf_counter() - start
    peak = peak_mb()
    # An upper bound: a child's ru_maxrss starts from its parent's RSS at the fork.
    staged = peak_mb(resource.RUSAGE_CHILDREN) if resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss else None
    report = result.report
    db = connect(settings.intake_db)
    tables = ("organisations", "organisation_aliases", "relationships", "citations", "observations", "sources")
    counts = {t: db.execute(f"SELECT count(*) FROM [{t}]").fetchone()[0] for t in tables}
    db.close()
    return {
        "elapsed_s": elapsed,
        "peak_rss_mb": peak,
        "rss_before_mb": before,
        "staging_process_peak_rss_mb": staged,
        "rows_read": report.rows_read,
        "rows_stored": report.rows_stored,
        "rejected": report.rejected,
        "skipped": len(report.skipped),
        "summary": report.summary(),
        "person_check_s": persons["seconds"],
        "person_check_calls": persons["calls"],
        "flagged": len(report.flagged),
        "reference": result.reference,
        "table_counts": counts,
    }


def child_breaches(out: Path, instance: Path) -> dict:
    from registry.config import load_settings
    from registry.importer import service

    settings = load_settings({**os.environ, "REGISTRY_INSTANCE": str(instance)})
    start = time.perf_counter()
    result = service.import_file(settings, out / BREACH_CSV, out / BREACH_MAPPING)
    elapsed = time.perf_counter() - start
    report = result.report
    return {"elapsed_s": elapsed, "peak_rss_mb": peak_mb(), "rows_read": report.rows_read,
            "rows_stored": report.breaches_stored, "rejected": report.rejected,
            "summary": report.summary()}  # fmt: skip


def _time_person_check() -> dict:
    """Time every call of the importer's person check (registry.rules.persons) inside the import:
    on a shared machine this measures its cost better than two imports' difference."""
    from registry.importer import run

    spent = {"seconds": 0.0, "calls": 0}
    check = run.unstated_person

    def timed(name: str, reason: str | None) -> bool:
        start = time.perf_counter()
        try:
            return check(name, reason)
        finally:
            spent["seconds"] += time.perf_counter() - start
            spent["calls"] += 1

    run.unstated_person = timed  # type: ignore[assignment]
    return spent


def child_import_without_persons(out: Path, instance: Path) -> dict:
    """The import with registry.rules.persons' check replaced by a stub that flags nothing: what the
    check costs is the difference (its target: at most 20% of the import's time)."""
    from registry.importer import run

    run.unstated_person = lambda name, reason: False  # type: ignore[assignment]
    return child_import(out, instance)


def child_raw(out: Path, instance: Path) -> dict:
    instance.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(instance / "raw.db")
    before = peak_mb()
    start = time.perf_counter()
    with (out / CSV_NAME).open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        conn.execute(f"CREATE TABLE clients ({', '.join(f'[{c}] TEXT' for c in header)})")
        with conn:  # one transaction
            conn.executemany(f"INSERT INTO clients VALUES ({', '.join('?' * len(header))})", reader)
    elapsed = time.perf_counter() - start
    peak = peak_mb()
    rows = conn.execute("SELECT count(*) FROM clients").fetchone()[0]
    conn.close()
    return {"elapsed_s": elapsed, "peak_rss_mb": peak, "rss_before_mb": before, "rows_stored": rows}


def child_sqlite_utils(out: Path, instance: Path) -> dict:
    instance.mkdir(parents=True, exist_ok=True)
    command = [
        str(BIN / "sqlite-utils"),
        "insert",
        str(instance / "sqlite-utils.db"),
        "clients",
        str(out / CSV_NAME),
        "--csv",
    ]
    start = time.perf_counter()
    subprocess.run(command, check=True)
    elapsed = time.perf_counter() - start
    conn = sqlite3.connect(instance / "sqlite-utils.db")
    rows = conn.execute("SELECT count(*) FROM clients").fetchone()[0]
    conn.close()
    return {
        "elapsed_s": elapsed,
        "peak_rss_mb": peak_mb(resource.RUSAGE_CHILDREN),
        "rows_stored": rows,
        "command": " ".join([*command[:1], "insert", "DB", "clients", CSV_NAME, "--csv"]),
    }


FLOOR_TABLES = ("sources", "disclosures", "organisations", "organisation_aliases", "relationships", "citations",
                "observations")  # fmt: skip
FLOOR_CACHE_KB = 1024 * 1024  # the floor's page cache: one transaction of every row, held in memory


def child_floor(out: Path, instance: Path) -> dict:
    """SQLite alone: the rows the import stored (read back from instance-import's intake.db into
    tuples first, untimed), inserted by executemany into a fresh intake.db with all its indexes,
    in one transaction, foreign keys off (as the import's move), with a page cache that holds it all."""
    source = sqlite3.connect(f"file:{out / 'instance-import' / 'intake.db'}?mode=ro", uri=True)
    rows = {}
    for table in FLOOR_TABLES:
        columns = [r[1] for r in source.execute(f"SELECT * FROM pragma_table_xinfo('{table}')") if r[6] == 0]
        select = f"SELECT {', '.join(columns)} FROM [{table}] WHERE submission_id IS NOT NULL ORDER BY id"
        rows[table] = (columns, source.execute(select).fetchall())
    source.close()
    conn = sqlite3.connect(instance / "intake.db", isolation_level=None)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(f"PRAGMA cache_size = -{FLOOR_CACHE_KB}")
    seconds = {}
    start = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    for table, (columns, values) in rows.items():
        began = time.perf_counter()
        marks = ", ".join("?" * len(columns))
        conn.executemany(f"INSERT INTO [{table}] ({', '.join(columns)}) VALUES ({marks})", values)
        seconds[table] = time.perf_counter() - began
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return {
        "elapsed_s": elapsed,
        "peak_rss_mb": None,  # the prebuilt tuples, not SQLite's memory
        "rows_stored": sum(len(values) for _, values in rows.values()),
        "table_rows": {table: len(values) for table, (_, values) in rows.items()},
        "table_seconds": seconds,
    }


CHILDREN = {"import": child_import, "import-no-persons": child_import_without_persons, "raw": child_raw,
            "sqlite-utils": child_sqlite_utils, "floor": child_floor, "breaches": child_breaches}  # fmt: skip


def measure(kind: str, out: Path, instance: Path) -> dict:
    """Run one measurement in a fresh child process and return what it printed."""
    if instance.exists():
        shutil.rmtree(instance)
    instance.mkdir(parents=True)
    if kind in ("import", "import-no-persons", "floor", "breaches"):
        env = {**os.environ, "REGISTRY_INSTANCE": str(instance)}
        subprocess.run([str(BIN / "registry"), "init"], check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    command = [sys.executable, __file__, "--child", kind, "--out", str(out), "--instance", str(instance)]
    done = subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# Report --------------------------------------------------------------------------------


def summarise(rows: int, results: dict[str, dict]) -> dict:
    imp, raw, su = results["import"], results["raw"], results["sqlite-utils"]
    for r in results.values():
        r["rows_per_s"] = rows / r["elapsed_s"]
    # The two processes run side by side all through the reading: their peaks are added up.
    peak = imp["peak_rss_mb"] + (imp.get("staging_process_peak_rss_mb") or 0)
    ratios = {
        "import_over_raw": imp["elapsed_s"] / raw["elapsed_s"],
        "sqlite_utils_over_import": su["elapsed_s"] / imp["elapsed_s"],
        "import_over_floor": imp["elapsed_s"] / results["floor"]["elapsed_s"],
        "import_over_import_without_persons": imp["elapsed_s"] / results["import-no-persons"]["elapsed_s"],
    }
    targets = [
        (
            f"import >= {TARGET_ROWS_PER_S:,} rows/s (<= 15 s per 1M rows)",
            f"{imp['rows_per_s']:,.0f} rows/s",
            imp["rows_per_s"] >= TARGET_ROWS_PER_S,
        ),
        (
            f"import within {TARGET_RAW_RATIO:g}x of raw sqlite3",
            f"{ratios['import_over_raw']:.2f}x",
            ratios["import_over_raw"] <= TARGET_RAW_RATIO,
        ),
        (
            f"import >= {TARGET_SQLITE_UTILS_SPEEDUP:g}x faster than sqlite-utils",
            f"{ratios['sqlite_utils_over_import']:.2f}x",
            ratios["sqlite_utils_over_import"] >= TARGET_SQLITE_UTILS_SPEEDUP,
        ),
        (
            f"the person check costs <= {TARGET_PERSONS_SHARE:.0%} of the import's time",
            f"{imp['person_check_s'] / imp['elapsed_s']:.1%} (timed in the import)",
            imp["person_check_s"] / imp["elapsed_s"] <= TARGET_PERSONS_SHARE,
        ),
        (
            f"import peak RSS < {TARGET_PEAK_MB:g} MB (with its staging process)",
            f"{peak:.0f} MB",
            peak < TARGET_PEAK_MB,
        ),
    ]
    return {"ratios": ratios, "targets": [{"target": t, "measured": m, "met": ok} for t, m, ok in targets]}


def print_table(rows: int, shape: dict, results: dict[str, dict], summary: dict) -> None:
    print(
        f"\n{rows:,} rows, {shape['clients']:,} clients, {shape['vendors']} vendors "
        f"(Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs)\n"
    )
    print(f"{'measurement':<14} {'elapsed s':>10} {'rows/s':>12} {'peak RSS MB':>12}")
    for name, r in results.items():
        rss = f"{r['peak_rss_mb']:.0f}" if r.get("peak_rss_mb") is not None else "n/a"
        print(f"{name:<14} {r['elapsed_s']:>10.2f} {r['rows_per_s']:>12,.0f} {rss:>12}")
    print(f"\nimport / raw time:          {summary['ratios']['import_over_raw']:.2f}")
    print(f"sqlite-utils / import time: {summary['ratios']['sqlite_utils_over_import']:.2f}")
    print(f"import / floor time:        {summary['ratios']['import_over_floor']:.2f}")
    print(f"import / without persons:   {summary['ratios']['import_over_import_without_persons']:.2f}")
    imp = results["import"]
    print(f"person check, timed in the import: {imp['person_check_s']:.2f} s of {imp['elapsed_s']:.2f} s "
          f"({imp['person_check_calls']:,} distinct clients, {imp['flagged']:,} rows flagged)")  # fmt: skip
    floor = results["floor"]
    print(
        "floor (SQLite alone, one transaction, the import's rows as tuples): "
        + ", ".join(f"{t} {floor['table_rows'][t]:,} in {s:.2f} s" for t, s in floor["table_seconds"].items())
    )
    staged = results["import"].get("staging_process_peak_rss_mb")
    if staged is not None:
        print(
            f"import's staging process: peak RSS at most {staged:.0f} MB (RUSAGE_CHILDREN, which starts from the "
            "importer's own RSS when it started the child: an upper bound; both count)"
        )
    print()
    for t in summary["targets"]:
        print(f"{'met    ' if t['met'] else 'NOT met'}  {t['target']:<52} {t['measured']}")
    print(f"\nimport: {results['import']['summary']}")
    print("import tables: " + ", ".join(f"{k} {v:,}" for k, v in results["import"]["table_counts"].items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the generated CSV (default 1,000,000)")
    parser.add_argument("--out", type=Path, help="folder for the CSV, mapping, databases and JSON (default: temp)")
    parser.add_argument("--breach-rows", type=int, help="rows in the generated breach list (default: rows / 10)")
    parser.add_argument("--seed", type=int, default=20200227, help="random seed of the generator")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--instance", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](args.out.resolve(), args.instance.resolve())))
        return 0
    out = (args.out or Path(tempfile.mkdtemp(prefix="import-speed-"))).resolve()
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    shape = generate(out, args.rows, args.seed)
    size = (out / CSV_NAME).stat().st_size
    print(
        f"generated {out / CSV_NAME} ({size / 1e6:.1f} MB) and {out / MAPPING_NAME} "
        f"in {time.perf_counter() - start:.1f} s",
        flush=True,
    )
    breach_rows = args.breach_rows or max(1, args.rows // 10)
    generate_breaches(out, breach_rows, args.seed)
    results = {}
    for kind in CHILDREN:
        if kind == "breaches":
            continue
        results[kind] = measure(kind, out, out / f"instance-{kind}")
        print(f"  {kind}: {results[kind]['elapsed_s']:.2f} s", flush=True)
    breaches = measure("breaches", out, out / "instance-breaches")
    summary = summarise(args.rows, results)
    print_table(args.rows, shape, results, summary)
    per_thousand = {"clients": results["import"]["elapsed_s"] / args.rows * 1000,
                    "breaches": breaches["elapsed_s"] / breach_rows * 1000}  # fmt: skip
    summary["ms_per_1000_rows"] = {k: v * 1000 for k, v in per_thousand.items()}
    ratio = per_thousand["breaches"] / per_thousand["clients"]
    print(
        f"\nbreach import: {breach_rows:,} rows in {breaches['elapsed_s']:.2f} s, "
        f"{per_thousand['breaches'] * 1000:.0f} ms per 1,000 rows (client list in this run: "
        f"{per_thousand['clients'] * 1000:.0f} ms per 1,000 rows; ratio {ratio:.1f}x)"
        f"\nbreach import: {breaches['summary']}"
    )
    versions = {p: importlib.metadata.version(p) for p in ("sqlite-utils", "PyYAML")}
    figures = {
        "rows": args.rows,
        "csv_bytes": size,
        "shape": shape,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "packages": versions,
        "cpus": os.cpu_count(),
        "results": results,
        "breaches": breaches,
        **summary,
    }
    (out / JSON_NAME).write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nfigures written to {out / JSON_NAME}")
    imp = results["import"]
    if breaches["rows_stored"] != breach_rows or breaches["rejected"]:
        print("error: the breach import did not store every generated row", file=sys.stderr)
        return 1
    if imp["rows_stored"] != args.rows or imp["rejected"]:
        print("error: the import did not store every generated row (see the summary above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
