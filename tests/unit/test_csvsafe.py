"""One rule for every CSV a person may open in a spreadsheet (kit/csvsafe.py): the console's
member list, the audit log and `lealtad export` all write cells through it."""

from __future__ import annotations

import pytest

from lealtad.kit.csvsafe import safe_cell


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("+", "'+"),
        ("+34 655 010 203", "+34 655 010 203"),
        ("-150", "-150"),
        (-150, "-150"),
        (42, "42"),
        (None, ""),
        ("", ""),
        ("Rocío = feliz", "Rocío = feliz"),
    ],
)
def test_formula_like_cells_are_defused_and_phones_and_negative_numbers_are_not(
    value: object, written: str
) -> None:
    assert safe_cell(value) == written


def test_the_console_the_audit_log_and_the_export_share_the_one_helper() -> None:
    import inspect

    from lealtad.exports import cli
    from lealtad.tenancy import audit_view
    from lealtad.web.admin.customers import members as admin_members

    assert audit_view.safe_cell is safe_cell
    assert admin_members.safe_cell is safe_cell
    assert "safe_cell" in inspect.getsource(cli._export)
    for module in (audit_view, admin_members):
        assert not hasattr(module, "_cell"), "a private copy came back"
