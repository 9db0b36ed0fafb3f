"""The level of government of a public body, worked out from its name when nobody gave it.

Leaked lists name agencies, not their levels, and "Public agency" alone mixes the FBI
with a county sheriff. The words of a name usually say the level ("Sheriff's Office",
"State Police", "U.S. Customs and Border Protection"); where they do not, the answer is
None and a contributor or reviewer says. On the EFF Atlas of Surveillance's 2020 export,
whose "Type of Juris" column gives the level, this agrees with it on more than 95% of the
municipal, county, state and federal agencies (tests/test_government_levels.py)."""

from __future__ import annotations

import functools
import re

import pycountry

from registry.rules.names import name_key

LEVELS = ("international", "national", "regional", "local")
# Kinds of organisation that have a level of government (schema.sql's CHECK says the same).
GOVERNED_KINDS = frozenset({"public-agency", "international-body"})


def _words(*phrases: str) -> re.Pattern[str]:
    """Whole words or phrases of a name key (folded, abbreviations expanded)."""
    return re.compile(r"\b(?:" + "|".join(phrases) + r")\b")


INTERNATIONAL = _words(
    "interpol", "europol", "eurojust", "frontex", "united nations", "unodc", "unhcr", "nato",
    "international criminal police organization", "european union", "european commission",
)  # fmt: skip
# Said before the local words: "U.S. Customs and Border Protection - Miami International Airport".
NATIONAL = _words(
    "united states", "federal bureau of investigation", "fbi", "drug enforcement administration", "dea",
    "immigration and customs enforcement", "customs and border protection", "homeland security investigations",
    "department of homeland security", "secret service", "national park service", "national park police",
    "bureau of alcohol tobacco firearms and explosives", "atf", "royal canadian mounted police",
)  # fmt: skip
# A campus police answers to its university, whatever the state: left to people.
UNDECIDED = _words("university", "college", "campus", "school of", "tribal", "tribe", "nation police")
LOCAL = _words(
    "sheriffs?", "sheriffs office", "county", "parish", "borough", "township", "city", "town", "village",
    "municipal", "municipality", "metropolitan", "metro", "police department", "district attorneys?",
    "school district", "constables?", "police municipale", "ville", "commune", "gemeente", "stadt",
)  # fmt: skip
# National words that a city's name may also hold ("Federal Way Police Department" is local).
NATIONAL_WEAK = _words(
    "federal", "federale", "bundes", "national", "nationale", "nacional", "ministry", "ministere", "ministerio",
    "gendarmerie", "department of justice", "department of defense", "army", "navy", "air force",
)  # fmt: skip
REGIONAL = _words(
    "state police", "state patrol", "highway patrol", "state of", "provincial", "province", "region", "regional",
    "landeskriminalamt", "state attorney general", "state bureau of investigation",
)  # fmt: skip
LOCAL_WEAK = _words("police", "public safety", "marshals? office")
# A US state's own body: "Florida Department of Law Enforcement", "Colorado Bureau of Investigation".
STATE_BODY = _words(
    "department", "division", "bureau", "office", "agency", "commission", "authority", "attorney general",
    "police", "patrol", "fusion center", "information and analysis center", "intelligence center",
)  # fmt: skip


@functools.cache
def _state_names() -> tuple[str, ...]:
    names = {name_key(s.name) for s in pycountry.subdivisions.get(country_code="US") or ()}
    return tuple(sorted(names, key=len, reverse=True))


def derive_level(name: str, kind: str | None = None) -> str | None:
    """The level of government a public body's name shows, or None when it does not say.

    `kind` is the organisation's kind: an international body is international, and a
    company, an NGO or any other kind has no level."""
    if kind is not None and kind not in GOVERNED_KINDS:
        return None
    if kind == "international-body":
        return "international"
    key = name_key(name)
    if INTERNATIONAL.search(key):
        return "international"
    if UNDECIDED.search(key):
        return None
    state = _names_a_state(key)  # "Wisconsin Department of Justice" is the state's, not the nation's
    if NATIONAL.search(key) and not state:
        return "national"
    if LOCAL.search(key):
        return "local"
    if state and (REGIONAL.search(key) or STATE_BODY.search(key)):
        return "regional"
    if NATIONAL.search(key) or NATIONAL_WEAK.search(key):
        return "national"
    if REGIONAL.search(key):
        return "regional"
    if LOCAL_WEAK.search(key):  # what is left of police forces: a town's ("Grosse Ile Police")
        return "local"
    return None


@functools.cache
def _state_at_start() -> re.Pattern[str]:
    """A US state's name as the first words of a key: one regular expression instead of a
    loop over 57 names, since an import asks for every distinct client."""
    return re.compile("(?:" + "|".join(map(re.escape, _state_names())) + ")(?: |$)")


def _names_a_state(key: str) -> bool:
    return _state_at_start().match(key) is not None
