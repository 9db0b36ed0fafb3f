"""Measure facets and CSV on denormalised label columns against foreign keys with label columns.

Builds two SQLite files with the same synthetic registry (30 Zipf-skewed vendors, ~rows/5 organisations,
200 skewed countries, 20 sectors, 6 arrangements, 50 disclosures, start dates over ten years):
  A  the registry part of schema.sql as it is: relationships holds the labels readers facet on (vendor,
     client_sector, client_country, arrangement, disclosure) as indexed text beside the ids and codes;
  B  "foreign keys with label columns": relationships keeps only the ids and codes, indexed and declared
     as foreign keys to tables whose label_column Datasette uses to label facets and `_labels=on` CSV.
Then times, in one run and through Datasette 0.65's internal client, for A and B:
  facets            table JSON with the five metadata facets (and Datasette's default facet suggestions)
  facets_nosuggest  the same with _nosuggest=1, to separate the facets from the suggestions
  csv_labels        1000 rows as CSV with labels (A: .csv?_size=1000, B: .csv?_labels=on&_size=1000)
  nofacet           table JSON with _nofacet=1, for reference
Each URL is warmed once, then requested --repeats times (A and B interleaved); the median and the p95
(nearest rank) in ms and the ratio B/A are printed and written to DIR/facet_shape.json. The script exits
non-zero unless A and B give the same count for every facet label and the same CSV labels.

    .venv/bin/python benchmarks/facet_shape.py --rows 200000
    .venv/bin/python benchmarks/facet_shape.py --rows 1000000 --repeats 15 --out /tmp/facet-shape
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
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlite_utils
import yaml
from datasette.app import Datasette

from registry.rules.countries import country_rows
from registry.store.schema import schema_for

ROOT = Path(__file__).resolve().parents[1]
TABLE = "/registry/relationships"
LABEL_TO_FK = {
    "vendor": "vendor_id",
    "client_sector": "client_sector_code",
    "client_country": "client_country_code",
    "arrangement": "arrangement_code",
    "disclosure": "disclosure_id",
}
FK_RELATIONSHIPS = """
DROP TABLE relationships;
CREATE TABLE relationships (
    id INTEGER PRIMARY KEY,
    product TEXT, trial_days INTEGER, start_date TEXT, start_precision TEXT, end_date TEXT, end_precision TEXT,
    summary TEXT NOT NULL, notes TEXT,
    citation_count INTEGER NOT NULL CHECK (citation_count >= 1), response_count INTEGER NOT NULL,
    vendor_id INTEGER NOT NULL REFERENCES organisations(id),
    client_id INTEGER NOT NULL REFERENCES organisations(id),
    client_sector_code TEXT NOT NULL REFERENCES sectors(code),
    client_country_code TEXT REFERENCES countries(code),
    client_kind TEXT NOT NULL REFERENCES organisation_kinds(code),
    arrangement_code TEXT NOT NULL REFERENCES arrangements(code),
    disclosure_id INTEGER REFERENCES disclosures(id)
) STRICT;
CREATE INDEX relationships_start_date ON relationships(start_date);
""" + "".join(f"CREATE INDEX relationships_{c} ON relationships({c});\n" for c in ("client_id", *LABEL_TO_FK.values()))
SECTORS = "police immigration military intelligence prisons courts schools universities health retail banking "
SECTORS += "insurance telecoms transport local-government national-government media technology energy ngo"
KINDS = ["public-agency", "company", "international-body", "ngo", "other"]
ARRANGEMENTS = ["contract", "trial", "pitch", "unknown", "ended", "declined"]
DISCLOSURE_KINDS = ["breach", "leak", "records-release", "lawsuit", "court-filing", "press-investigation"]


def zipf(n: int, s: float = 1.1) -> list[float]:
    """Cumulative Zipf weights for random.choices(cum_weights=...)."""
    return list(itertools.accumulate(1 / (k + 1) ** s for k in range(n)))


def vocab(codes: list[str]) -> list[dict]:
    return [{"code": c, "label": c.replace("-", " ").capitalize(), "description": f"About {c}."} for c in codes]


def build_vocabularies(n_rows: int, rng: random.Random) -> dict:
    """Countries, sectors, kinds, arrangements, organisations and disclosures shared by A and B."""
    countries = country_rows()
    picked = rng.sample(countries, 200)
    sectors = vocab(SECTORS.split())
    vendors = [f"{a}{b}" for a in ("Clear", "Safe", "Vigil", "Argus", "Sentry", "Lumen") for b in
               (" View AI", "Watch Systems", " Data Corp", "Track Labs", "Sight Inc.")]  # fmt: skip
    orgs = [
        {"id": i + 1, "slug": f"vendor-{i + 1}", "name": name, "kind": "company", "sector": "technology",
         "country": "US", "subdivision": None, "parent_id": None, "description": "A vendor."}
        for i, name in enumerate(vendors)
    ]  # fmt: skip
    sector_cw, country_cw = zipf(len(sectors), 1.0), zipf(len(picked), 1.3)
    for i in range(len(vendors) + 1, max(n_rows // 5, 100) + 1):
        sector = rng.choices(sectors, cum_weights=sector_cw)[0]
        country = None if rng.random() < 0.02 else rng.choices(picked, cum_weights=country_cw)[0]
        where = country["name"] if country else "International"
        orgs.append({"id": i, "slug": f"org-{i}", "name": f"{where} {sector['label'].lower()} body no. {i}",
                     "kind": rng.choice(KINDS), "sector": sector["code"], "country": country and country["code"],
                     "subdivision": None, "parent_id": None, "description": None})  # fmt: skip
    disclosures = [
        {"id": i, "slug": f"disclosure-{i}", "title": f"{vendors[(i - 1) % 30]} customer records, release {i}",
         "kind": DISCLOSURE_KINDS[i % 6], "disclosed_date": f"{2015 + i % 10}-0{1 + i % 9}",
         "disclosed_precision": "month", "period_start": None, "period_end": None, "disclosed_by": "A newsroom",
         "reported_count": None, "published_count": 0, "description": "What it revealed.",
         "completeness_note": "Absence from the list does not mean not a client.", "primary_source_id": None}
        for i in range(1, 51)
    ]  # fmt: skip
    return {"countries": countries, "sectors": sectors, "organisation_kinds": vocab(KINDS),
            "arrangements": vocab(ARRANGEMENTS), "disclosure_kinds": vocab(DISCLOSURE_KINDS),
            "organisations": orgs, "disclosures": disclosures}  # fmt: skip


def relationship_rows(n: int, seed: int, v: dict, labels: bool):
    """Yield the same n relationships each time; with the label columns (A) or without (B)."""
    rng = random.Random(seed)
    orgs, n_vendors = v["organisations"], 30
    names = {c["code"]: c["name"] for c in v["countries"]}
    sectors = {s["code"]: s["label"] for s in v["sectors"]}
    arrangements = {a["code"]: a["label"] for a in v["arrangements"]}
    vendor_cw, disclosure_cw = zipf(n_vendors, 1.2), zipf(50, 1.0)
    for i in range(1, n + 1):
        vendor = orgs[rng.choices(range(n_vendors), cum_weights=vendor_cw)[0]]
        client = orgs[rng.randrange(n_vendors, len(orgs))]
        arr = rng.choices(ARRANGEMENTS, weights=[50, 15, 12, 10, 8, 5])[0]
        disclosure = (
            None if rng.random() < 0.1 else v["disclosures"][rng.choices(range(50), cum_weights=disclosure_cw)[0]]
        )
        year, precision = rng.randint(2015, 2024), rng.choice(["day", "day", "month", "year"])
        start = {"year": f"{year}", "month": f"{year}-{rng.randint(1, 12):02d}"}.get(precision)
        start = start or f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        ended = rng.random() < 0.3
        row = {"id": i, "product": f"{vendor['name']} product {rng.randint(1, 5)}" if rng.random() < 0.6 else None,
               "trial_days": rng.randint(7, 120) if arr == "trial" and rng.random() < 0.5 else None,
               "start_date": start, "start_precision": precision,
               "end_date": f"{year + 1}" if ended else None, "end_precision": "year" if ended else None,
               "summary": f"{vendor['name']} {arr} with {client['name']}.",
               "notes": "The sources do not give the value." if rng.random() < 0.1 else None,
               "citation_count": rng.randint(1, 4), "response_count": rng.randint(0, 2),
               "vendor_id": vendor["id"], "client_id": client["id"], "client_sector_code": client["sector"],
               "client_country_code": client["country"], "client_kind": client["kind"], "arrangement_code": arr,
               "disclosure_id": disclosure and disclosure["id"]}  # fmt: skip
        if labels:
            row |= {"vendor": vendor["name"], "client": client["name"], "client_sector": sectors[client["sector"]],
                    "client_country": names.get(client["country"]), "arrangement": arrangements[arr],
                    "disclosure": disclosure and disclosure["title"]}  # fmt: skip
        yield row


def build(path: Path, n: int, seed: int, v: dict, fk_shape: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    db = sqlite_utils.Database(path)
    db.executescript(schema_for("registry") + (FK_RELATIONSHIPS if fk_shape else ""))
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA journal_mode = MEMORY")
    with db.conn:
        for table, rows in v.items():
            db[table].insert_all(rows, batch_size=1000)
        db["relationships"].insert_all(relationship_rows(n, seed, v, labels=not fk_shape), batch_size=1000)
    db.close()


def metadata_for(fk_shape: bool) -> dict:
    meta = yaml.safe_load((ROOT / "datasette" / "metadata.yml").read_text(encoding="utf-8"))
    if fk_shape:
        registry = meta["databases"]["registry"]
        registry.pop("queries", None)  # they read label columns B does not have
        table = registry["tables"]["relationships"]
        table["facets"] = [LABEL_TO_FK[f] for f in table["facets"]]
        table["columns"] = {k: d for k, d in table["columns"].items() if k not in {*LABEL_TO_FK, "client"}}
    return meta


async def get(ds: Datasette, url: str):
    response = await ds.client.get(url)
    if response.status_code != 200:
        sys.exit(f"{url}: HTTP {response.status_code}\n{response.text[:500]}")
    return response


def facet_counts(data: dict, fk_shape: bool) -> dict[str, dict]:
    """{A facet name: {label: count}}, from A's or B's facet_results."""
    results = {f["name"]: f["results"] for f in data["facet_results"].values()}
    key = "label" if fk_shape else "value"
    return {name: {r[key]: r["count"] for r in results[fk if fk_shape else name]} for name, fk in LABEL_TO_FK.items()}


async def verify(ds_a: Datasette, ds_b: Datasette) -> list[str]:
    problems = []
    for query in ("?_facet_size=max", ""):
        a = facet_counts((await get(ds_a, f"{TABLE}.json{query}")).json(), fk_shape=False)
        b = facet_counts((await get(ds_b, f"{TABLE}.json{query}")).json(), fk_shape=True)
        for name in LABEL_TO_FK:
            if query and a[name] != b[name]:  # the full distribution must match exactly
                problems.append(f"{name}: full facet counts differ: {set(a[name].items()) ^ set(b[name].items())}")
            elif not query and (
                sorted(a[name].values()) != sorted(b[name].values())  # top 30: ties may swap at the cut
                or any(b[name].get(k, c) != c for k, c in a[name].items())
            ):
                problems.append(f"{name}: default facet counts differ")
    a_csv = list(csv.DictReader(io.StringIO((await get(ds_a, f"{TABLE}.csv?_size=1000")).text)))
    b_csv = list(csv.DictReader(io.StringIO((await get(ds_b, f"{TABLE}.csv?_labels=on&_size=1000")).text)))
    b_by_id = {row["id"]: row for row in b_csv}
    if len(a_csv) != 1000 or len(b_csv) != 1000:
        problems.append(f"CSV rows: A {len(a_csv)}, B {len(b_csv)}")
    for row in a_csv:
        for label, fk in LABEL_TO_FK.items():
            if row[label] != b_by_id.get(row["id"], {}).get(f"{fk}_label", ""):
                problems.append(f"CSV row {row['id']}: {label} {row[label]!r} differs from B's {fk}_label")
                break
    return problems[:20]


MEASUREMENTS = {  # name: (A's URL, B's URL)
    "facets": (f"{TABLE}.json", f"{TABLE}.json"),
    "facets_nosuggest": (f"{TABLE}.json?_nosuggest=1", f"{TABLE}.json?_nosuggest=1"),
    "csv_labels": (f"{TABLE}.csv?_size=1000", f"{TABLE}.csv?_labels=on&_size=1000"),
    "nofacet": (f"{TABLE}.json?_nofacet=1", f"{TABLE}.json?_nofacet=1"),
}


async def measure(paths: dict[str, Path], repeats: int) -> dict:
    settings = {"facet_time_limit_ms": 10000, "sql_time_limit_ms": 20000}
    ds = {side: Datasette([str(p)], metadata=metadata_for(side == "B"), settings=settings) for side, p in paths.items()}
    for instance in ds.values():
        await instance.invoke_startup()
    if problems := await verify(ds["A"], ds["B"]):
        sys.exit("A and B disagree:\n  " + "\n  ".join(problems))
    results = {}
    for name, urls in MEASUREMENTS.items():
        times = {"A": [], "B": []}
        for side, url in zip(ds, urls, strict=True):
            await get(ds[side], url)  # warm-up
        for _ in range(repeats):
            for side, url in zip(ds, urls, strict=True):
                start = time.perf_counter()
                await get(ds[side], url)
                times[side].append((time.perf_counter() - start) * 1000)
        stats = {s: {"median_ms": statistics.median(t), "p95_ms": sorted(t)[math.ceil(0.95 * len(t)) - 1]}
                 for s, t in times.items()}  # fmt: skip
        ratios = {f"ratio_{k[:-3]}": stats["B"][k] / stats["A"][k] for k in ("median_ms", "p95_ms")}
        results[name] = {**stats, "url_a": urls[0], "url_b": urls[1], **ratios}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", type=Path, default=None, help="folder for the two databases and the JSON")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="facet-shape-"))
    paths = {"A": out / "denormalised" / "registry.db", "B": out / "foreign-keys" / "registry.db"}
    vocabularies = build_vocabularies(args.rows, random.Random(args.seed))
    started = time.perf_counter()
    for side, path in paths.items():
        build(path, args.rows, args.seed, vocabularies, fk_shape=side == "B")
    print(f"built {args.rows} relationships twice in {time.perf_counter() - started:.1f} s, in {out}")
    results = asyncio.run(measure(paths, args.repeats))
    sizes = {side: round(path.stat().st_size / 2**20, 1) for side, path in paths.items()}
    versions = {"datasette": importlib.metadata.version("datasette"), "sqlite": sqlite3.sqlite_version}
    print(f"datasette {versions['datasette']}, SQLite {versions['sqlite']}, {args.repeats} timed requests each")
    print(f"A = denormalised label columns ({sizes['A']} MiB), B = foreign keys + label_column ({sizes['B']} MiB)")
    print("facet counts per label: A and B agree (full and default facet sizes); CSV labels agree")
    head = ("measurement", "A median", "A p95", "B median", "B p95", "B/A med", "B/A p95")
    print("{:<17}{:>10}{:>10}{:>10}{:>10}{:>9}{:>9}".format(*head))
    for name, r in results.items():
        cells = (r["A"]["median_ms"], r["A"]["p95_ms"], r["B"]["median_ms"], r["B"]["p95_ms"])
        print(f"{name:<17}" + "".join(f"{c:>10.1f}" for c in cells), f"{r['ratio_median']:>8.2f}{r['ratio_p95']:>9.2f}")
    report = {"rows": args.rows, "repeats": args.repeats, "seed": args.seed, **versions, "size_mib": sizes}
    report["results"] = results
    (out / "facet_shape.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out / 'facet_shape.json'} (times in ms)")


if __name__ == "__main__":
    main()
