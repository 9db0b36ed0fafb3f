"""Measure registry.rules.persons (does a name look like a private person's?) on real names.

Organisations (should not be flagged): every distinct organisation name in ../shared/data, which
are real names written by others:
  - eff-atlas-2020: the Agency and Vendor columns of the Atlas of Surveillance export;
  - nando-flock-private-eyes: agency names in agency20240426.csv, nc_agency_survey20240430.csv,
    agency_policies.csv and latest_usage04262023.csv;
  - hhs-ocr-breaches: the covered entities of both snapshots and the business associates;
  except the HHS names that are a person's name, labelled by hand in
  benchmarks/data/hhs_person_named.txt (a doctor's or dentist's own practice named after them,
  "L. Douglas Carlson, M.D."; a business associate that is an individual, "Trisha Elaine
  Cordova"): these count as people, and must be flagged.
People (should be flagged):
  - benchmarks/data/person_names_us_congress.txt: the 617 current members of the US Congress and
    the presidents and vice-presidents, as written in unitedstates/congress-legislators
    (legislators-current.yaml, executive.yaml at commit dfa9622; CC0): official_full, else
    first, middle, last and suffix;
  - --faker N names made by Faker (MIT licence) from its name lists of 20 locales (Spanish,
    Arabic, Indian, Turkish, Persian, Vietnamese, Chinese in Latin script...), seed 14, so
    that names from outside the US, like the spyware targets of issue 14, are measured too;
  - the hand-labelled HHS person names above.

Prints precision and recall of "flagged" as "is a person's name", each source's counts, every
false alarm on organisations (up to --show), the missed people, and the time per distinct
name (a first call, without the cache).

    .venv/bin/python benchmarks/person_names.py
    .venv/bin/python benchmarks/person_names.py --faker 5000 --show 100
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from registry.rules.persons import looks_like_person  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
ORGANISATION_COLUMNS = {
    "atlas": [("eff-atlas-2020/Atlas_of_Surveillance-20201007.csv", ("Agency", "Vendor"))],
    "flock": [
        ("nando-flock-private-eyes/agency20240426.csv", ("name",)),
        ("nando-flock-private-eyes/nc_agency_survey20240430.csv", ("name",)),
        ("nando-flock-private-eyes/agency_policies.csv", ("agency",)),
        ("nando-flock-private-eyes/latest_usage04262023.csv", ("agency",)),
    ],
    "hhs": [
        ("hhs-ocr-breaches/breaches-2014.csv", ("Name_of_Covered_Entity", "Business_Associate_Involved")),
        ("hhs-ocr-breaches/hhs-breaches-2015.csv", ("Name.of.Covered.Entity",)),
    ],
}
FAKER_LOCALES = [
    "en_US", "en_GB", "es_MX", "es_ES", "fr_FR", "de_DE", "it_IT", "pt_BR", "nl_NL", "pl_PL", "tr_TR",
    "ar_AA", "hi_IN", "en_IN", "fa_IR", "vi_VN", "zh_CN", "id_ID", "sw", "en_NG",
]  # fmt: skip


def shared_data() -> Path:
    """../shared/data, or $REGISTRY_SHARED_DIR/data."""
    for folder in [os.environ.get("REGISTRY_SHARED_DIR"), ROOT.parent / "shared", "/work/shared"]:
        if folder and (Path(folder) / "data").is_dir():
            return Path(folder) / "data"
    raise SystemExit("shared/data not found: set REGISTRY_SHARED_DIR")


def cells(path: Path, columns: tuple[str, ...]) -> Iterator[str]:
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            for column in columns:
                value = " ".join((row.get(column) or "").split())
                if value and value != "NA":
                    yield value


def faker_names(count: int) -> list[str]:
    """Names in Latin script from Faker's lists (locales whose names are in another script are
    transliterated by Faker where it can; the rest are left out: a leak in Latin script is the case)."""
    if count <= 0:
        return []
    from faker import Faker

    fake = Faker(FAKER_LOCALES, use_weighting=False)
    Faker.seed(14)
    names: set[str] = set()
    tries = 0
    while len(names) < count and tries < count * 20:
        tries += 1
        locale = FAKER_LOCALES[tries % len(FAKER_LOCALES)]
        name = " ".join(fake[locale].name().split())
        if name.isascii() or all(ch.isascii() or (ch.isalpha() and ord(ch) < 0x250) for ch in name):
            names.add(name)
    return sorted(names)


def _probablepeople_says_person(name: str) -> bool:
    import probablepeople

    try:
        return probablepeople.tag(name)[1] in ("Person", "Household")
    except probablepeople.RepeatedLabelError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faker", type=int, default=2000, help="how many Faker names (0: none)")
    parser.add_argument("--show", type=int, default=40, help="false alarms and misses to print")
    args = parser.parse_args()
    data = shared_data()
    hand = set((DATA / "hhs_person_named.txt").read_text(encoding="utf-8").splitlines()) - {""}
    hand = {" ".join(n.split()) for n in hand}
    organisations: dict[str, set[str]] = {}
    for group, files in ORGANISATION_COLUMNS.items():
        names = {v for path, columns in files for v in cells(data / path, columns)}
        organisations[group] = names - hand
    congress = set((DATA / "person_names_us_congress.txt").read_text(encoding="utf-8").splitlines()) - {""}
    people = {"us-congress": congress, "faker": set(faker_names(args.faker)), "hhs-hand-labelled": hand}

    every = set().union(*organisations.values(), *people.values())
    start = time.perf_counter()
    flagged = {name for name in every if looks_like_person(name)}
    elapsed = time.perf_counter() - start

    probablepeople_alone = {name for name in every if _probablepeople_says_person(name)}
    tp = fp = fn = 0
    print(f"{'source':<20}{'names':>8}{'flagged':>9}")
    for group, names in organisations.items():
        hits = names & flagged
        fp += len(hits)
        print(f"{'org:' + group:<20}{len(names):>8}{len(hits):>9}")
    for group, names in people.items():
        hits = names & flagged
        tp, fn = tp + len(hits), fn + len(names - hits)
        print(f"{'person:' + group:<20}{len(names):>8}{len(hits):>9}")
    org_total = sum(map(len, organisations.values()))
    print(f"\nprecision {tp / max(tp + fp, 1):.3f}  recall {tp / max(tp + fn, 1):.3f}  "
          f"(true {tp}, false alarms {fp} of {org_total} organisations, missed {fn} people)")  # fmt: skip
    print(f"{len(every):,} distinct names in {elapsed:.2f} s: {elapsed / len(every) * 1e6:.0f} µs per name")
    base_tp = sum(len(names & probablepeople_alone) for names in people.values())
    base_fp = sum(len(names & probablepeople_alone) for names in organisations.values())
    print(f"baseline, probablepeople.tag alone: precision {base_tp / max(base_tp + base_fp, 1):.3f}  "
          f"recall {base_tp / max(sum(map(len, people.values())), 1):.3f}  (false alarms {base_fp})")  # fmt: skip
    false_alarms = sorted(n for names in organisations.values() for n in names & flagged)
    missed = sorted(n for names in people.values() for n in names - flagged)
    print(f"\nfalse alarms ({len(false_alarms)}): " + " | ".join(false_alarms[: args.show]))
    print(f"\nmissed people ({len(missed)}): " + " | ".join(missed[: args.show]))


if __name__ == "__main__":
    main()
