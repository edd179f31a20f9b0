"""`lealtad program set|versions`: a business brought in with its history sets its program from the
start of that history (D65), then imports; the same refusals as the API, as messages and exit
codes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_cli import lealtad, rows

CATALOG = {
    "name": "Catálogo",
    "rules": [{"id": "base", "name": "Base", "action": {"type": "points_per_unit", "rate": "2"}}],
}


def test_a_program_dated_back_supersedes_the_set_up_one_and_history_imports_under_it(
    tmp_path: Path,
) -> None:
    bar_uno = tmp_path
    assert lealtad(bar_uno, "migrate").code == 0
    created = lealtad(
        bar_uno, "business", "create", "Bar Uno",
        "--owner-email", "o@x.example", "--owner-password", "longenoughpw",
    )  # fmt: skip
    assert created.code == 0, created
    bad = bar_uno / "bad.json"
    bad.write_text('{"rules": [{"id": "x"}]}')
    run = lealtad(bar_uno, "program", "set", str(bad), "--business", "bar-uno", "--reason", "r")
    assert run.code == 2, run
    assert "not a valid program / programa no válido" in run.err
    assert "Traceback" not in run.text
    program = bar_uno / "program.json"
    program.write_text(json.dumps(CATALOG))
    made = lealtad(
        bar_uno, "program", "set", str(program), "--business", "bar-uno",
        "--reason", "programa desde 2024", "--effective-from", "2024-01-01",
    )  # fmt: skip
    assert made.code == 0, made
    # Midnight in Madrid on 1 January is 23:00 UTC the day before.
    assert "2 in force from / en vigor desde 2023-12-31T23:00:00+00:00" in made.out
    assert "Superseded / sustituidas: 1" in made.out
    listed = lealtad(bar_uno, "program", "versions", "--business", "bar-uno")
    assert listed.code == 0, listed
    assert "superseded by / sustituida por 2" in listed.out.splitlines()[1]
    # A member's sale from before the program is refused with its line and reason.
    enrolled = lealtad(bar_uno, "import", "members", _members(bar_uno), "--business", "bar-uno")
    assert enrolled.code == 0, enrolled
    card = rows(bar_uno, "SELECT card_number FROM members")[0][0]
    sales = bar_uno / "sales.csv"
    sales.write_text(
        "receipt_id,amount,currency,occurred_at,card_number\n"
        f"A-1,1500,EUR,2023-06-01T10:00:00Z,{card}\n"
        f"A-2,1500,EUR,2024-06-01T10:00:00Z,{card}\n"
    )
    imported = lealtad(
        bar_uno, "import", "purchases", str(sales), "--business", "bar-uno", "--quiet"
    )
    assert imported.code == 3, imported
    rejects = (bar_uno / "sales.csv.rejects.csv").read_text()
    assert "before_first_program" in rejects
    assert rows(bar_uno, "SELECT amount FROM awards") == [(30,)]
    # Now that a sale has earned, dating the program back again is refused.
    again = lealtad(
        bar_uno, "program", "set", "--template", "coffee-stamps", "--business", "bar-uno",
        "--reason", "otra", "--effective-from", "2023-01-01",
    )  # fmt: skip
    assert again.code == 1, again
    assert "effective_in_past" in again.err


def _members(data_dir: Path) -> str:
    path = data_dir / "members.csv"
    path.write_text("email,name\nana@example.com,Ana\n")
    return str(path)
