"""Countries and subdivisions from pycountry, with French names, as table rows."""

from __future__ import annotations

import gettext
from typing import Any

import pycountry
from countryinfo import CountryInfo
from countryinfo.exceptions import CountryNotFoundError


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
