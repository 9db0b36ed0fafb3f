"""Replay the attacks of issue 18 against a real `registry serve` and print what each
costs the servers and the people using them (see benchmarks/attacks/harness.py).

    .venv/bin/python benchmarks/attack_replay.py                 # every area
    .venv/bin/python benchmarks/attack_replay.py --only reading  # benchmarks/attacks/reading.py

Each area runs on its own fresh server. The exit status is 1 if any attack misses a
target (≤ 2 CPU s and ≤ 200 MB per anonymous request, others delayed ≤ 1 s, no 5xx, no
server process killed)."""

from __future__ import annotations

import argparse
import datetime
import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from attacks.harness import Result, Server, measure  # noqa: E402


def areas() -> list[str]:
    return sorted(p.stem for p in (HERE / "attacks").glob("*.py") if p.stem not in ("__init__", "harness"))


def row(area: str, r: Result) -> str:
    verdict = "; ".join(r.failures) or "ok"
    return (
        f"| {area} | {r.attack.finding} | {r.attack.name} | {len(r.statuses)} | {r.cpu_per_request:.2f} | "
        f"{r.peak_mb:.0f} | {r.reader[0] * 1000:.0f} → {r.reader[1] * 1000:.0f} | "
        f"{r.contributor[0] * 1000:.0f} → {r.contributor[1] * 1000:.0f} | {verdict} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", choices=areas(), help="an area (repeatable)")
    args = parser.parse_args()
    print(f"Attack replay, {datetime.date.today()}; reader and contributor: median ms before → slowest during")
    print("| area | finding | attack | requests | CPU s/request | peak MB | reader ms | contributor ms | verdict |")
    print("|---|---|---|---|---|---|---|---|---|")
    failed = False
    for area in args.only or areas():
        module = importlib.import_module(f"attacks.{area}")
        server = Server(getattr(module, "ENV", None))
        try:
            for attack in module.ATTACKS:
                result = measure(server, attack)
                failed |= bool(result.failures)
                print(row(area, result), flush=True)
        finally:
            server.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
