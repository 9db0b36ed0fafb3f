"""The rules every record obeys, whether it comes from a form, a file or the command
line: field shapes, vocabularies, countries and partial dates."""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from registry.rules import limits

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
REQUIRED = "This field is required."
# C0 controls, DEL, bidi overrides and isolates, and U+FFFE/U+FFFF (not characters: XML,
# hence the Atom feed, cannot carry them).
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069\ufffe\uffff]")


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ValidationError(Exception):
    """One or more fields are invalid; `errors` says which and why."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class Vocabulary:
    """The controlled vocabularies, as read from the database."""

    sectors: frozenset[str]
    organisation_kinds: frozenset[str]
    arrangements: frozenset[str]
    disclosure_kinds: frozenset[str]
    response_kinds: frozenset[str]
    subdivisions: frozenset[str]
    country_names: Mapping[str, str]  # folded name or code -> ISO alpha-2
    # (code, label) pairs of each vocabulary table, in label order: the forms' choices
    labels: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    government_levels: frozenset[str] = frozenset()

    def country(self, text: str) -> str | None:
        """Return the ISO code for a code or an English or French name, or None."""
        return self.country_names.get(fold(text))


@functools.lru_cache(maxsize=200_000)  # pure, and imports fold the same names again and again
def fold(text: str) -> str:
    """Fold a name for comparison: no accents, no case, no punctuation, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    words = re.sub(r"[^\w]+", " ", bare.casefold().replace("'", "").replace("\u2019", ""))
    return " ".join(words.split())


def slugify(text: str) -> str:
    """Make an ASCII URL slug from a name ("Kohl's" -> "kohls"); names in other scripts
    ("Полиция Москвы") give "org", made unique by a number where it is stored."""
    ascii_words = re.sub(r"[^a-z0-9]+", " ", fold(text).encode("ascii", "ignore").decode())
    return "-".join(ascii_words.split())[:80].strip("-") or "org"


class Fields:
    """Read typed fields out of a mapping, collecting every error instead of stopping."""

    def __init__(self, data: Mapping[str, Any], prefix: str = "") -> None:
        if not isinstance(data, Mapping):
            raise ValidationError([FieldError(prefix.rstrip(".") or "record", "must be a mapping of fields")])
        self.data = data
        self.prefix = prefix
        self.errors: list[FieldError] = []

    def error(self, name: str, message: str) -> None:
        self.errors.append(FieldError(self.prefix + name, message))

    def text(self, name: str, *, required: bool = False, max_length: int = 1000) -> str | None:
        value = self.data.get(name)
        if isinstance(value, dt.date):  # YAML reads 2020-10-07 as a date
            value = value.isoformat()
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.error(name, REQUIRED)
            return None
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            self.error(name, "must be text")
            return None
        text = " ".join(str(value).split()) if "\n" not in str(value) else str(value).strip()
        if CONTROL_CHARS.search(text):
            self.error(name, "contains control or direction-override characters")
            return None
        if len(text) > max_length:
            self.error(name, f"Too long: {len(text)} characters, at most {max_length}.")
            return None
        return text

    def choice(self, name: str, allowed: frozenset[str], *, required: bool = False) -> str | None:
        value = self.text(name, required=required, max_length=limits.CODE)
        if value is not None and value not in allowed:
            self.error(name, f"'{value}' is not one of: {', '.join(sorted(allowed))}")
            return None
        return value

    def slug(self, name: str, *, required: bool = True) -> str | None:
        value = self.text(name, required=required, max_length=limits.SLUG)
        if value is not None and not SLUG.match(value):
            self.error(name, f"'{value}' must be lower-case letters, digits and single hyphens")
            return None
        return value

    def date(self, name: str, *, required: bool = False) -> str | None:
        value = self.text(name, required=required, max_length=limits.DATE)
        if value is None:
            return None
        parsed = parse_partial_date(value)
        if parsed is None:
            self.error(name, f"'{value}' is not a date as YYYY, YYYY-MM or YYYY-MM-DD")
        elif parsed > dt.date.today().isoformat()[: len(parsed)]:
            self.error(name, f"{parsed} is in the future")
            return None
        return parsed

    def integer(self, name: str, bounds: tuple[int, int], *, required: bool = False) -> int | None:
        minimum, maximum = bounds
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                self.error(name, REQUIRED)
            return None
        try:
            number = int(str(value).replace(",", "").strip())
        except ValueError:
            self.error(name, f"'{value}' is not a whole number")
            return None
        if not minimum <= number <= maximum:
            self.error(name, f"{number} is outside {minimum} to {maximum}")
            return None
        return number

    def number(self, name: str, *, required: bool = False) -> float | None:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                self.error(name, REQUIRED)
            return None
        try:
            number = float(str(value).replace(",", "").strip())
        except ValueError:
            self.error(name, f"'{value}' is not a number")
            return None
        if number != number or number in (float("inf"), float("-inf")):
            self.error(name, f"'{value}' is not a finite number")
            return None
        return number

    def url(self, name: str) -> str | None:
        value = self.text(name, max_length=limits.longest("sources", "url"))
        if value is None:
            return None
        try:
            parts = urlsplit(value)
            _ = parts.port  # a port that is not a number from 0 to 65535 raises too
        except ValueError:  # "https://[::1/" (an unclosed IPv6 address)
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or " " in value:
            self.error(name, f"'{value}' is not a web address starting with http:// or https://")
            return None
        return value

    def country(self, name: str, vocabulary: Vocabulary) -> str | None:
        value = self.text(name, max_length=limits.COUNTRY)
        if value is None:
            return None
        code = vocabulary.country(value)
        if code is None:
            self.error(name, f"'{value}' is not a known country code or name (English or French)")
        return code

    def items(self, name: str) -> list[Any]:
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(name, "must be a list")
            return []
        return value


def parse_partial_date(text: str) -> str | None:
    """Return YYYY, YYYY-MM or YYYY-MM-DD if `text` is a real date of that shape."""
    match = PARTIAL_DATE.match(text.strip())
    if not match:
        return None
    year, month, day = match.groups()
    try:
        dt.date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return None
    if not 1900 <= int(year) <= 2100:
        return None
    return text.strip()


def check_date_order(fields: Fields, start: str | None, end: str | None, start_name: str, end_name: str) -> None:
    """Add an error when an end date comes before its start date."""
    if start and end and end < start[: len(end)]:
        fields.error(end_name, f"{end} is before {start_name} {start}")
