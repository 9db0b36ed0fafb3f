"""Suggest a mapping from a file's headers and first rows, for the contributor to edit."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import yaml

HEADERS = {
    "client": r"agency|client|customer|organi[sz]ation|^name$|^nom$|entit|department",
    "vendor": r"vendor|supplier|fournisseur|company|provider",
    "country": r"country|pays|nation",
    "subdivision": r"^state$|province|r[ée]gion|subdivision",
    "city": r"city|ville|town|municipal",
    "sector": r"type|sector|secteur|category",
    "arrangement": r"arrangement|stage|stade|status|contract",
    "date": r"date|start|d[ée]but|since",
    "url": r"url|link|lien|source",
}
SECTOR_WORDS = [
    (r"police|sheriff|law|constab|marshal|patrol", "law-enforcement"),
    (r"bank|financ|credit", "banking-finance"),
    (r"school|universit|college", "education"),
    (r"retail|store|shop", "retail"),
    (r"immigration|border|customs|dhs", "immigration-border"),
    (r"attorney|prosecut|court|correction", "justice"),
    (r"casino|gaming", "gambling"),
    (r"hospital|health", "health"),
]
DATE_FORMATS = ["%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y", "%m/%d/%y", "%Y-%m", "%m/%Y", "%Y", "%B %d, %Y", "%d %B %Y"]


def _find(columns: list[str], kind: str, taken: set[str]) -> str | None:
    for column in columns:
        if column not in taken and re.search(HEADERS[kind], column, re.IGNORECASE):
            taken.add(column)
            return column
    return None


def _date_formats(values: list[str]) -> list[str]:
    def fits(fmt: str) -> bool:
        try:
            return all(dt.datetime.strptime(v.strip(), fmt) for v in values if v.strip())
        except ValueError:
            return False

    return [fmt for fmt in DATE_FORMATS if fits(fmt)] or DATE_FORMATS[:3]


def _sector_map(values: list[str]) -> dict[str, str]:
    found = {}
    for value in sorted({v.strip() for v in values if v.strip()}):
        found[value] = next((code for words, code in SECTOR_WORDS if re.search(words, value, re.IGNORECASE)), "other")
    return found


def suggest_mapping(file_name: str, columns: list[str], rows: list[dict[str, str]]) -> str:
    """A mapping in YAML that fits the headers, with comments where the contributor must decide."""
    taken: set[str] = set()
    found = {kind: _find(columns, kind, taken) for kind in HEADERS}
    values = {kind: [r.get(col, "") for r in rows] for kind, col in found.items() if col}
    mapping: dict[str, Any] = {}
    if found["vendor"]:
        mapping["vendors"] = {
            "column": found["vendor"],
            "split": ",",
            "new": {"kind": "company", "sector": "technology"},
        }
    mapping["source"] = {"new": {"title": f"Uploaded list: {file_name}", "language": "en"}}
    mapping["locator"] = "row {row}"
    client: dict[str, Any] = {"name": {"column": found["client"] or columns[0], "transforms": ["collapse"]},
                              "kind": {"value": "public-agency"}}  # fmt: skip
    if found["sector"]:
        client["sector"] = {"column": found["sector"], "transforms": ["trim"], "map": _sector_map(values["sector"]),
                            "default": "other"}  # fmt: skip
    else:
        client["sector"] = {"value": "law-enforcement"}
    if found["country"]:
        client["country"] = {"column": found["country"], "transforms": ["trim"]}
    if found["subdivision"]:
        codes = all(re.fullmatch(r"[A-Za-z]{2}", v.strip()) for v in values["subdivision"] if v.strip())
        client["subdivision"] = {"column": found["subdivision"], "transforms": ["trim", "upper"],
                                 **({"prefix": "US-"} if codes else {})}  # fmt: skip
        client.setdefault("country", {"value": "US"} if codes else None)
    if found["city"]:
        client["city"] = {"column": found["city"], "transforms": ["trim"]}
    mapping["client"] = {k: v for k, v in client.items() if v is not None}
    relationship: dict[str, Any] = {"arrangement": {"value": "unknown"}}
    if found["date"]:
        relationship["start_date"] = {"column": found["date"], "formats": _date_formats(values["date"])}
    mapping["relationship"] = relationship
    if found["url"]:
        mapping["sources"] = [{"url": {"column": found["url"], "transforms": ["trim"]}}]
    text = yaml.safe_dump(mapping, allow_unicode=True, sort_keys=False, width=100)
    head = "# Suggested from the file's headers: check every line.\n"
    if not found["vendor"]:
        head += "# Say who the vendor is, e.g.  vendor: {slug: clearview-ai}  or  vendor: {new: {name: Flock Safety}}\n"
    return head + text
