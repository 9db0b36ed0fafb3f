"""Text that spreadsheets would run as formulas, written so that they show it instead."""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """Keep a cell that a spreadsheet would run as a formula as plain text."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
