"""Countries and subdivisions from pycountry, with French names, as table rows."""

from __future__ import annotations

import functools
import gettext
from typing import Any

import pycountry
from countryinfo import CountryInfo
from countryinfo.exceptions import CountryNotFoundError
from rapidfuzz import fuzz, process

from registry.rules.fields import fold


def country_rows() -> list[dict[str, Any]]:
    """Return every ISO 3166-1 country with its English and French names."""
    french = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"])
    return [
        {
            "code": c.alpha_2,
            "code3": c.alpha_3,
            "name": getattr(c, "common_name", c.name),
            "name_fr": french.gettext(c.name),
            "official_name": getattr(c, "official_name", None),
            **_centre(c.alpha_2),
        }
        for c in pycountry.countries
    ]


def _centre(code: str) -> dict[str, float | None]:
    """The country's reference point, or None where countryinfo has none (Antarctica...)."""
    try:
        point = CountryInfo(code).latlng()
    except CountryNotFoundError:
        point = []
    if len(point) != 2:
        return {"latitude": None, "longitude": None}
    return {"latitude": float(point[0]), "longitude": float(point[1])}


def subdivision_rows() -> list[dict[str, Any]]:
    """Return every ISO 3166-2 subdivision (US states, French regions...)."""
    return [{"code": s.code, "country": s.country_code, "name": s.name, "type": s.type} for s in pycountry.subdivisions]


@functools.cache
def _subdivision_index() -> dict[str, dict[str, str | None]]:
    """Country code -> {folded code, code without its country ("TX"), English or French name -> ISO
    3166-2 code}; a name two subdivisions of one country share (France's "Paris", a department
    and a collectivity) maps to None: it is reported, never guessed. A code wins over a name."""
    index: dict[str, dict[str, str | None]] = {}
    names: dict[str, dict[str, set[str]]] = {}
    for s in pycountry.subdivisions:
        codes = index.setdefault(s.country_code, {})
        codes[fold(s.code)] = codes[fold(s.code.split("-", 1)[1])] = s.code
        for text in (s.name, _french_name(s.name)):
            names.setdefault(s.country_code, {}).setdefault(fold(text), set()).add(s.code)
    for country, found in names.items():
        for key, codes_named in found.items():
            index[country].setdefault(key, next(iter(codes_named)) if len(codes_named) == 1 else None)
    return index


@functools.cache
def _country_index() -> dict[str, str]:
    """Folded code, English or French name -> ISO alpha-2, as the countries table is loaded
    (country_rows): a mapping resolves a row's country before the database is at hand."""
    index: dict[str, str] = {}
    french = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"])
    for c in pycountry.countries:
        for text in (c.alpha_2, c.alpha_3, getattr(c, "common_name", c.name), french.gettext(c.name),
                     getattr(c, "official_name", None)):  # fmt: skip
            if text:
                index.setdefault(fold(text), c.alpha_2)
    return index


def country_code(text: str) -> str | None:
    """The ISO alpha-2 code of a country's code or English or French name, or None."""
    return _country_index().get(fold(text))


def subdivision_code(text: str, country: str | None) -> str | None:
    """The ISO 3166-2 code of a subdivision of `country` (a code or name) given by its code, its
    code without the country ("TX" in the United States) or its English or French name
    ("Bavière", "Quebec"); None when the country has no such subdivision, or two of that name.
    Without a country only a full code is known: "Georgia" is a state and a country."""
    code = country_code(country) if country else None
    if code is None:
        found = pycountry.subdivisions.get(code=text.strip().upper())
        return found.code if found is not None else None
    return _subdivision_index().get(code, {}).get(fold(text))


def nearest_subdivisions(text: str, country: str | None, limit: int = 5) -> list[str]:
    """The subdivisions of `country` (every country's when it is not known) nearest to `text`,
    as "US-TX (Texas)", best first: what an error suggests instead of listing all 5,000."""
    code = country_code(country) if country else None
    rows = [s for s in pycountry.subdivisions if code is None or s.country_code == code]
    choices = {s.code: f"{s.code} ({s.name})" for s in rows}
    names = {f"{s.code} {s.name} {_french_name(s.name)}": s.code for s in rows}
    found = process.extract(text, list(names), scorer=fuzz.WRatio, processor=fold, limit=limit)
    return [choices[names[match]] for match, _, _ in found]


@functools.cache
def _french_name(name: str) -> str:
    return gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=["fr"]).gettext(name)
