"""The commands a business moving from another system runs: `lealtad import members` with the
history columns, `lealtad import balances` naming members by their old cards, `lealtad import
undo`, and `lealtad ledger verify` after each, on a node of its own per database."""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from lealtad.ledger import service as ledger
from lealtad.members.tables import members
from tests.reliability.harness import Node, business_id, fresh_postgres

_databases = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def node(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Node]:
    url = ""
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres_url")
        url = fresh_postgres(server, f"opening_{os.getpid()}_{next(_databases)}")
    one = Node(tmp_path / "node", url)
    one.setup_business()
    yield one
    one.stop_all()


def balances_of(node: Node) -> dict[str, dict[str, int]]:
    """Each member's non-zero balances, by name (the file enrols Ana first, then Ben)."""
    db = node.database()
    try:
        bid = business_id(node)
        with db.read() as conn:
            ids = conn.execute(
                select(members.c.id).where(members.c.business_id == bid).order_by(members.c.id)
            ).scalars()
            return {
                name: {k: v for k, v in ledger.balances(conn, bid, mid).items() if v}
                for name, mid in zip(("Ana", "Ben"), ids, strict=True)
            }
    finally:
        db.dispose()


def unwrapped(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_members_then_balances_by_old_card_then_undo_from_the_command_line(
    node: Node, tmp_path: Path
) -> None:
    people = tmp_path / "people.csv"
    people.write_text(
        "name,email,enrolled_at,consent_email,consent_email_at,previous_card_number\n"
        "Ana,ana@example.com,2024-05-10,yes,2024-05-10,OLD-1\n"
        "Ben,ben@example.com,2023-01-15,no,,OLD-2\n"
    )
    good = tmp_path / "balances.csv"
    good.write_text(
        "card_number,email,points,earned_at,expires_at,cashback\n"
        "OLD-1,,120,2025-01-10,2099-01-10,\n"
        "OLD-1,,30,2025-06-01,,\n"
        ",ben@example.com,,,,450\n"
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "card_number,points,earned_at,expires_at\n"
        "OLD-1,10,2025-01-10,2024-01-10\n"
        "OLD-9,10,,\n"
        "OLD-2,-4,,\n"
    )

    assert node.run("import", "members", str(people), "--business", "shop").code == 0

    refused = node.run("import", "balances", str(bad), "--business", "shop")
    assert refused.code == 2, str(refused)
    said = unwrapped(refused.err)
    assert "3 row(s) cannot be imported, so nothing was loaded" in said
    assert "line / línea 2: expires_at 2024-01-10 is not after the earning date" in said
    assert "line / línea 3: unknown member: no member has card_number 'OLD-9'" in said
    assert "line / línea 4: points is negative (-4)" in said
    assert (tmp_path / "bad.csv.rejects.csv").exists()
    assert balances_of(node) == {"Ana": {}, "Ben": {}}

    loaded = node.run("import", "balances", str(good), "--business", "shop")
    assert loaded.code == 0, str(loaded)
    run_id = re.search(r"run (\d+): 3 rows / filas, 3 loaded", loaded.out)
    assert run_id, str(loaded)
    assert balances_of(node) == {"Ana": {"points": 150}, "Ben": {"cashback": 450}}
    assert node.run("ledger", "verify").code == 0
    twice = node.run("import", "balances", str(good), "--business", "shop")
    assert twice.code == 2
    assert "imported already as run" in unwrapped(twice.err)

    undone = node.run("import", "undo", run_id.group(1), "--business", "shop")
    assert undone.code == 0, str(undone)
    assert f"run {run_id.group(1)} undone: 3 opening entries reversed" in unwrapped(undone.out)
    assert balances_of(node) == {"Ana": {}, "Ben": {}}
    assert node.run("ledger", "verify").code == 0
    again = node.run("import", "undo", run_id.group(1), "--business", "shop")
    assert again.code == 1
    assert "import_run_undone" in unwrapped(again.err)
