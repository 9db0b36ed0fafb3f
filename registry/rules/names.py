"""Organisation names: the normalised key that makes spellings meet, and near matches."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from registry.rules.fields import fold

# Abbreviations common in leaked lists, expanded so both spellings share one key.
ABBREVIATIONS = {
    "dept": "department",
    "dep": "department",
    "pd": "police department",
    "so": "sheriffs office",
    "sheriff s": "sheriffs",
    "sheriff": "sheriffs",
    "twp": "township",
    "univ": "university",
    "intl": "international",
    "natl": "national",
    "govt": "government",
    "us": "united states",
    "u s": "united states",
    "&": "and",
}
_WORDS = re.compile(r"\b(" + "|".join(re.escape(k) for k in sorted(ABBREVIATIONS, key=len, reverse=True)) + r")\b")
NEAR_MATCH_SCORE = 85.0


@functools.lru_cache(maxsize=200_000)
def name_key(name: str) -> str:
    """Return the key under which two spellings of one name meet.

    "Sylvania Police Dept." and "Sylvania PD" both give "sylvania police department";
    "Sheriff's Office" and "Sheriffs Office" give "sheriffs office"."""
    folded = fold(name.replace("&", " and "))
    return " ".join(_WORDS.sub(lambda m: ABBREVIATIONS[m.group(1)], folded).split())


@dataclass(frozen=True)
class NearMatch:
    organisation_id: int
    name: str
    matched: str
    score: float
    exact: bool


def near_matches(
    name: str, candidates: Iterable[tuple[int, str, str]], limit: int = 5, exclude: Iterable[int] = ()
) -> list[NearMatch]:
    """Score `name` against (organisation_id, name, spelling) candidates; best first.

    Exact key matches come first; others are scored with rapidfuzz's token set ratio,
    which forgives word order and extra words ("Wells Fargo Advisors" ~ "Wells Fargo")."""
    excluded = set(exclude)
    rows = [c for c in candidates if c[0] not in excluded]
    keys = [name_key(spelling) for _, _, spelling in rows]
    key = name_key(name)
    found = process.extract(key, keys, scorer=fuzz.token_set_ratio, limit=limit * 3)
    best: dict[int, NearMatch] = {}
    for _, score, index in found:
        if score < NEAR_MATCH_SCORE:
            continue
        org_id, org_name, spelling = rows[index]
        match = NearMatch(org_id, org_name, spelling, round(score, 1), keys[index] == key)
        if org_id not in best or (best[org_id].exact, best[org_id].score) < (match.exact, match.score):
            best[org_id] = match
    return sorted(best.values(), key=lambda m: (not m.exact, -m.score, m.name))[:limit]
