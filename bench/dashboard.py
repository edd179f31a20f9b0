"""P5: the admin dashboard at 1M members and 10M purchases; every KPI in <= 500 ms.

Run: uv run python bench/dashboard.py [--members 1000000] [--purchases 10000000]
     [--days 730] [--repeat 5] [--postgres URL] [--keep PATH] [--json FILE]
On SQLite by default (a fresh file); pass a postgresql+psycopg:// URL for PostgreSQL (an empty
or migrated database; rows are written with COPY there, then ANALYZE). It generates two years of a chain of 20 stores with 40 staff: members
enrolling over time with a gamma spread of visit rates, 30% anonymous purchases, and writes the
members and purchases rows with executemany. The rollups are folded from the same generated
events with the fold the live writers use (analytics/fold.py), so the dashboard reads tables of
the size production would have. Then each KPI is timed in every view (30 days by day, 12 weeks
by week, 12 months by month, one store, one staff member) and the median is printed."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from benchkit import BENCH_KEYS, row, write_json
from rich.progress import Progress
from sqlalchemy import Connection

from lealtad.analytics import fold, kpis, owner_home, rankings, refresh, rollups
from lealtad.analytics.periods import Scope, default_scope
from lealtad.analytics.rebuild import _write_figures
from lealtad.analytics.segments import top_members
from lealtad.db.engine import Database
from lealtad.db.migrate import upgrade
from lealtad.kit.clock import naive_utc
from lealtad.rules.definition import PointsPolicy, points_per_currency_unit
from lealtad.tenancy import service as tenancy
from lealtad.tenancy import store as tenancy_store

TARGET_MS = 500.0
LOCATIONS, STAFF = 20, 40
CHUNK = 50_000


def _write(conn: Connection, table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
    """COPY on PostgreSQL (executemany there sends a statement per row); executemany on SQLite,
    where it is already a loop inside the driver."""
    if conn.dialect.name == "postgresql":
        raw: Any = conn.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for values in rows:
                copy.write_row(values)
        return
    marks = ", ".join(["?"] * (columns.count(",") + 1))
    conn.exec_driver_sql(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)


def setup(db: Database, now: datetime) -> tuple[int, list[int], list[int]]:
    program = points_per_currency_unit(Decimal(1)).model_copy(
        update={"points": PointsPolicy(value_per_point=Decimal("0.5"))}
    )
    with db.transaction() as conn:
        bid = tenancy.create_business(
            conn,
            name=f"Bench {now.timestamp()}",
            currency="EUR",
            timezone="Europe/Madrid",
            locale="es",
            now=now,
            program=program,
        )
        stores = [
            tenancy.create_location(conn, bid, name=f"Store {i}", timezone=None, now=now)
            for i in range(LOCATIONS)
        ]
        staff = [
            tenancy_store.insert_staff(
                conn,
                business_id=bid,
                email=f"s{i}@bench.example",
                name=f"Staff {i}",
                role="staff",
                location_id=stores[i % LOCATIONS],
                password_hash="x",
                active=True,
                created_at=naive_utc(now),
            )
            for i in range(STAFF)
        ]
    return bid, stores, staff


class Generator:
    def __init__(
        self, args: argparse.Namespace, start: date, bid: int, stores: list[int], staff: list[int]
    ) -> None:
        self.rng = np.random.default_rng(args.seed)
        self.args, self.start, self.bid = args, start, bid
        self.stores, self.staff = np.array(stores), np.array(staff)
        self.tally = fold.Tally()
        self.figures: dict[int, fold.MemberFigures] = {}

    def members(self, db: Database, progress: Progress) -> np.ndarray:
        n, days = self.args.members, self.args.days
        # Enrolment speeds up over the two years, as a program that is working does.
        enrolled_day = np.sort((days * np.sqrt(self.rng.random(n))).astype(np.int64))
        home = self.rng.integers(0, LOCATIONS, n)
        task = progress.add_task("members", total=n)
        ids = np.zeros(n, dtype=np.int64)
        with db.transaction() as conn:
            columns = (
                "business_id, card_number, card_version, locale, tags, consent, "
                "enrolment_channel, enrolled_by_staff_id, enrolled_location_id, "
                "enrolled_at, status"
            )
            for lo in range(0, n, CHUNK):
                hi = min(n, lo + CHUNK)
                rows = []
                for i in range(lo, hi):
                    at = datetime.combine(
                        self.start + timedelta(int(enrolled_day[i])), datetime.min.time()
                    ) + timedelta(hours=10)
                    store = int(self.stores[home[i]])
                    clerk = int(self.staff[home[i] + LOCATIONS * (i % 2)])
                    rows.append(
                        (
                            self.bid,
                            f"B{i:010d}",
                            1,
                            "es",
                            "[]",
                            "{}",
                            "counter",
                            clerk,
                            store,
                            at,
                            "active",
                        )
                    )
                _write(conn, "members", columns, rows)
                progress.advance(task, hi - lo)
            first = conn.exec_driver_sql(
                f"SELECT min(id) FROM members WHERE business_id = {self.bid}"
            ).scalar_one()
        ids = np.arange(first, first + n, dtype=np.int64)
        for i in range(n):
            figures = fold.MemberFigures(
                self.start + timedelta(int(enrolled_day[i])), int(self.stores[home[i]])
            )
            self.figures[int(ids[i])] = figures
            fold.enrolment(self.tally, figures, int(self.staff[home[i] + LOCATIONS * (i % 2)]))
        self.enrolled_day, self.home, self.ids = enrolled_day, home, ids
        return ids

    def purchases(self, db: Database, progress: Progress) -> None:
        n, days, rng = self.args.purchases, self.args.days, self.rng
        members_n = len(self.ids)
        rate = rng.gamma(0.6, 1.0, members_n)
        is_member = rng.random(n) < 0.7
        who = rng.choice(members_n, size=n, p=rate / rate.sum())
        span = days - self.enrolled_day[who]
        day = np.where(
            is_member,
            self.enrolled_day[who] + (rng.random(n) * span).astype(np.int64),
            rng.integers(0, days, n),
        )
        order = np.argsort(day, kind="stable")
        amount = np.maximum(100, rng.lognormal(7.0, 0.6, n)).astype(np.int64)
        store_ix = np.where(
            is_member & (rng.random(n) < 0.8), self.home[who], rng.integers(0, LOCATIONS, n)
        )
        clerk_ix = store_ix + LOCATIONS * rng.integers(0, 2, n)
        seconds = rng.integers(8 * 3600, 21 * 3600, n)
        task = progress.add_task("purchases", total=n)
        with db.transaction() as conn:
            columns = (
                "business_id, receipt_id, member_id, location_id, staff_id, channel, "
                "amount, currency, items, refunded_amount, occurred_at, recorded_at"
            )
            for lo in range(0, n, CHUNK):
                rows = []
                for k in order[lo : lo + CHUNK]:
                    k = int(k)
                    at = datetime.combine(
                        self.start + timedelta(int(day[k])), datetime.min.time()
                    ) + timedelta(seconds=int(seconds[k]))
                    member = int(self.ids[who[k]]) if is_member[k] else None
                    store, clerk = int(self.stores[store_ix[k]]), int(self.staff[clerk_ix[k]])
                    rows.append(
                        (
                            self.bid,
                            f"R{k}",
                            member,
                            store,
                            clerk,
                            "pos",
                            int(amount[k]),
                            "EUR",
                            "[]",
                            0,
                            at,
                            at,
                        )
                    )
                    local = self.start + timedelta(int(day[k]))
                    figures = self.figures[member] if member is not None else None
                    fold.purchase(
                        self.tally,
                        figures,
                        at=at,
                        day=local,
                        amount=int(amount[k]),
                        location_id=store,
                        staff_id=clerk,
                    )
                    if member is not None:
                        fold.ledger_flows(
                            self.tally, local, [("issued", "points", -int(amount[k]) // 100)]
                        )
                _write(conn, "purchases", columns, rows)
                progress.advance(task, len(rows))
        self._rewards()

    def _rewards(self) -> None:
        """Redemptions, expiries and first rewards, day by day: 60% of the points issued a month
        earlier are redeemed, 10% of those issued a year earlier expire."""
        issued: dict[date, int] = {}
        for (metric, day, _dim, _, _, _), value in list(self.tally.deltas.items()):
            if metric == "flow.issued":
                issued[day] = issued.get(day, 0) - value
        for day, points in issued.items():
            fold.ledger_flows(
                self.tally, day + timedelta(30), [("redeemed", "points", int(points * 0.6))]
            )
            fold.ledger_flows(
                self.tally, day + timedelta(365), [("expired", "points", int(points * 0.1))]
            )
        for member_id, figures in self.figures.items():
            if figures.purchases >= 3 and member_id % 5 < 2 and figures.first_purchase_at:
                at = figures.first_purchase_at + timedelta(days=member_id % 120)
                # The generated history's days are UTC days (at.date()), for every date.
                fold.first_reward(self.tally, figures, at, at.date(), day_of=lambda d: d.date())

    def write(self, db: Database) -> None:
        with db.transaction() as conn:
            rollups.flush(conn, self.bid, self.tally)
            _write_figures(conn, self.bid, self.figures)


def timed(call: Callable[[], Any], repeat: int) -> float:
    laps = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        laps.append((time.perf_counter() - started) * 1000)
    return statistics.median(laps)


def measure(
    db: Database,
    bid: int,
    stores: list[int],
    staff: list[int],
    today: date,
    now: datetime,
    repeat: int,
) -> list[tuple[str, str, float]]:
    base = default_scope(bid, today, "30d")
    views = {
        "30 days by day": base,
        "12 weeks by week": default_scope(bid, today, "12w"),
        "12 months by month": default_scope(bid, today, "12m"),
        "12 months, one store": Scope(
            bid, default_scope(bid, today, "12m").start, today, "month", location_id=stores[3]
        ),
        "12 months, one staff member": Scope(
            bid, default_scope(bid, today, "12m").start, today, "month", staff_id=staff[5]
        ),
    }
    checks: dict[str, Callable[[Connection, Scope], Any]] = {
        "enrolment rate": kpis.enrolment_rate,
        "members: new, active, lapsed": lambda c, s: kpis.members_activity(c, s, now),
        "members vs non-members": kpis.members_vs_others,
        "points issued/redeemed/expired, liability": lambda c, s: kpis.points_flows(c, s, now),
        "first reward within 90 days": kpis.first_reward,
        "cohort retention 30/60/90": kpis.retention,
        "staff leaderboard": rankings.staff_leaderboard,
        "reward popularity": rankings.reward_popularity,
        # The console's home: three stretches of days and, past 50,000 members, last night's
        # count of members close to a reward (the scope does not apply; timed once per view).
        "owner's home": lambda c, s: owner_home.home(c, s.business_id, now),
        "whole dashboard": lambda c, s: kpis.dashboard(c, s, now),
    }
    out = []
    with db.read() as conn:
        for view, scope in views.items():
            for name, check in checks.items():

                def run(check: Any = check, scope: Scope = scope) -> Any:
                    return check(conn, scope)

                out.append((view, name, timed(run, repeat)))
    return out


def existing(db: Database) -> tuple[int, list[int], list[int]]:
    with db.read() as conn:
        bid = conn.exec_driver_sql("SELECT max(id) FROM businesses").scalar_one()
        stores = [
            r[0]
            for r in conn.exec_driver_sql(
                f"SELECT id FROM locations WHERE business_id = {bid} ORDER BY id"
            )
        ]
        staff = [
            r[0]
            for r in conn.exec_driver_sql(
                f"SELECT id FROM staff_users WHERE business_id = {bid} ORDER BY id"
            )
        ]
    return bid, stores, staff


def generate(
    db: Database,
    args: argparse.Namespace,
    start: date,
    bid: int,
    stores: list[int],
    staff: list[int],
) -> None:
    generator = Generator(args, start, bid, stores, staff)
    began = time.perf_counter()
    with Progress() as progress:
        generator.members(db, progress)
        generator.purchases(db, progress)
    generator.write(db)
    if db.engine.dialect.name == "postgresql":
        # Fresh tables have no statistics until autovacuum gets to them; production's have.
        with db.transaction() as conn:
            conn.exec_driver_sql("ANALYZE")
    print(
        f"generated {args.members:,} members and {args.purchases:,} purchases in "
        f"{time.perf_counter() - began:.0f} s on {db.engine.dialect.name}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--purchases", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres", "--database-url", dest="url")
    parser.add_argument("--json", help="write the run_all summary (bench/benchkit.py) here")
    parser.add_argument("--keep", help="SQLite file to write (kept after the run)")
    parser.add_argument(
        "--measure-only", action="store_true", help="time the KPIs of a database made before"
    )
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="also time the nightly scoring and the customers page",
    )
    args = parser.parse_args()
    path = Path(args.keep) if args.keep else Path(tempfile.mkdtemp()) / "dashboard.db"
    db = Database(args.url or f"sqlite:///{path}", keys=BENCH_KEYS)
    upgrade(db)
    today = date(2026, 11, 22)
    start = today - timedelta(days=args.days - 1)
    now = datetime.combine(today, datetime.min.time(), tzinfo=UTC) + timedelta(hours=23)
    if args.measure_only:
        bid, stores, staff = existing(db)
    else:
        bid, stores, staff = setup(db, now)
        generate(db, args, start, bid, stores, staff)
    results = measure(db, bid, stores, staff, today, now, args.repeat)
    print(f"\n{'view':30} {'KPI':45} {'median ms':>10} {'of target':>10}")
    for view, name, ms in results:
        print(f"{view:30} {name:45} {ms:10.1f} {ms / TARGET_MS:10.2f}")
    worst = max(ms for view, name, ms in results if name != "whole dashboard")
    print(f"\nslowest single KPI: {worst:.1f} ms (target <= {TARGET_MS:.0f} ms per KPI)")
    size = f"{db.engine.dialect.name}, {args.members:,} members, {args.purchases:,} purchases"
    whole = max(ms for view, name, ms in results if name == "whole dashboard")
    write_json(
        args.json,
        "P5",
        [
            row(f"{size}: slowest KPI", worst, "ms", "<= 500 ms", TARGET_MS / worst),
            row(f"{size}: whole dashboard, slowest view", whole, "ms", "", None),
        ],
        [f"{view} / {name}: {ms:.1f} ms" for view, name, ms in results],
    )
    if args.refresh:
        scoring(db, bid, now, args.repeat)


def scoring(db: Database, bid: int, now: datetime, repeat: int) -> None:
    """The nightly refresh (RFM and the value models for every member) is a batch job, not a
    KPI; the customers page then reads its snapshots and the members with the highest value."""
    began = time.perf_counter()
    with db.transaction() as conn:
        result = refresh.refresh(conn, bid, now)
    took = time.perf_counter() - began
    print(
        f"\nrefresh: {result.members_scored:,} members scored in {took:.1f} s "
        f"(model fitted: {result.model_fitted}; phases {result.seconds})"
    )
    with db.read() as conn:
        page = timed(
            lambda: (
                refresh.snapshot(conn, bid, "rfm"),
                refresh.snapshot(conn, bid, "clv"),
                top_members(conn, bid, 20),
            ),
            repeat,
        )
    print(f"customers page data (snapshots and top 20 by value): {page:.1f} ms")


if __name__ == "__main__":
    main()
