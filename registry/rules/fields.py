"""The rules every record obeys, whether it comes from a form, a file or the command
line: field shapes, vocabularies, countries and partial dates."""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from rapidfuzz import fuzz, process

from registry.rules import limits
from registry.rules.dates import not_a_date

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
REQUIRED = "This field is required."
# What no stored text may hold: C0 controls but tab, newline and carriage return (long text
# keeps its lines; one-line fields fold every run of white space into one space first); DEL
# and the C1 controls; bidi embeddings, overrides and isolates (U+202A-U+202E,
# U+2066-U+2069: they make a name read backwards on a reviewer's screen); lone surrogates
# (not encodable: SQLite would fail with a 500); and the noncharacters U+FDD0-U+FDEF and the
# last two code points of every plane (XML, hence the Atom feed, cannot carry U+FFFE/U+FFFF).
_NONCHARACTERS = "".join(chr(plane + end) for plane in range(0, 0x110000, 0x10000) for end in (0xFFFE, 0xFFFF))
CONTROL_CHARS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufdd0-\ufdef" + _NONCHARACTERS + "]"
)
UNSAFE_TEXT = "contains control or direction-override characters"
LISTED_AT_MOST = 20  # a message lists a vocabulary this long; a longer one, its nearest values (issue 15)
URL_SCHEMES = ("http", "https")


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
    breach_types: frozenset[str] = frozenset()
    data_kinds: frozenset[str] = frozenset()
    breach_media: frozenset[str] = frozenset()

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
        problem = character_problem(text)
        if problem:
            self.error(name, problem)
            return None
        if len(text) > max_length:
            self.error(name, f"Too long: {len(text)} characters, at most {max_length}.")
            return None
        return text

    def choice(self, name: str, allowed: frozenset[str], *, required: bool = False) -> str | None:
        value = self.text(name, required=required, max_length=limits.CODE)
        if value is not None and value not in allowed:
            self.error(name, f"'{value}' is not {allowed_text(value, allowed)}")
            return None
        return value

    def slug(self, name: str, *, required: bool = True) -> str | None:
        value = self.text(name, required=required, max_length=limits.SLUG)
        if value is not None and not SLUG.match(value):
            self.error(name, f"'{value}' must be lower-case letters, digits and single hyphens")
            return None
        return value

    def date(self, name: str, *, required: bool = False) -> str | None:
        value = self.text(name, required=required)  # not at most limits.DATE: a longer text is "not a date"
        if value is None:
            return None
        parsed = parse_partial_date(value) if len(value) <= limits.DATE else None
        if parsed is None:
            self.error(name, not_a_date(value, getattr(self.data.get(name), "tried", ())))
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
        if parts is None or parts.scheme not in URL_SCHEMES or not parts.hostname or " " in value:
            self.error(name, f"'{value}' is not a web address starting with http:// or https://")
            return None
        return normal_url(value)

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


def allowed_text(value: Any, allowed: Collection[str], limit: int = LISTED_AT_MOST) -> str:
    """ "one of: a, b, c" for a short vocabulary; for a longer one (5,000 subdivisions, an error
    report grew to 165 MB listing them on every row) the few values nearest to `value`."""
    if len(allowed) <= limit:
        return f"one of: {', '.join(sorted(allowed))}"
    nearest = process.extract(str(value), list(allowed), scorer=fuzz.WRatio, processor=fold, limit=5)
    return f"one of the {len(allowed):,} known values (nearest: {', '.join(found for found, _, _ in nearest)})"


def character_problem(text: str) -> str | None:
    """Why `text` may not be stored (a control, bidi override or noncharacter in it), or None.

    Every free-text value goes through here: the record builders' fields, and the values
    kept only in intake.db (a submitter's name and contact, an error report), which are
    shown to reviewers all the same."""
    found = CONTROL_CHARS.search(text)
    return f"{UNSAFE_TEXT} (U+{ord(found.group()):04X})" if found else None


def normal_url(value: str) -> str:
    """The address with its scheme and host in lower case ("HTTPS://Example.ORG/A" ->
    "https://example.org/A"): schema.sql's CHECK and every comparison of sources expect
    them so; the path, query and fragment are case-sensitive and kept as typed."""
    parts = urlsplit(value)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    host, port = hostport, ""
    if not hostport.endswith("]") and ":" in hostport:  # a port, not the colons of an IPv6 address
        host, port = hostport.rsplit(":", 1)
        port = ":" + port
    netloc = (userinfo + "@" if userinfo else "") + host.lower() + port
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment))


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
