"""Lifetime figures from the previous system (`lealtad import balances`, lifetime_* columns),
through the real command in a subprocess on both databases: kept per import run apart from
Lealtad's own figures, refused whole when a value is bad or two rows of a member disagree, undone
with the run, and never counted in member_stats or tiers (D68)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from lealtad.analytics.tables import member_stats
from lealtad.db.engine import Database
from lealtad.imports import opening as importer
from lealtad.kit.clock import FixedClock, SystemClock
from lealtad.ledger import service as ledger
from lealtad.ledger.tables import entries
from lealtad.members import previous_store
from lealtad.members import service as members
from lealtad.members.tables import member_previous_figures
from lealtad.purchases import service as purchases
from lealtad.purchases.schemas import PurchaseIn
from lealtad.tiers import service as tiers
from tests.conftest import SECRET
from tests.e2e.test_cli import lealtad_command
from tests.support import Shop, make_shop


@dataclass
class Run:
    code: int
    out: str

    def __str__(self) -> str:
        return f"exit {self.code}\n{self.out}"


@pytest.fixture
def lealtad(db: Database, tmp_path: Path) -> Any:
    """Runs the installed `lealtad` command in a subprocess on the test's database."""
    url = db.engine.url.render_as_string(hide_password=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEALTAD_")}
    env.update(
        LEALTAD_DATA_DIR=str(tmp_path),
        LEALTAD_DATABASE_URL=url,
        LEALTAD_SECRET_KEY=SECRET,
        NO_COLOR="1",
        TERM="dumb",
        COLUMNS="200",
    )

    def run(*args: str) -> Run:
        done = subprocess.run(
            [*lealtad_command(), *args],
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        return Run(done.returncode, done.stdout + done.stderr)

    return run


def write(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return path


def figures(db: Database, shop: Shop) -> dict[int, tuple[Any, ...]]:
    c = member_previous_figures.c
    with db.read() as conn:
        rows = conn.execute(
            select(c.member_id, c.visits, c.spend, c.points, c.as_of).where(
                c.business_id == shop.id
            )
        ).all()
    return {int(r[0]): tuple(r[1:]) for r in rows}


def own_figures(db: Database, shop: Shop) -> dict[str, Any]:
    """What Lealtad computes of its members: the rollups and each member's tier."""
    ms = member_stats.c
    with db.read() as conn:
        stats = conn.execute(
            select(ms.member_id, ms.visit_days, ms.purchases, ms.spend, ms.last_day)
            .where(ms.business_id == shop.id)
            .order_by(ms.member_id)
        ).all()
        held = {m: tiers.current(conn, shop.id, m) for m in shop.members}
    return {"stats": [tuple(r) for r in stats], "tiers": held}


def journal_size(db: Database, shop: Shop) -> int:
    with db.read() as conn:
        return int(conn.scalar(select(func.count()).where(entries.c.business_id == shop.id)) or 0)


def shop_with_history(db: Database) -> tuple[Shop, datetime]:
    """Members with a few purchases of their own, dated before the command's real clock."""
    now = SystemClock().now()
    start = now - timedelta(days=60)
    shop = make_shop(db, start, members_count=3, with_staff=False)
    for n, member in enumerate(shop.members):
        for day in range(n + 1):
            body = PurchaseIn(
                receipt_id=f"R{member}-{day}",
                amount=1_250,
                currency="EUR",
                member_id=member,
                occurred_at=start + timedelta(days=day * 7 + 1),
            )
            with db.transaction() as conn:
                purchases.record(conn, shop.principal(), body, secret_key=SECRET, now=now)
    return shop, now


def test_the_command_keeps_lifetime_figures_apart_and_undo_takes_them_away(
    db: Database, lealtad: Any, tmp_path: Path
) -> None:
    shop, now = shop_with_history(db)
    ana, ben, eva = shop.members
    with db.read() as conn:
        ben_card = members.find(conn, shop.id, SECRET, member_id=ben).card_number
    before = own_figures(db, shop)
    with db.read() as conn:
        held = {m: ledger.balances(conn, shop.id, m).get("points", 0) for m in shop.members}
    path = write(
        tmp_path / "balances.csv",
        f"""
member_id,card_number,points,lifetime_spend,lifetime_visits,lifetime_points,lifetime_as_of
{ana},,120,1234567,48,5200,2025-12-31
{ana},,30,1234567,48,5200,2025-12-31
,{ben_card},,,3,,
{eva},,15,,,,
""",
    )

    done = lealtad("import", "balances", str(path), "--business", shop.slug)

    assert done.code == 0, done
    assert "4 loaded" in done.out, done
    today = now.astimezone(ZoneInfo("Europe/Madrid")).date()
    assert figures(db, shop) == {
        ana: (48, 1_234_567, 5_200, date(2025, 12, 31)),
        ben: (3, None, None, today),
    }
    with db.read() as conn:
        after = {m: ledger.balances(conn, shop.id, m).get("points", 0) for m in shop.members}
    # Only the lots brought in count; the old system's points earned are a figure, not a lot.
    assert {m: after[m] - held[m] for m in shop.members} == {ana: 150, ben: 0, eva: 15}
    # Lealtad's own figures do not move: no visit, spend or tier comes from the old totals.
    assert own_figures(db, shop) == before
    run_id = int(done.out.split("run ")[1].split(":")[0])

    undone = lealtad("import", "undo", str(run_id), "--business", shop.slug)

    assert undone.code == 0, undone
    assert figures(db, shop) == {}
    assert own_figures(db, shop) == before


def test_bad_lifetime_values_and_disagreeing_rows_refuse_the_whole_file(
    db: Database, lealtad: Any, tmp_path: Path
) -> None:
    shop, now = shop_with_history(db)
    ana, ben, eva = shop.members
    soon = (now + timedelta(days=3)).date()
    entries_before = journal_size(db, shop)
    bad = write(
        tmp_path / "bad.csv",
        f"""
member_id,points,lifetime_spend,lifetime_visits,lifetime_points,lifetime_as_of
{ana},10,500,,,
{ben},,-5,,,
{eva},,,12.5,,
{ana},,,,7,{soon}
{ben},,,,,2025-01-01
{eva},,,,abc,
""",
    )

    refused = lealtad("import", "balances", str(bad), "--business", shop.slug)

    assert refused.code == 2, refused
    out = refused.out
    assert "5 row(s) cannot be imported" in out, refused
    assert "line / línea 3: lifetime_spend is negative" in out
    assert "line / línea 4: lifetime_visits must be a whole number" in out
    assert f"line / línea 5: lifetime_as_of {soon} is in the future" in out
    assert "line / línea 6: lifetime_as_of without lifetime_spend" in out
    assert "line / línea 7: lifetime_points must be a whole number" in out
    assert figures(db, shop) == {}
    assert journal_size(db, shop) == entries_before

    clash = write(
        tmp_path / "clash.csv",
        f"""
member_id,points,lifetime_spend,lifetime_visits,lifetime_as_of
{ana},10,90000,12,2025-12-31
{ana},5,90000,13,2025-12-31
{ben},,100,1,2025-12-31
""",
    )

    refused = lealtad("import", "balances", str(clash), "--business", shop.slug)

    assert refused.code == 2, refused
    assert (
        f"line / línea 3: member {ana} has other lifetime figures on line 2 "
        "(lifetime_visits 12, lifetime_spend 90000 as of 2025-12-31) than here "
        "(lifetime_visits 13, lifetime_spend 90000 as of 2025-12-31)" in refused.out
    ), refused
    assert figures(db, shop) == {}
    assert journal_size(db, shop) == entries_before


def test_the_member_shows_the_latest_runs_figures_and_an_earlier_one_after_undo(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    shop = make_shop(db, clock.now(), members_count=1, with_staff=False)
    (ana,) = shop.members
    first = write(tmp_path / "first.csv", f"member_id,lifetime_visits\n{ana},10")
    second = write(
        tmp_path / "second.csv",
        f"member_id,lifetime_visits,lifetime_spend,lifetime_as_of\n{ana},20,4500,2026-01-31",
    )
    runs = [
        importer.import_balances(db, shop.id, p, secret_key=SECRET, clock=clock).run_id
        for p in (first, second)
    ]
    with db.read() as conn:
        latest = previous_store.latest(conn, shop.id, ana)
    assert latest == previous_store.PreviousFigures(date(2026, 1, 31), 20, 4500, None, runs[1])

    importer.undo_run(db, shop.id, runs[1], by="cli:test", clock=clock)

    with db.read() as conn:
        latest = previous_store.latest(conn, shop.id, ana)
    assert latest == previous_store.PreviousFigures(date(2026, 3, 2), 10, None, None, runs[0])
