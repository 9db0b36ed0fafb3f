"""Mapping files: which column feeds which field, with constants, value maps and the
transforms real files need. A mapping is checked against the file's columns and the
vocabularies before a row is read."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import re2
import yaml

from registry.importer.transforms import title_case, truncate
from registry.rules.countries import subdivision_code
from registry.rules.dates import unread_date
from registry.rules.fields import allowed_text
from registry.rules.records import IDENTIFIER_SCHEMES

if TYPE_CHECKING:
    from registry.importer.breach_mapping import BreachPlan

Cells = Mapping[str, str]
Getter = Callable[[Cells], Any]
SIMPLE_TRANSFORMS: dict[str, Callable[[str], str]] = {
    "trim": str.strip,
    "lower": str.lower,
    "upper": str.upper,
    "title": title_case,
    "casefold": str.casefold,
    "collapse": lambda s: " ".join(s.split()),
}
ISO_SUBDIVISION = re.compile(r"[A-Z]{2}-[A-Z0-9]{1,3}")  # "US-FL", "FR-75C": kept as typed, checked by the rule
CACHE_SIZE = 20_000  # distinct values remembered per column (a column of names starts again when full)
# Fields read by the date rule: a cell no format fits reaches it as an UnreadDate (registry.rules.dates),
# a str subclass that marshal (the staging pipe) refuses, so no other field is given one.
DATED = {"start_date", "end_date", "published_date", "period_start", "period_end", "discovered_date",
               "notified_date"}  # fmt: skip
SPEC_KEYS = {"column", "value", "template", "transforms", "map", "default", "null_if", "formats", "prefix"}
CLIENT_FIELDS = {"name", "kind", "sector", "country", "subdivision", "city", "government_level", "person_name_reason"}
RELATIONSHIP_FIELDS = {"arrangement", "product", "trial_days", "start_date", "end_date", "summary", "notes"}
SOURCE_FIELDS = {"url", "title", "publisher", "language", "published_date", "locator"}
OBSERVATION_FIELDS = {"metric", "unit", "value", "low", "high", "period_start", "period_end"}
TOP_KEYS = {"format", "json_path", "sheet", "vendor", "vendors", "disclosure", "source", "locator", "where",
            "identifier", "client", "relationship", "sources", "observations", "on_error", "description",
            "breach"}  # fmt: skip


_UNSEEN = object()
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is the contributor's error, not the server's log


class MappingError(Exception):
    """The mapping file is wrong; the message names the key and the problem, or lists every
    (key: problem) found when there are several (`problems`)."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]

    @classmethod
    def of(cls, problems: list[str]) -> MappingError:
        """One error for every problem found, each once, in the order found."""
        unique = list(dict.fromkeys(problems))
        if len(unique) == 1:
            return cls(unique[0])
        return cls(f"{len(unique)} mistakes in the mapping:\n" + "\n".join(f"- {p}" for p in unique), unique)


T = TypeVar("T")


class _Errors:
    """The mistakes of a mapping, collected part by part so that one message lists them all (a
    first error hid the next: issue 15); a part that fails takes a stand-in and checking goes on."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def add(self, message: str) -> None:
        self.found.append(message)

    def check(self, make: Callable[[], T], fallback: Any) -> T:
        """What `make` gives, or `fallback` (a stand-in: the plan is not used) with its mistakes kept."""
        try:
            return make()
        except MappingError as e:
            self.found.extend(e.problems)
            return fallback

    def raise_any(self) -> None:
        if self.found:
            raise MappingError.of(self.found)


@dataclass
class Plan:
    """A compiled mapping: getters for every field, ready to apply to rows."""

    text: str
    options: dict[str, Any]
    vendor: dict[str, Any] | None
    vendors: dict[str, Any] | None
    disclosure: dict[str, Any] | None
    source: dict[str, Any] | None
    locator: Getter
    where: Callable[[Cells], bool]
    identifier: tuple[Getter, str] | None
    client: dict[str, Getter]
    relationship: dict[str, Getter]
    sources: list[dict[str, Getter]] = field(default_factory=list)
    observations: list[dict[str, Any]] = field(default_factory=list)
    skip_invalid: bool = False
    breach: BreachPlan | None = None  # one breach per row (registry.importer.breach_mapping)
    locator_row_only: bool = False  # the locator names no column, only {row}
    row_locator: Callable[[int], str] | None = None  # such a locator from the row number, when a template
    changed: Counter[str] = field(default_factory=Counter)  # a field -> rows a transform cut (`truncate`)


def load_mapping(path: Path) -> dict[str, Any]:
    """Read a mapping file, naming it in any error."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise MappingError(f"{path}: file not found") from e
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise MappingError(f"{path}: not valid YAML: {e}") from e
    except RecursionError as e:
        raise MappingError(f"{path}: nested too deeply to be a mapping") from e
    if not isinstance(data, dict):
        raise MappingError(f"{path}: a mapping file is a YAML mapping of keys (vendor, client, relationship...)")
    return data


def compile_plan(data: Mapping[str, Any], columns: list[str], text: str = "") -> Plan:
    """Check a mapping against the file's columns and compile it; every mistake is listed."""
    errors = _Errors()
    unknown = set(data) - TOP_KEYS
    if unknown:
        errors.add(f"unknown key(s): {', '.join(sorted(unknown))} (allowed: {', '.join(sorted(TOP_KEYS))})")
    if data.get("breach") is not None:
        return _compile_breach_plan(data, columns, text, errors)
    if not data.get("vendor") and not data.get("vendors"):
        errors.add("vendor: say who the vendor is (vendor: {slug: ...} or {new: ...}), or vendors: {column: ...}")
    if not data.get("source"):
        errors.add("source: describe the file itself (source: {new: {title: ..., language: ...}}), cited on every row")
    client = data.get("client")
    if not isinstance(client, dict) or "name" not in client:
        errors.add("client.name: say which column holds the client's name, e.g. client: {name: {column: Agency}}")
    compile_, check = _Compiler(columns), errors.check
    locator = _as_template(data.get("locator") or "row {row}")
    plan = Plan(
        text=text,
        options={k: data[k] for k in ("format", "json_path", "sheet") if data.get(k)},
        vendor=check(lambda: _reference(data.get("vendor"), "vendor"), None),
        vendors=check(lambda: compile_.vendors(data.get("vendors")), None),
        disclosure=check(lambda: _reference(data.get("disclosure"), "disclosure"), None),
        source=check(lambda: _reference(data.get("source"), "source"), None),
        locator=check(lambda: compile_.spec(locator, "locator"), _nothing),
        where=check(lambda: compile_.where(data.get("where")), lambda cells: True),
        identifier=check(lambda: _identifier(data.get("identifier"), compile_), None),
        client=check(lambda: compile_.group(client if isinstance(client, dict) else {}, "client", CLIENT_FIELDS), {}),
        relationship=check(
            lambda: compile_.group(data.get("relationship") or {}, "relationship", RELATIONSHIP_FIELDS), {}
        ),
        sources=[
            check(functools.partial(compile_.group, s, f"sources[{i}]", SOURCE_FIELDS), {})
            for i, s in enumerate(data.get("sources") or [])
        ],
        observations=_observations(data, compile_, errors),
        skip_invalid=data.get("on_error", "stop") == "skip",
        changed=compile_.changed,
        locator_row_only=_row_only(locator),
        row_locator=check(lambda: _row_locator(locator), None),
    )
    errors.raise_any()
    return plan


def _nothing(cells: Cells) -> Any:
    return None


def _identifier(value: Any, compile_: _Compiler) -> tuple[Getter, str] | None:
    """`identifier: {column: ..., scheme: ...}`: the row's identifier and its scheme."""
    if not value:
        return None
    ident = _mapping(value, "identifier")
    scheme = str(ident.get("scheme", "other"))
    if scheme not in IDENTIFIER_SCHEMES:
        raise MappingError(f"identifier: scheme '{scheme}' is not {allowed_text(scheme, IDENTIFIER_SCHEMES)}")
    return compile_.spec({k: v for k, v in ident.items() if k != "scheme"}, "identifier"), scheme


def _observations(data: Mapping[str, Any], compile_: _Compiler, errors: _Errors) -> list[dict[str, Any]]:
    return [errors.check(functools.partial(compile_.observation, o, f"observations[{i}]"), {})
            for i, o in enumerate(data.get("observations") or [])]  # fmt: skip


def _compile_breach_plan(data: Mapping[str, Any], columns: list[str], text: str, errors: _Errors) -> Plan:
    """A mapping of one breach per row: its organisation is matched as a client is (it is the
    plan's client), a vendor is named per row if at all, and nothing but the breach is per row."""
    from registry.importer.breach_mapping import compile_breach  # it builds on this module

    misplaced = {"vendor", "vendors", "client", "relationship", "identifier", "sources"} & set(data)
    if misplaced:
        errors.add(
            f"{', '.join(sorted(misplaced))}: a breach mapping names the organisation and vendor inside breach: "
            "(breach: {organisation: ..., vendor: ...})"
        )
    if not data.get("source"):
        errors.add("source: describe the file itself (source: {new: {title: ..., language: ...}}), cited on every row")
    compile_, check = _Compiler(columns), errors.check
    breach, organisation = check(lambda: compile_breach(data["breach"], compile_), (None, {}))
    locator = _as_template(data.get("locator") or "row {row}")
    plan = Plan(
        text=text,
        options={k: data[k] for k in ("format", "json_path", "sheet") if data.get(k)},
        vendor=None,
        vendors=None,
        disclosure=check(lambda: _reference(data.get("disclosure"), "disclosure"), None),
        source=check(lambda: _reference(data.get("source"), "source"), None),
        locator=check(lambda: compile_.spec(locator, "locator"), _nothing),
        where=check(lambda: compile_.where(data.get("where")), lambda cells: True),
        identifier=None,
        client=organisation,
        relationship={},
        observations=_observations(data, compile_, errors),
        skip_invalid=data.get("on_error", "stop") == "skip",
        changed=compile_.changed,
        breach=breach,
        locator_row_only=_row_only(locator),
        row_locator=check(lambda: _row_locator(locator), None),
    )
    errors.raise_any()
    return plan


def _row_only(spec: Any) -> bool:
    """True when a locator spec is a template naming no column (only {row}), or a constant."""
    if not isinstance(spec, dict):
        return True
    if set(spec) != {"template"}:
        return False
    return set(re.findall(r"\{([^{}]+)\}", str(spec["template"]))) <= {"row"}


def _row_locator(spec: Any) -> Callable[[int], str] | None:
    """For a locator template naming only {row} (and no transforms): the locator of a row number,
    as the compiled spec gives it, without building a row of cells for it."""
    if not (isinstance(spec, dict) and set(spec) == {"template"} and _row_only(spec)):
        return None
    parts = _template_parts(str(spec["template"]))
    if len(parts) == 3:  # "row {row}": the text around the number, put together without a row of cells
        head, _, tail = parts
        return lambda number: f"{head}{number}{tail}"
    fill = _filler(str(spec["template"]))
    return lambda number: fill({"row": str(number)})


def _as_template(value: Any) -> Any:
    """`locator: "row {row}"` is a template: a locator names where each row is."""
    return {"template": value} if isinstance(value, str) else value


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MappingError(f"{where}: expected a mapping of keys")
    return value


def _reference(value: Any, where: str) -> dict[str, Any] | None:
    """`{slug: existing}` or `{new: {fields}}`."""
    if value is None:
        return None
    value = _mapping(value, where)
    if ("slug" in value) == ("new" in value):
        raise MappingError(f"{where}: give either slug (an existing {where}) or new (one to create)")
    if "new" in value:
        _mapping(value["new"], f"{where}.new")
    return value


class _Compiler:
    def __init__(self, columns: list[str]) -> None:
        self.columns = columns
        self.changed: Counter[str] = Counter()  # a field -> rows whose value a transform cut (truncate)

    def column(self, name: Any, where: str) -> str:
        if name not in self.columns:
            raise MappingError(f"{where}: the file has no column '{name}' (columns: {', '.join(self.columns)})")
        return str(name)

    def spec(self, spec: Any, where: str) -> Getter:
        """Compile a value spec: a column, a constant or a template, then transforms."""
        if not isinstance(spec, dict):
            if spec is not None and not isinstance(spec, str | int | float | bool):
                raise MappingError(
                    f"{where}: expected {{column: ...}}, {{value: ...}}, {{template: ...}} or a constant"
                )
            return lambda cells: spec  # a bare constant
        unknown = set(spec) - SPEC_KEYS
        if unknown:
            raise MappingError(
                f"{where}: unknown key(s) {', '.join(sorted(unknown))} (allowed: {', '.join(sorted(SPEC_KEYS))})"
            )
        sources = [k for k in ("column", "value", "template") if k in spec]
        if len(sources) != 1:
            raise MappingError(f"{where}: give exactly one of column, value or template")
        if "column" in spec:
            column = self.column(spec["column"], where)
            get: Getter = lambda cells: cells.get(column, "")  # noqa: E731
        elif "value" in spec:
            if isinstance(spec["value"], list | dict):
                raise MappingError(f"{where}.value: a constant is one value, not a list or a mapping")
            constant = spec["value"]
            return lambda cells: constant
        else:
            template = str(spec["template"])
            for name in re.findall(r"\{([^{}]+)\}", template):
                if name != "row":
                    self.column(name, where)
            get = _filler(template)
        errors = _Errors()
        steps = [errors.check(functools.partial(_transform, t, f"{where}.transforms[{i}]", self.changed, where), str)
                 for i, t in enumerate(spec.get("transforms") or [])]  # fmt: skip
        errors.raise_any()
        nulls = {str(n) for n in spec.get("null_if") or []} | {""}
        value_map = {str(k): v for k, v in (spec.get("map") or {}).items()}
        default, prefix = spec.get("default"), spec.get("prefix", "")
        formats = [str(f) for f in spec.get("formats") or []]
        dated = where.rsplit(".", 1)[-1] in DATED

        def convert(text: Any) -> Any:
            for step in steps:
                text = step(text)
            if text in nulls:
                return default
            if value_map:
                text = value_map.get(text, default if default is not None else text)
                if text is None:
                    return None
            if formats:  # an unread date keeps the formats tried only where the date rule reads it
                return _parse_date(str(text), formats) if dated else str(_parse_date(str(text), formats))
            return f"{prefix}{text}" if prefix else text

        if "column" not in spec or any(isinstance(t, dict) and "truncate" in t for t in spec.get("transforms") or []):
            # A cut is counted per row; and a text long enough to cut is seldom repeated.
            return lambda cells: convert(get(cells))
        # A column's values repeat (states, sectors, dates, names): convert each once.
        seen: dict[Any, Any] = {}

        def getter(cells: Cells) -> Any:
            text = cells.get(column, "")
            value = seen.get(text, _UNSEEN)  # not try/except: a column of names misses often, and raising costs
            if value is _UNSEEN:
                if len(seen) >= CACHE_SIZE:
                    seen.clear()
                value = seen[text] = convert(text)
            return value

        return getter

    def group(self, specs: Any, where: str, allowed: set[str]) -> dict[str, Getter]:
        """Each field's getter; the mistakes of every field are listed together."""
        specs, errors = _mapping(specs, where), _Errors()
        unknown = set(specs) - allowed
        if unknown:
            errors.add(
                f"{where}: unknown field(s) {', '.join(sorted(unknown))} (allowed: {', '.join(sorted(allowed))})"
            )
        getters = {name: errors.check(functools.partial(self.spec, spec, f"{where}.{name}"), _nothing)
                   for name, spec in specs.items() if name in allowed}  # fmt: skip
        errors.raise_any()
        if "subdivision" in getters and allowed is CLIENT_FIELDS:
            getters["subdivision"] = _subdivision_getter(getters["subdivision"], getters.get("country"))
        return getters

    def vendors(self, spec: Any) -> dict[str, Any] | None:
        if spec is None:
            return None
        spec = _mapping(spec, "vendors")
        unknown = set(spec) - {"column", "transforms", "null_if", "split", "map", "new", "if_empty"}
        if unknown:
            raise MappingError(f"vendors: unknown key(s) {', '.join(sorted(unknown))}")
        getter = self.spec({k: v for k, v in spec.items() if k in ("column", "transforms", "null_if")}, "vendors")
        value_map = {str(k).strip().casefold(): str(v) for k, v in (spec.get("map") or {}).items()}
        if spec.get("if_empty", "error") not in ("error", "skip"):
            raise MappingError("vendors.if_empty: 'error' (a row without a vendor is an error) or 'skip'")
        return {"get": getter, "split": spec.get("split"), "map": value_map, "new": dict(spec.get("new") or {}),
                "if_empty": spec.get("if_empty", "error")}  # fmt: skip

    def where(self, spec: Any) -> Callable[[Cells], bool]:
        if not spec:
            return lambda cells: True
        conditions = {self.column(k, "where"): {str(v)} if not isinstance(v, list) else {str(x) for x in v}
                      for k, v in _mapping(spec, "where").items()}  # fmt: skip
        return lambda cells: all(cells.get(c, "").strip() in allowed for c, allowed in conditions.items())

    def observation(self, spec: Any, where: str) -> dict[str, Any]:
        spec = _mapping(spec, where)
        for required in ("metric", "unit"):
            if required not in spec:
                raise MappingError(f"{where}: '{required}' is required")
        if ("value" in spec) == ("low" in spec or "high" in spec):
            raise MappingError(f"{where}: give either 'value' (one figure) or 'low' and 'high' (a range), not both")
        if ("low" in spec) != ("high" in spec):
            raise MappingError(f"{where}: a range needs both 'low' and 'high' (or 'value' for one figure)")
        getters = self.group({k: v for k, v in spec.items() if k not in ("metric", "unit")}, where, OBSERVATION_FIELDS)
        if "value" in getters:  # one figure, or a range written in one cell ("1-5"): see run._row_figure
            getters["low"] = getters["high"] = getters.pop("value")
            return {"metric": str(spec["metric"]), "unit": str(spec["unit"]), "one_cell": True, **getters}
        return {"metric": str(spec["metric"]), "unit": str(spec["unit"]), **getters}


def _subdivision_getter(get: Getter, get_country: Getter | None) -> Getter:
    """The subdivision's ISO 3166-2 code where the row gives a name of one of its country's
    ("Texas", "Bavière") or its code without the country ("TX"), so that matching and storing see
    one code; any other value as it is, for the organisation rule to report with the nearest."""
    codes: dict[tuple[Any, Any], Any] = {}
    as_is: set[Any] = set()  # values that are ISO 3166-2 codes already ("US-FL"): the common case, one look-up

    def subdivision(cells: Cells) -> Any:
        value = get(cells)
        if value in as_is:
            return value
        country = get_country(cells) if get_country is not None else None
        found = codes.get((value, country), _UNSEEN)
        if found is _UNSEEN:
            if isinstance(value, str) and ISO_SUBDIVISION.fullmatch(value) and len(as_is) < CACHE_SIZE:
                as_is.add(value)
                return value
            if len(codes) >= CACHE_SIZE:
                codes.clear()
            known = isinstance(value, str) and value.strip() and (country is None or isinstance(country, str))
            found = codes[(value, country)] = (subdivision_code(value, country) if known else None) or value
        return found

    return subdivision


@functools.cache
def _filler(template: str) -> Getter:
    """A function filling `template` from a row's cells (one of one name, "row {row}", is the
    common case, and is made the fastest: it runs for every row)."""
    parts = _template_parts(template)
    texts, names = parts[0::2], parts[1::2]
    if len(names) == 1:
        head, name, tail = texts[0], names[0], texts[1]
        return lambda cells: f"{head}{cells.get(name, '')}{tail}"
    return lambda cells: "".join(part if i % 2 == 0 else str(cells.get(part, "")) for i, part in enumerate(parts))


@functools.cache
def _template_parts(template: str) -> list[str]:
    """Text and names, alternately: "row {row} ({Id})" -> ["row ", "row", " (", "Id", ")"]."""
    return re.split(r"\{([^{}]+)\}", template)


def _transform(step: Any, where: str, changed: Counter[str] | None = None, field: str = "") -> Callable[[str], str]:
    if isinstance(step, str):
        if step not in SIMPLE_TRANSFORMS:
            raise MappingError(
                f"{where}: unknown transform '{step}' "
                f"(known: {', '.join(SIMPLE_TRANSFORMS)}, extract, replace, truncate)"
            )
        return SIMPLE_TRANSFORMS[step]
    step = _mapping(step, where)
    if "extract" in step:
        pattern = _regex(step["extract"], where)
        if pattern.groups < 1:
            raise MappingError(
                f"{where}: the regular expression {step['extract']!r} needs a group ( ) around the part to keep"
            )
        return lambda s: (
            (m.group("value") if "value" in pattern.groupindex else m.group(1)) if (m := pattern.search(s)) else ""
        )
    if "truncate" in step:
        most = step["truncate"]
        if not isinstance(most, int) or isinstance(most, bool) or most < 2:
            raise MappingError(f"{where}: truncate takes a number of characters of at least 2, e.g. {{truncate: 1000}}")
        counts = changed if changed is not None else Counter()

        def cut(s: str) -> str:
            if len(s) <= most:
                return s
            counts[field] += 1
            return truncate(s, most)

        return cut
    if "replace" in step and isinstance(step["replace"], list) and len(step["replace"]) == 2:
        pattern, replacement = _regex(step["replace"][0], where), str(step["replace"][1])
        return lambda s: pattern.sub(replacement, s)
    raise MappingError(
        f"{where}: a transform is a name (trim, lower...) or {{extract: regex}}, {{replace: [regex, text]}} or"
        " {truncate: characters}"
    )


def _regex(pattern: Any, where: str) -> Any:
    """Compile a mapping's regular expression with RE2, whose matching time is linear in the
    text: anyone may write a mapping, and Python's own engine took `^(a+)+$` on forty a's and
    a b until the worker was killed (issue 18, finding 4). RE2 has no backreferences and no
    lookaround; a pattern using them is refused here, naming the rule (docs/importing.md)."""
    try:
        compiled = re2.compile(str(pattern), options=_RE2_OPTIONS)
    except re2.error as e:
        reason = e.args[0].decode(errors="replace") if e.args and isinstance(e.args[0], bytes) else str(e)
        raise MappingError(
            f"{where}: the regular expression {pattern!r} is not accepted ({reason}); mappings use RE2 syntax:"
            " no backreferences (\\1) and no lookahead or lookbehind ((?=...), (?!...), (?<=...))"
        ) from e
    return compiled


def _parse_date(text: str, formats: list[str]) -> str:
    return _parse_date_cached(text, tuple(formats))


@functools.lru_cache(maxsize=100_000)  # a list's dates repeat: parse each once
def _parse_date_cached(text: str, formats: tuple[str, ...]) -> str:
    """Parse with the first format that fits; keep the precision the format has."""
    for fmt in formats:
        try:
            parsed = dt.datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
        if "%d" in fmt or "%j" in fmt:
            return parsed.strftime("%Y-%m-%d")
        if "%m" in fmt or "%b" in fmt or "%B" in fmt:
            return parsed.strftime("%Y-%m")
        return parsed.strftime("%Y")
    return unread_date(text, formats)  # as typed: the date rule reports it, naming the formats tried


def check_vocabulary(data: Mapping[str, Any], vocabulary: Any) -> None:
    """Refuse constants and value maps that name a sector, kind or arrangement that does not exist."""
    errors = _Errors()
    if data.get("breach") is not None:
        from registry.importer.breach_mapping import check_breach_vocabulary  # it builds on this module

        errors.check(lambda: check_breach_vocabulary(data["breach"], vocabulary), None)
    checks = (("client", "sector", vocabulary.sectors), ("client", "kind", vocabulary.organisation_kinds),
              ("client", "government_level", vocabulary.government_levels),
              ("relationship", "arrangement", vocabulary.arrangements))  # fmt: skip
    for group, name, allowed in checks:
        spec = (data.get(group) or {}).get(name)
        if not isinstance(spec, dict):
            spec = {"value": spec} if spec is not None else {}
        values = [spec.get("value"), spec.get("default"), *(spec.get("map") or {}).values()]
        for value in values:
            if value is not None and value not in allowed:
                errors.add(f"{group}.{name}: '{value}' is not a known {name}: it is {allowed_text(value, allowed)}")
    errors.raise_any()


def compile_checked(data: Mapping[str, Any], columns: list[str], vocabulary: Any, text: str = "") -> Plan:
    """`check_vocabulary`, then `compile_plan`: the mistakes of both in one error."""
    problems: list[str] = []
    try:
        check_vocabulary(data, vocabulary)
    except MappingError as e:
        problems = e.problems
    try:
        plan = compile_plan(data, columns, text)
    except MappingError as e:
        raise MappingError.of([*problems, *e.problems]) from e
    if problems:
        raise MappingError.of(problems)
    return plan
