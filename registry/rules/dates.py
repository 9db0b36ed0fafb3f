"""Dates as readers read them, at the precision they were given: '2020', 'March 2020',
'3 March 2020' (the public pages: a relationship's dates, a withdrawal's day)."""

from __future__ import annotations

from datetime import date

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")  # fmt: skip


def partial_date(text: str | None) -> str:
    """'2020' as '2020', '2020-03' as 'March 2020', '2020-03-03' (or a timestamp of that day)
    as '3 March 2020'; anything else as it is."""
    if not text:
        return ""
    parts = text[:10].split("-")
    try:
        numbers = [int(p) for p in parts]
        if len(numbers) == 1:
            return str(numbers[0])
        if len(numbers) == 2:
            return f"{MONTHS[numbers[1] - 1]} {numbers[0]}" if 1 <= numbers[1] <= 12 else text
        found = date(*numbers)
    except (ValueError, IndexError, TypeError):
        return text
    return f"{found.day} {MONTHS[found.month - 1]} {found.year}"


ISO_SHAPES = ("YYYY-MM-DD", "YYYY-MM", "YYYY")  # what the date rule reads without a mapping's formats
_SHAPES = {"%Y": "YYYY", "%y": "YY", "%m": "MM", "%d": "DD", "%b": "Mon", "%B": "Month", "%j": "DDD", "%H": "hh",
           "%M": "mm", "%S": "ss", "%z": "+hhmm", "%f": "ffffff", "%p": "AM/PM", "%%": "%"}  # fmt: skip


class UnreadDate(str):
    """A cell no format of the mapping fits, kept as typed with the formats tried, so that the
    date rule's message names them ("not a date (tried: MM/DD/YYYY, YYYY-MM-DD, ...)")."""

    tried: tuple[str, ...] = ()


def unread_date(text: str, formats: tuple[str, ...]) -> UnreadDate:
    """`text` as typed, remembering the `strptime` formats that did not fit it."""
    found = UnreadDate(text)
    found.tried = tuple(shape(f) for f in formats)
    return found


def shape(fmt: str) -> str:
    """A `strptime` format as a reader writes it: "%m/%d/%Y" -> "MM/DD/YYYY"."""
    return "".join(_SHAPES.get(part, part) for part in _split_format(fmt))


def _split_format(fmt: str) -> list[str]:
    parts, i = [], 0
    while i < len(fmt):
        step = 2 if fmt[i] == "%" and i + 1 < len(fmt) else 1
        parts.append(fmt[i : i + step])
        i += step
    return parts


def not_a_date(value: str, tried: tuple[str, ...] = ()) -> str:
    """The date rule's message for text that is no date: what it is and every shape tried, the
    mapping's first (a message once read "Too long: 11 characters, at most 10.")."""
    shown = value if len(value) <= 40 else value[:40] + "…"
    return f"'{shown}' is not a date (tried: {', '.join(dict.fromkeys((*tried, *ISO_SHAPES)))})"
