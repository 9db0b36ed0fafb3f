"""Measure what resolving subdivisions by name costs an import's subdivision column, per row.

On --rows generated rows (default 1,000,000) of eight US states, in one run: the subdivision
getter as it was (`{column: State, transforms: [trim, upper], prefix: "US-"}`, the Atlas
mapping's) against the same wrapped to resolve names within the row's country
(registry.importer.mapping._subdivision_getter: an ISO code is kept after one set look-up), then
the same wrapper on a column of names ("Texas"), and the one-time build of the index of names
(registry.rules.countries). Each getter is timed --repeat times (default 3); medians are printed
with the ratio to the baseline.

    .venv/bin/python benchmarks/subdivision_names.py --rows 1000000
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from registry.importer.mapping import _Compiler, _subdivision_getter
from registry.rules.countries import _subdivision_index

STATES = {"FL": "Florida", "TX": "Texas", "CA": "California", "NY": "New York", "WA": "Washington",
          "OR": "Oregon", "GA": "Georgia", "IL": "Illinois"}  # fmt: skip


def timed(getter: Callable[[Any], Any], rows: list[dict[str, str]], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for row in rows:
            getter(row)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to read (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=3, help="timings per getter; the median is printed")
    args = parser.parse_args()
    rng = random.Random(20200227)
    codes = list(STATES)
    rows = [{"State": rng.choice(codes), "Name": "", "Country": "US"} for _ in range(args.rows)]
    for row in rows:
        row["Name"] = STATES[row["State"]]
    compiler = _Compiler(["State", "Name", "Country"])
    by_code = compiler.spec({"column": "State", "transforms": ["trim", "upper"], "prefix": "US-"}, "subdivision")
    by_name = compiler.spec({"column": "Name"}, "subdivision")
    country = compiler.spec({"column": "Country"}, "country")
    start = time.perf_counter()
    _subdivision_index()
    print(f"index of subdivision names, built once: {time.perf_counter() - start:.2f} s")
    baseline = timed(by_code, rows, args.repeat)
    print(f"baseline, codes as before:        {baseline:.2f} s for {args.rows:,} rows")
    for label, getter in (("codes through the name resolver", _subdivision_getter(by_code, country)),
                          ("names through the name resolver", _subdivision_getter(by_name, country))):  # fmt: skip
        took = timed(getter, rows, args.repeat)
        print(f"{label}: {took:.2f} s ({took / baseline:.2f}x, +{(took - baseline) / args.rows * 1e9:.0f} ns a row)")
    assert _subdivision_getter(by_name, country)(rows[0]) == "US-" + rows[0]["State"]


if __name__ == "__main__":
    main()
