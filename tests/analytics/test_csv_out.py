"""The analytics downloads defuse spreadsheet formulas with the one shared rule (kit/csvsafe.py),
so a phone number or a negative number written as text reads the same as in every other export."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from lealtad.analytics import csv_out
from lealtad.kit.csvsafe import safe_cell


@pytest.mark.parametrize(
    "text",
    [
        '=HYPERLINK("http://x")',
        "@SUM(A1)",
        "+1+2",
        "-2+3",
        "\tx",
        "\rx",
        "+34 655 010 203",
        "-150",
        "Rocío = feliz",
        "",
    ],
)
def test_an_analytics_text_cell_is_written_as_the_shared_rule_writes_it(text: str) -> None:
    assert csv_out.cell(text) == safe_cell(text)


def test_a_phone_and_a_negative_number_in_text_are_not_spoilt_but_formulas_are_defused() -> None:
    columns = [("who", "Who"), ("phone", "Phone"), ("delta", "Delta"), ("on", "On")]
    rows = [
        {"who": "=1+1", "phone": "+34 655 010 203", "delta": "-150", "on": date(2026, 3, 1)},
        {"who": "@me", "phone": "+1+2", "delta": Decimal("-2.5"), "on": None},
    ]
    assert csv_out.csv_text(columns, rows).split("\r\n") == [
        "Who,Phone,Delta,On",
        "'=1+1,+34 655 010 203,-150,2026-03-01",
        "'@me,'+1+2,-2.5,",
        "",
    ]


def test_the_analytics_downloads_keep_no_private_copy_of_the_rule() -> None:
    assert csv_out.safe_cell is safe_cell
