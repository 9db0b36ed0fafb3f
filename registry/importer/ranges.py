"""Ranges written in one cell: "1-5" people, "09/20/2011 - 10/28/2011". Leaked and official
lists write a range as one value; storing its first half (the issue found "1-5" stored as 1
to 1) says less than the file, so a range is split into its two ends, and a cell that is
neither one value nor a range is left whole for the shared rules to refuse with its row."""

from __future__ import annotations

import re
from collections.abc import Callable

# "1-5", "1 - 5", "1–5" (en dash), "1 to 5", "1,000-2,500": two numbers and a dash or "to".
NUMBER_RANGE = re.compile(r"\s*(\d[\d,]*(?:\.\d+)?)\s*(?:-|–|—|\bto\b)\s*(\d[\d,]*(?:\.\d+)?)\s*")
# Where a cell of two dates may be cut: a dash or "to" with spaces around it, or a dash between
# a digit and a digit (12/01/2010-11/21/2011). Each cut is tried until both halves are dates.
DATE_CUT = re.compile(r"\s+(?:-|–|—|to)\s*|\s*(?:-|–|—)\s+|(?<=\d)(?:–|—|-)(?=\d)")


def number_range(text: object) -> tuple[str, str] | None:
    """The two ends of a range of numbers written in one cell, or None if it is not one."""
    if not isinstance(text, str):
        return None
    found = NUMBER_RANGE.fullmatch(text)
    return (found.group(1), found.group(2)) if found else None


def date_range(text: str, parse: Callable[[str], str | None]) -> tuple[str, str] | None:
    """The two dates of a cell such as "09/20/2011 - 10/28/2011", each parsed by `parse` (which
    answers None for text that is not a date), or None when no cut gives two dates."""
    for cut in DATE_CUT.finditer(text):
        first, second = parse(text[: cut.start()]), parse(text[cut.end() :])
        if first is not None and second is not None:
            return first, second
    return None
