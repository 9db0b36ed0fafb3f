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
    name: str,
    candidates: Iterable[tuple[int, str, str]],
    limit: int = 5,
    exclude: Iterable[int] = (),
    keys: Iterable[str] | None = None,
) -> list[NearMatch]:
    """Score `name` against (organisation_id, name, spelling) candidates; best first.

    Exact key matches come first; others are scored with rapidfuzz's token set ratio,
    which forgives word order and extra words ("Wells Fargo Advisors" ~ "Wells Fargo").
    `keys`, the spellings' stored name_key in the same order, spares computing them again
    (most of the time at 200,000 spellings: benchmarks/organisation_picker.py)."""
    excluded = set(exclude)
    given = list(keys) if keys is not None else None
    pairs = [(c, given[i] if given is not None else None) for i, c in enumerate(candidates)]
    pairs = [(c, k) for c, k in pairs if c[0] not in excluded]
    rows = [c for c, _ in pairs]
    keys = [k if k is not None else name_key(c[2]) for c, k in pairs]
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


def key_prefixes(key: str, leading: int = 4, others: int = 3) -> list[str]:
    """The beginnings of spellings' keys the forms look near matches up by: the key's first
    words, longest first ("amazon incorporated", "amazon"), then its other longest words
    (three letters or more), so that "Sheriff of Orange County" finds "Orange County Sheriff's
    Office". Only spellings beginning so are scored, not every spelling: scoring all costs
    seconds at a million (benchmarks/organisation_picker.py). A misspelt first word finds none."""
    words = key.split()
    heads = [" ".join(words[:n]) for n in range(min(len(words), leading), 0, -1)]
    rest = sorted({w for w in words[1:] if len(w) >= 3} - set(words[:1]), key=lambda w: (-len(w), w))
    return heads + rest[:others]
