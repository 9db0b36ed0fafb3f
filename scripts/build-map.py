#!/usr/bin/env python3
"""Build datasette/static/world-110m.json, the overview map's country shapes, once.

Input: world-atlas 2.0.2's countries-110m.json (Natural Earth 4.1.0 admin-0 countries at
1:110m, public domain, as TopoJSON: `npm pack world-atlas@2.0.2`). Output: one SVG path
per country in an equirectangular projection (x = longitude, y = -latitude), keyed by
ISO 3166-1 alpha-2 code, coordinates in tenths of a degree (viewBox -1800 -840 3600 1440); Antarctica is left out (no
client there, and it would take a third of the map's height). Shapes without an ISO code
(Northern Cyprus, Somaliland, Kosovo) are kept as unshaded land under "-N" keys.
Nothing is fetched when the site runs: the output is committed.

Standard library, plus pycountry (a registry dependency) for numeric to alpha-2 codes.

    .venv/bin/python scripts/build-map.py package/countries-110m.json datasette/static/world-110m.json
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import pycountry

LEFT_OUT = {"010"}  # Antarctica
UNCODED = {"Kosovo": "XK"}  # a user-assigned code in common use (and in pycountry's absence, here)


def decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    """Absolute longitude/latitude points of each arc (TopoJSON's delta-encoded, quantized arcs)."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring(arcs: list[list[tuple[float, float]]], indexes: list[int]) -> list[tuple[float, float]]:
    """Join a ring's arcs (a negative index ~i is arc i reversed), dropping shared end points."""
    points: list[tuple[float, float]] = []
    for i in indexes:
        arc = arcs[i] if i >= 0 else arcs[~i][::-1]
        points.extend(arc[1:] if points else arc)
    return points


def path(rings: list[list[tuple[float, float]]]) -> str:
    """An SVG path of closed rings in tenths of a degree (integers), each point relative
    to the one before (half the size of absolute decimals), repeated points dropped."""
    parts = []
    for points in rings:
        if any(abs(b[0] - a[0]) > 180 for a, b in itertools.pairwise(points)):
            # A ring across the antimeridian (Russia's far east, Fiji): drawn whole past 180°
            # east, where the map's edge cuts it, instead of a line across the world.
            points = [(lon + 360 if lon < 0 else lon, lat) for lon, lat in points]
        tenths: list[tuple[int, int]] = []
        for lon, lat in points:
            p = (round(lon * 10), round(-lat * 10))
            if not tenths or p != tenths[-1]:
                tenths.append(p)
        if len(tenths) < 3:
            continue
        steps = [f"{x - px} {y - py}" for (px, py), (x, y) in itertools.pairwise(tenths)]
        parts.append(f"M{tenths[0][0]} {tenths[0][1]}l" + " ".join(steps) + "z")
    return "".join(parts)


def alpha2(numeric: str | None, name: str) -> str | None:
    if numeric is None:
        return UNCODED.get(name)
    found = pycountry.countries.get(numeric=numeric)
    return found.alpha_2 if found else None


def build(topology: dict) -> dict[str, dict[str, str]]:
    arcs = decode_arcs(topology)
    shapes: dict[str, dict[str, str]] = {}
    uncoded = 0
    for g in topology["objects"]["countries"]["geometries"]:
        if g.get("id") in LEFT_OUT or "arcs" not in g:
            continue
        polygons = g["arcs"] if g["type"] == "MultiPolygon" else [g["arcs"]]
        d = path([ring(arcs, r) for polygon in polygons for r in polygon])
        name = g["properties"]["name"]
        code = alpha2(g.get("id"), name)
        if code is None:
            uncoded += 1
            code = f"-{uncoded}"
        shapes[code] = {"name": name, "d": d}
    return dict(sorted(shapes.items()))


def main(source: str, out: str) -> None:
    shapes = build(json.loads(Path(source).read_text()))
    Path(out).write_text(json.dumps(shapes, separators=(",", ":"), ensure_ascii=False) + "\n")
    print(f"{len(shapes)} shapes, {Path(out).stat().st_size:,} bytes in {out}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
