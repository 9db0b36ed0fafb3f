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
            return f"{MONTHS[numbers[1] - 1]} {numbers[0]}"
        found = date(*numbers)
    except (ValueError, IndexError, TypeError):
        return text
    return f"{found.day} {MONTHS[found.month - 1]} {found.year}"
