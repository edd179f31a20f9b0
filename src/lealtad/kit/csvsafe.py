"""Cells for CSV files that people open in a spreadsheet. A spreadsheet runs a cell that starts
with =, +, -, @, a tab or a carriage return as a formula (CSV injection: a member who names
themselves `=HYPERLINK(...)` would get a link into the business's books), so such a cell gets a
leading apostrophe, which spreadsheets show as text. A phone number (+34 600 ...) and a negative
whole number (-150 points) are left alone: they are not formulas, and an apostrophe would spoil
them for every program that reads the file."""

from __future__ import annotations

from typing import Any

_FORMULA_STARTS = ("=", "@", "\t", "\r")
_SIGNS = ("+", "-")


def safe_cell(value: Any) -> str:
    """`value` as CSV cell text (None is empty), defused if a spreadsheet would run it."""
    text = "" if value is None else str(value)
    head = text[:1]
    risky = head in _FORMULA_STARTS or (head in _SIGNS and not text[1:].replace(" ", "").isdigit())
    return "'" + text if risky else text
