"""Jinja filters that write stored values as a reader reads them: dates at their own
precision ('16 October 2009', 'March 2020') and counts with separators ('1,000 to 5,000
people'), so that a reviewer checks the figures a source gives, not ISO strings or floats."""

from __future__ import annotations

from typing import Any

from flask import Flask

from registry.rules.dates import partial_date


def number(value: Any) -> str:
    """1000 as '1,000', 1000.0 as '1,000' (SQLite may hand back a float), 2.5 as '2.5'."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}" if isinstance(value, int | float) else str(value)


def amount(low: Any, high: Any, unit: str | None) -> str:
    """A low-high range with its unit, as '1,000 to 5,000 people', one number when both ends
    are the same; '' when no count is given."""
    if low is None and high is None:
        return ""
    shown = number(low if low is not None else high)
    if low is not None and high is not None and high != low:
        shown = f"{number(low)} to {number(high)}"
    return f"{shown} {unit}" if unit else shown


def moment(stamp: str | None) -> str:
    """A stored UTC timestamp ('2026-12-03T19:11:57Z') as '3 December 2026, 19:11 UTC'."""
    if not stamp:
        return ""
    day = partial_date(stamp)
    clock = stamp[11:16]
    return f"{day}, {clock} UTC" if len(stamp) > 10 and clock.replace(":", "").isdigit() else day


def init_app(app: Flask) -> None:
    app.jinja_env.filters["partial_date"] = partial_date
    app.jinja_env.filters["number"] = number
    app.jinja_env.filters["amount"] = amount
    app.jinja_env.filters["moment"] = moment
