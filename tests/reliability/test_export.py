"""`lealtad export`: members with their personal data decrypted and formula-like cells defused,
purchases counted, ledger postings that add up to each member's balance, `--since` filtering,
and clear exits for an unknown business or a bad date."""

from __future__ import annotations

import csv
import io
import os
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lealtad.cli import app
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.ledger import service as ledger
from lealtad.members import service as members
from lealtad.members.schemas import MemberIn
from lealtad.purchases import service as purchases
from lealtad.purchases.schemas import PurchaseIn
from tests.conftest import SECRET
from tests.support import Shop, make_shop

runner = CliRunner()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Runs `lealtad ...` against the given database with the tests' secret key, whose derived
    field keys are the ones the fixtures encrypt with."""
    for name in [n for n in os.environ if n.startswith("LEALTAD_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)

    def run(db: Database, *args: str) -> Any:
        env = {
            "LEALTAD_ENV": "test",
            "LEALTAD_SECRET_KEY": SECRET,
            "LEALTAD_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
            "LEALTAD_DATA_DIR": str(tmp_path / "data"),
            "NO_COLOR": "1",
            "COLUMNS": "200",
        }
        return runner.invoke(app, list(args), env=env)

    return run


def _table(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _buy(db: Database, shop: Shop, member_id: int, amount: int, at: datetime) -> None:
    with db.transaction() as conn:
        purchases.record(
            conn,
            shop.principal(),
            PurchaseIn(
                receipt_id=f"R-{member_id}-{amount}-{at:%m%d}",
                amount=amount,
                currency="EUR",
                member_id=member_id,
                occurred_at=at,
            ),
            secret_key=SECRET,
            now=at,
        )


def _shop_with_sales(db: Database, clock: FixedClock) -> Shop:
    shop = make_shop(db, clock.now(), members_count=3)
    with db.transaction() as conn:
        shop.members.append(
            members.enrol(
                conn,
                shop.id,
                MemberIn(name='=HYPERLINK("http://x")', email="formula@example.com"),
                channel="api",
                now=clock.now(),
            )
        )
    early, late = clock.now() - timedelta(days=20), clock.now() - timedelta(days=2)
    for n, member_id in enumerate(shop.members):
        _buy(db, shop, member_id, 1000 + 250 * n, early)
        _buy(db, shop, member_id, 700, late)
    return shop


def test_the_members_export_holds_decrypted_emails_and_defuses_a_formula_like_name(
    sqlite_db: Database, clock: FixedClock, cli: Any, tmp_path: Path
) -> None:
    shop = _shop_with_sales(sqlite_db, clock)
    out = tmp_path / "members.csv"

    done = cli(sqlite_db, "export", "members", "--business", shop.slug, "--out", str(out))

    assert done.exit_code == 0, done.output
    rows = _table(out.read_text(encoding="utf-8"))
    assert [int(r["id"]) for r in rows] == shop.members
    for i, r in enumerate(rows[:3]):
        assert re.fullmatch(rf"m{i}@shop\d+\.example", r["email"]), r["email"]
    assert rows[-1]["email"] == "formula@example.com"
    assert rows[-1]["name"] == '\'=HYPERLINK("http://x")', "a spreadsheet must not run it"
    with sqlite_db.read() as conn:
        for r in rows:
            balance = ledger.balances(conn, shop.id, int(r["id"]))["points"]
            assert int(r["balance_points"]) == balance > 0


@pytest.mark.parametrize("db", ["sqlite", "postgresql"], indirect=True)
def test_the_ledger_exports_member_postings_that_sum_to_each_members_balance(
    db: Database, clock: FixedClock, cli: Any
) -> None:
    shop = _shop_with_sales(db, clock)

    done = cli(db, "export", "ledger", "--business", shop.slug)

    assert done.exit_code == 0, done.output
    sums: dict[tuple[int, str], int] = defaultdict(int)
    entries = set()
    for r in _table(done.stdout):
        entries.add(r["entry_id"])
        if r["member_id"]:
            sums[int(r["member_id"]), r["account_code"]] += int(r["amount"])
    assert len(entries) >= len(shop.members) * 2
    with db.read() as conn:
        for member_id in shop.members:
            for code, balance in ledger.balances(conn, shop.id, member_id).items():
                assert sums[member_id, code] == balance, (member_id, code)


def test_the_purchases_export_counts_the_purchases_and_since_keeps_the_later_ones(
    sqlite_db: Database, clock: FixedClock, cli: Any
) -> None:
    shop = _shop_with_sales(sqlite_db, clock)
    other = make_shop(sqlite_db, clock.now(), members_count=1)
    _buy(sqlite_db, other, other.members[0], 999, clock.now())

    every = cli(sqlite_db, "export", "purchases", "--business", shop.slug)
    since = (clock.now() - timedelta(days=5)).date().isoformat()
    recent = cli(sqlite_db, "export", "purchases", "--business", shop.slug, "--since", since)
    ledger_recent = cli(sqlite_db, "export", "ledger", "--business", shop.slug, "--since", since)

    assert every.exit_code == recent.exit_code == ledger_recent.exit_code == 0, every.output
    rows = _table(every.stdout)
    assert len(rows) == 2 * len(shop.members), "the other business's purchase is not there"
    assert {r["currency"] for r in rows} == {"EUR"}
    assert sorted(int(r["amount_minor"]) for r in rows)[:2] == [700, 700]
    later = _table(recent.stdout)
    assert len(later) == len(shop.members)
    assert {r["amount_minor"] for r in later} == {"700"}
    cutoff = datetime.fromisoformat(since).replace(tzinfo=UTC) - timedelta(days=1)
    assert all(
        datetime.fromisoformat(r["occurred_at"]) > cutoff for r in _table(ledger_recent.stdout)
    )


def test_an_unknown_business_exits_1_and_a_bad_since_exits_2_with_a_message(
    sqlite_db: Database, clock: FixedClock, cli: Any
) -> None:
    shop = make_shop(sqlite_db, clock.now(), members_count=1)

    unknown = cli(sqlite_db, "export", "members", "--business", "no-such-shop")
    bad_day = cli(sqlite_db, "export", "ledger", "--business", shop.slug, "--since", "03/02/2026")

    assert unknown.exit_code == 1
    assert "No business / no existe el negocio" in unknown.output
    assert "no-such-shop" in unknown.output
    assert bad_day.exit_code == 2
    assert "YYYY-MM-DD" in bad_day.output
