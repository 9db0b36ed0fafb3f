"""The `breach:` group of a mapping: one breach per row (an official breach list such as the
HHS breach portal, or a chronology), with the organisation whose data got out matched as a
client is, an optional vendor (business associate) whose breach exposed it, and the breach's
dates, figures, flags and several-valued vocabularies (types, kinds of data, media).

A list field's cell ("Theft, Loss") is split and each label mapped to a code; a label the
map does not know is an error of that row naming the column, never guessed. Kinds of data
are often not a column: `find` derives them from a text column, phrase by phrase, and only
from a sentence that states them (see registry.importer.breaches.found_codes)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from registry.importer.mapping import (
    CLIENT_FIELDS,
    Getter,
    MappingError,
    _Compiler,
    _Errors,
    _mapping,
    _parse_date,
    _regex,  # fmt: skip
)
from registry.importer.ranges import date_range
from registry.rules.fields import allowed_text

ORGANISATION_FIELDS = CLIENT_FIELDS
VENDOR_FIELDS = CLIENT_FIELDS
SCALARS = {"title", "description", "notes", "start_date", "end_date", "discovered_date", "notified_date",
           "affected_low", "affected_high", "affected_unit", "verified", "disputed", "sensitive"}  # fmt: skip
LISTS = {"breach_types": "breach_types", "data_kinds": "data_kinds", "media": "breach_media"}  # field -> vocabulary
BREACH_KEYS = SCALARS | set(LISTS) | {"organisation", "vendor", "relationship", "dates", "affected", "match"}
# What `match` may compare, beside the organisation, to find a breach already in the registry.
MATCH_FIELDS = ("title", "start_date", "end_date", "discovered_date", "notified_date", "affected", "breach_types",
                "media")  # fmt: skip
LIST_KEYS = {"column", "value", "split", "map", "find", "transforms", "null_if"}
ISO_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")


@dataclass
class ListSpec:
    """How a row gives one of the breach's lists of codes."""

    key: str  # the breach field it fills
    column: str  # named in the errors of a row ("" for a constant)
    get: Getter
    split: str | None = None
    labels: dict[str, str] = field(default_factory=dict)  # a label, casefolded -> its code
    find: list[tuple[Any, str]] = field(default_factory=list)  # (compiled phrase, code)
    constant: tuple[str, ...] = ()


@dataclass
class BreachPlan:
    """A compiled `breach:` group."""

    vendor: dict[str, Getter] | None
    arrangement: str
    fields: dict[str, Getter]
    dates: Callable[[Mapping[str, str]], tuple[Any, Any, str | None]] | None
    dates_cell: Getter | None  # the cell `dates` reads, for the messages
    affected: Getter | None
    lists: list[ListSpec]
    columns: dict[str, str]  # a field -> the column it is read from, for the messages
    match: tuple[str, ...] = ()  # MATCH_FIELDS a row shares with an approved breach of its organisation


def compile_breach(spec: Any, compiler: _Compiler) -> tuple[BreachPlan, dict[str, Getter]]:
    """Check and compile the `breach:` group; also the organisation's getters (matched as a
    client is, so they become the plan's client). Every mistake of the group is listed."""
    spec, errors = _mapping(spec, "breach"), _Errors()
    unknown = set(spec) - BREACH_KEYS
    if unknown:
        errors.add(f"breach: unknown field(s) {', '.join(sorted(unknown))} (allowed: {', '.join(sorted(BREACH_KEYS))})")
    for required in ("organisation", "title", "description"):
        if required not in spec:
            errors.add(f"breach.{required}: required (e.g. {_EXAMPLES[required]})")
    if "dates" in spec and ({"start_date", "end_date"} & set(spec)):
        errors.add("breach.dates: one cell gives start_date and end_date; do not map them as well")
    if "affected" in spec and ({"affected_low", "affected_high"} & set(spec)):
        errors.add("breach.affected: one cell gives affected_low and affected_high; do not map them as well")
    if ("affected_low" in spec) != ("affected_high" in spec) and "affected_high" in spec:
        errors.add("breach.affected_high: give affected_low too (or affected for one cell)")
    check = errors.check
    org = check(lambda: _organisation(spec.get("organisation"), compiler), {}) if "organisation" in spec else {}
    vendor = check(lambda: _vendor(spec.get("vendor"), compiler), None)
    relationship = check(lambda: _mapping(spec.get("relationship") or {}, "breach.relationship"), {})
    if set(relationship) - {"arrangement"}:
        errors.add("breach.relationship: only arrangement (the vendor -> organisation relationship revealed)")
    plan = BreachPlan(
        vendor=vendor,
        arrangement=str(relationship.get("arrangement", "unknown")),
        fields={
            name: check(functools.partial(compiler.spec, spec[name], f"breach.{name}"), _nothing)
            for name in SCALARS
            if name in spec
        },
        dates=check(lambda: _dates(spec["dates"], compiler), None) if "dates" in spec else None,
        dates_cell=check(lambda: _cell(spec.get("dates"), compiler), None),
        affected=check(lambda: compiler.spec(spec["affected"], "breach.affected"), None)
        if "affected" in spec
        else None,
        lists=[check(functools.partial(_list, name, spec[name], compiler), _EMPTY) for name in LISTS if name in spec],
        columns={name: _column_of(value) for name, value in spec.items() if _column_of(value)},
        match=check(lambda: _match(spec.get("match")), ()),
    )
    errors.raise_any()
    return plan, org


def _organisation(spec: Any, compiler: _Compiler) -> dict[str, Getter]:
    organisation = _mapping(spec, "breach.organisation")
    if "name" not in organisation:
        raise MappingError("breach.organisation.name: say which column holds the organisation's name")
    return compiler.group(organisation, "breach.organisation", ORGANISATION_FIELDS)


def _vendor(spec: Any, compiler: _Compiler) -> dict[str, Getter] | None:
    if spec is None:
        return None
    vendor = _mapping(spec, "breach.vendor")
    if "name" not in vendor:
        raise MappingError("breach.vendor.name: say which column holds the vendor's (business associate's) name")
    return compiler.group(vendor, "breach.vendor", VENDOR_FIELDS)


def _nothing(cells: Mapping[str, str]) -> Any:
    return None


_EMPTY = ListSpec("", "", _nothing)  # the stand-in of a list field with a mistake (the plan is not used)
_EXAMPLES = {
    "organisation": "organisation: {name: {column: Entity}}",
    "title": "title: {template: '{Entity}: {Type}'}",
    "description": "description: {column: Summary, default: 'No summary given.'}",
}


def _match(spec: Any) -> tuple[str, ...]:
    if spec is None:
        return ()
    fields = spec if isinstance(spec, list) else [spec]
    unknown = [f for f in fields if f not in MATCH_FIELDS]
    if unknown or not fields:
        raise MappingError(f"breach.match: a list of fields among {', '.join(MATCH_FIELDS)} (not {unknown or '[]'})")
    return tuple(str(f) for f in fields)


def _column_of(spec: Any) -> str:
    if isinstance(spec, dict):
        if "column" in spec:
            return str(spec["column"])
        if "template" in spec:
            return ", ".join(re.findall(r"\{([^{}]+)\}", str(spec["template"])))
    return ""


def _cell(spec: Any, compiler: _Compiler) -> Getter | None:
    """The cell `dates:` reads, as it is (for the message naming a cell that is not dates)."""
    if spec is None:
        return None
    return compiler.spec({k: v for k, v in _mapping(spec, "breach.dates").items() if k != "formats"}, "breach.dates")


def _dates(spec: Any, compiler: _Compiler) -> Callable[[Mapping[str, str]], tuple[Any, Any, str | None]]:
    """`dates:` one cell holding a date or a range of two ("09/20/2011 - 10/28/2011"), read with
    the spec's `formats`: (start, end, None), or (None, None, why) for a cell that is neither
    ("10/01/2011-11/31/2011": there is no 31 November)."""
    spec = dict(_mapping(spec, "breach.dates"))
    formats = [str(f) for f in spec.pop("formats", None) or []]
    get = compiler.spec(spec, "breach.dates")

    def parse(text: str) -> str | None:
        text = text.strip()
        if not text:
            return None
        parsed = _parse_date(text, formats) if formats else text
        return parsed if ISO_DATE.fullmatch(parsed) else None

    shapes = f" ({', '.join(formats)})" if formats else " (YYYY, YYYY-MM or YYYY-MM-DD)"

    def dates(cells: Mapping[str, str]) -> tuple[Any, Any, str | None]:
        text = get(cells)
        if text is None or str(text).strip() == "":
            return None, None, None
        one = parse(str(text))
        if one is not None:
            return one, None, None
        pair = date_range(str(text), parse)
        if pair is None:
            return None, None, f"neither a date nor a range of two dates in the mapping's formats{shapes}"
        return pair[0], pair[1], None

    return dates


def _list(name: str, spec: Any, compiler: _Compiler) -> ListSpec:
    """A list field: a constant (`value: [theft]`), or a column split into labels mapped to codes
    (`split`, `map`), or codes found in a text column (`find`: {phrase: code})."""
    where = f"breach.{name}"
    if isinstance(spec, list | str):
        spec = {"value": spec}
    spec = _mapping(spec, where)
    unknown = set(spec) - LIST_KEYS
    if unknown:
        raise MappingError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))} (allowed: {', '.join(sorted(LIST_KEYS))})"
        )
    if "value" in spec:
        values = spec["value"] if isinstance(spec["value"], list) else [spec["value"]]
        return ListSpec(name, "", lambda cells: None, constant=tuple(str(v) for v in values))
    if "column" not in spec:
        raise MappingError(f"{where}: give value (a list of codes) or column (with split and map, or find)")
    if "find" in spec and ("map" in spec or "split" in spec):
        raise MappingError(f"{where}: find derives codes from a text; split and map read labels: use one or the other")
    get = compiler.spec({k: v for k, v in spec.items() if k in ("column", "transforms", "null_if")}, where)
    find = [(_regex(f"(?i){phrase}", f"{where}.find"), str(code))
            for phrase, code in _mapping(spec.get("find") or {}, f"{where}.find").items()]  # fmt: skip
    labels = {str(k).strip().casefold(): str(v) for k, v in _mapping(spec.get("map") or {}, f"{where}.map").items()}
    split = spec.get("split")
    if split is not None and (not isinstance(split, str) or not split):
        raise MappingError(f"{where}.split: the text between labels, e.g. split: ','")
    return ListSpec(name, str(spec["column"]), get, split=split, labels=labels, find=find)


def check_breach_vocabulary(spec: Any, vocabulary: Any) -> None:
    """Refuse codes in a breach mapping that its vocabularies do not have: the constants and map
    values of its lists, the organisation's and vendor's sector and kind, the arrangement."""
    if not isinstance(spec, dict):
        return
    errors = _Errors()
    allowed = {"breach_types": vocabulary.breach_types, "data_kinds": vocabulary.data_kinds,
               "media": vocabulary.breach_media}  # fmt: skip
    for name, codes in allowed.items():
        item = spec.get(name)
        if isinstance(item, list | str):
            item = {"value": item}
        if not isinstance(item, dict):
            continue
        value = item.get("value")
        named = [*(value if isinstance(value, list) else [value] if value is not None else []),
                 *(item.get("map") or {}).values(), *(item.get("find") or {}).values()]  # fmt: skip
        for code in named:
            if code not in codes:
                errors.add(f"breach.{name}: '{code}' is not a known code: it is {allowed_text(code, codes)}")
    for group in ("organisation", "vendor"):
        found = spec.get(group)
        fields: dict[str, Any] = found if isinstance(found, dict) else {}
        for name, known in (("sector", vocabulary.sectors), ("kind", vocabulary.organisation_kinds)):
            item = fields.get(name)
            item = item if isinstance(item, dict) else {"value": item} if item is not None else {}
            for value in (item.get("value"), item.get("default"), *(item.get("map") or {}).values()):
                if value is not None and value not in known:
                    errors.add(
                        f"breach.{group}.{name}: '{value}' is not a known {name}: it is {allowed_text(value, known)}"
                    )
    arrangement = (spec.get("relationship") or {}).get("arrangement", "unknown")
    if arrangement not in vocabulary.arrangements:
        errors.add(f"breach.relationship.arrangement: '{arrangement}' is not a known arrangement: it is "
                   f"{allowed_text(arrangement, vocabulary.arrangements)}")  # fmt: skip
    errors.raise_any()
