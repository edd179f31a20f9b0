"""`--as-of` of `lealtad ledger settle`, `jobs run`, `analytics refresh` and `report`, run on
both databases: expiries settled as they would have happened that day, dated then; scores
from the history up to the date only; one line per business; a date in the future refused."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from lealtad.analytics import as_of as history
from lealtad.analytics import reports
from lealtad.analytics.tables import member_stats, snapshots
from lealtad.cli import app
from lealtad.comms.tables import outbox
from lealtad.db.engine import Database
from lealtad.events.jobs import run_daily
from lealtad.kit.clock import FixedClock, SystemClock
from lealtad.ledger import service as ledger
from lealtad.ledger.tables import entries
from lealtad.members import service as members
from lealtad.members.schemas import MemberIn
from lealtad.purchases import service as purchases
from lealtad.purchases.schemas import PurchaseIn
from lealtad.rules.definition import PointsPolicy, points_per_currency_unit
from tests.conftest import SECRET
from tests.support import Shop, make_shop

runner = CliRunner()
MADRID = ZoneInfo("Europe/Madrid")
PROGRAM = points_per_currency_unit(Decimal(1)).model_copy(
    update={"points": PointsPolicy(expiry="days", expiry_days=30)}
)


@pytest.fixture
def cli(db: Database, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Runs `lealtad ...` on the test's database (the SQLite file or the PostgreSQL server)."""
    for name in [n for n in os.environ if n.startswith("LEALTAD_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    url = db.engine.url.render_as_string(hide_password=False)

    def run(*args: str) -> Any:
        env = {
            "LEALTAD_DATA_DIR": str(tmp_path),
            "LEALTAD_DATABASE_URL": url,
            "LEALTAD_SECRET_KEY": SECRET,
            "NO_COLOR": "1",
            "COLUMNS": "200",
        }
        return runner.invoke(app, list(args), env=env)

    return run


def _buy(db: Database, shop: Shop, member: int, receipt: str, at: datetime, now: datetime) -> None:
    body = PurchaseIn(
        receipt_id=receipt, amount=1_000, currency="EUR", member_id=member, occurred_at=at
    )
    with db.transaction() as conn:
        purchases.record(conn, shop.principal(), body, secret_key=SECRET, now=now)


def _queued(conn: Any, shop: Shop) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(outbox).where(outbox.c.business_id == shop.id)
        ).scalar_one()
    )


def _lines(output: str, shop: Shop) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(f"business {shop.id}:")]


def test_settle_as_of_expires_what_was_due_by_the_end_of_that_day(
    db: Database, clock: FixedClock, cli: Any
) -> None:
    shop = make_shop(db, clock.now(), program=PROGRAM, with_staff=False)
    member = shop.members[0]
    earned = clock.now()  # 2026-03-02 10:30 UTC: 10 points expiring 30 days later
    _buy(db, shop, member, "R1", earned, earned)
    expiry_day = (earned + timedelta(days=30)).astimezone(MADRID).date()

    before = cli("ledger", "settle", "--as-of", (expiry_day - timedelta(days=1)).isoformat())
    assert before.exit_code == 0, before.output
    assert _lines(before.stdout, shop) == [f"business {shop.id}: unlocked 0, expired 0"]
    with db.read() as conn:
        assert ledger.balances(conn, shop.id, member)["points"] == 10

    done = cli("ledger", "settle", "--as-of", expiry_day.isoformat())
    assert done.exit_code == 0, done.output
    # One line for the business, with what the rounds settled (the last round settles nothing).
    assert _lines(done.stdout, shop) == [f"business {shop.id}: unlocked 0, expired 10"]
    with db.read() as conn:
        assert ledger.balances(conn, shop.id, member).get("points", 0) == 0
        dated = conn.execute(
            select(entries.c.occurred_at).where(
                entries.c.business_id == shop.id, entries.c.kind == "expire"
            )
        ).scalar_one()
    # Dated when the points expired, not when the settle ran.
    assert dated.replace(tzinfo=UTC) == earned + timedelta(days=30)


def test_an_as_of_in_the_future_or_not_a_date_is_refused_before_anything_runs(
    db: Database, clock: FixedClock, cli: Any
) -> None:
    shop = make_shop(db, clock.now(), program=PROGRAM, with_staff=False)
    _buy(db, shop, shop.members[0], "R1", clock.now(), clock.now())
    tomorrow = (SystemClock().now() + timedelta(days=2)).date().isoformat()
    later = (SystemClock().now() + timedelta(hours=1)).isoformat()
    for command in (
        ["ledger", "settle"],
        ["jobs", "run"],
        ["analytics", "refresh"],
        ["report", "--business", shop.slug],
    ):
        for value in (tomorrow, later):
            done = cli(*command, "--as-of", value)
            assert done.exit_code == 2, (command, done.output)
            assert "in the future" in done.output
            assert _lines(done.stdout, shop) == []
        wrong = cli(*command, "--as-of", "next tuesday")
        assert wrong.exit_code == 2
        assert "neither a date" in wrong.output
    with db.read() as conn:
        assert ledger.balances(conn, shop.id, shop.members[0])["points"] == 10


def test_refresh_as_of_scores_from_the_history_up_to_that_date_only(
    db: Database, clock: FixedClock, cli: Any
) -> None:
    shop = make_shop(db, clock.now(), members_count=3, program=PROGRAM, with_staff=False)
    early, regular, late = shop.members
    start = clock.now()
    now = start + timedelta(days=90)
    for n, days in enumerate((1, 8, 15, 60)):
        _buy(db, shop, regular, f"G{n}", start + timedelta(days=days), now)
    _buy(db, shop, early, "E1", start + timedelta(days=2), now)
    _buy(db, shop, late, "L1", start + timedelta(days=50), now)  # after the date
    as_of = date(2026, 3, 31)  # regular has visited three times by then, late not yet
    today = cli("analytics", "refresh", "--business", shop.slug)  # scores late too
    assert today.exit_code == 0, today.output

    done = cli("analytics", "refresh", "--business", shop.slug, "--as-of", as_of.isoformat())
    assert done.exit_code == 0, done.output
    instant = datetime(2026, 3, 31, 21, 59, 59, 999999)  # the end of the day in Madrid, UTC
    with db.read() as conn:
        figures = history.figures(conn, shop.id, instant.replace(tzinfo=UTC))
        assert dict(zip(figures.member_id.tolist(), figures.visit_days.tolist(), strict=True)) == {
            early: 1,
            regular: 3,
        }
        assert figures.today == (as_of - date(1970, 1, 1)).days
        scored = dict(
            conn.execute(
                select(member_stats.c.member_id, member_stats.c.scored_at).where(
                    member_stats.c.business_id == shop.id
                )
            ).all()
        )
        taken = conn.execute(
            select(snapshots.c.computed_at).where(
                snapshots.c.business_id == shop.id, snapshots.c.kind == "rfm"
            )
        ).scalar_one()
    assert scored[early] == scored[regular] == instant
    assert scored[late] is None  # had not bought by then: today's score is cleared
    assert taken == instant


def test_jobs_run_as_of_settles_and_scores_as_then(
    db: Database, clock: FixedClock, cli: Any
) -> None:
    shop = make_shop(db, clock.now(), program=PROGRAM, with_staff=False)
    member = shop.members[0]
    with db.transaction() as conn:
        born = MemberIn(name="Ana", email="ana@example.com", birthday=date(1990, 4, 5))
        members.enrol(conn, shop.id, born, channel="api", now=clock.now())
    _buy(db, shop, member, "R1", clock.now(), clock.now())
    _buy(db, shop, member, "R2", clock.now() + timedelta(days=40), clock.now() + timedelta(days=40))
    with db.read() as conn:
        queued = _queued(conn, shop)

    done = cli("jobs", "run", "--as-of", "2026-04-05")
    assert done.exit_code == 0, done.output
    (line,) = _lines(done.stdout, shop)
    assert "birthdays 1," in line
    assert "expired 10" in line
    with db.read() as conn:
        # The birthday of then is recorded, its greeting not sent today.
        assert _queued(conn, shop) == queued
    with db.read() as conn:
        # The first purchase's points expired on 2026-04-01; the second's (2026-04-11) are kept.
        assert ledger.balances(conn, shop.id, member)["points"] == 10
        taken = conn.execute(
            select(snapshots.c.computed_at).where(
                snapshots.c.business_id == shop.id, snapshots.c.kind == "rfm"
            )
        ).scalar_one()
    assert taken == datetime(2026, 4, 5, 21, 59, 59, 999999)


def test_report_as_of_summarises_the_last_complete_day_before_it(
    db: Database, clock: FixedClock, cli: Any
) -> None:
    shop = make_shop(db, clock.now(), program=PROGRAM, with_staff=False)
    start = clock.now()
    now = start + timedelta(days=30)
    _buy(db, shop, shop.members[0], "R1", start + timedelta(days=3), now)
    _buy(db, shop, shop.members[1], "R2", start + timedelta(days=20), now)

    done = cli("report", "--business", shop.slug, "--as-of", "2026-03-06", "--format", "json")
    assert done.exit_code == 0, done.output
    with db.read() as conn:
        expected = reports.latest(conn, shop.id, "day", datetime(2026, 3, 6, 22, tzinfo=UTC))
    assert (expected.start, expected.end) == (date(2026, 3, 5), date(2026, 3, 5))
    assert '"start": "2026-03-05"' in done.stdout
    # A week as of then reads nothing that happened after it.
    week = ("report", "--business", shop.slug, "--as-of", "2026-03-10", "--period", "week")
    before = cli(*week, "--format", "json")
    _buy(db, shop, shop.members[0], "R3", start + timedelta(days=9), now)  # 2026-03-11
    assert cli(*week, "--format", "json").stdout == before.stdout
    late = cli(*week[:-2], "--period", "custom", "--start", "2026-03-01", "--end", "2026-03-12")
    assert late.exit_code == 2
    assert "--end is after --as-of" in late.output


def test_jobs_as_of_a_day_before_the_business_began_do_nothing_for_it(
    db: Database, clock: FixedClock, cli: Any
) -> None:
    shop = make_shop(db, clock.now(), program=PROGRAM, with_staff=False)
    _buy(db, shop, shop.members[0], "R1", clock.now(), clock.now())

    done = cli("jobs", "run", "--as-of", "2026-01-15")

    assert done.exit_code == 0, done.output
    (line,) = _lines(done.stdout, shop)
    assert "unlocked 0, expired 0" in line
    settled = cli("ledger", "settle", "--as-of", "2026-01-15")
    assert _lines(settled.stdout, shop) == [f"business {shop.id}: unlocked 0, expired 0"]


def test_a_business_started_today_runs_its_daily_jobs_and_greets_from_tomorrow(
    db: Database, clock: FixedClock
) -> None:
    # Its program is in force from 10:30; the day's greetings are dated at midnight, before it
    # (D65): the run greets nobody today instead of being refused, and greets tomorrow.
    shop = make_shop(db, clock.now(), program_from=clock.now(), with_staff=False)
    today = clock.now().date()
    with db.transaction() as conn:
        for when, name in ((today, "Hoy"), (today + timedelta(days=1), "Mañana")):
            born = MemberIn(name=name, birthday=when.replace(year=1990))
            members.enrol(conn, shop.id, born, channel="api", now=clock.now())
    with db.transaction() as conn:
        assert run_daily(conn, shop.id, clock.now(), SECRET).birthdays == 0
    with db.transaction() as conn:
        assert run_daily(conn, shop.id, clock.now() + timedelta(days=1), SECRET).birthdays == 1
