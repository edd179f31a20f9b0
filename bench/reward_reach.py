"""How long the owner's home takes to count members close to a reward live, by reading every
member account of the business (analytics/reward_reach.py): the figure behind LIVE_MEMBERS.

Each member holds points (0-150), cashback and, one in three, a 10-stamp card; the catalog has
a 100-point reward. Accounts are written straight into ledger_accounts (the count reads only
that table), so a million members take seconds to set up, not the dashboard bench's minutes.
SQLite only: `uv run python bench/reward_reach.py --members 50000 1000000`.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from benchkit import BENCH_KEYS
from sqlalchemy import insert

from lealtad.analytics import reward_reach
from lealtad.db.engine import Database
from lealtad.db.migrate import upgrade
from lealtad.kit.clock import naive_utc
from lealtad.rewards.tables import rewards
from lealtad.rules.definition import StampCard, points_per_currency_unit
from lealtad.rules.earn_rule import EarnRule, Stamps
from lealtad.tenancy import service as tenancy

BATCH = 50_000


def setup(db: Database, path: Path, members: int, now: datetime) -> int:
    program = points_per_currency_unit(Decimal(1))
    program = program.model_copy(
        update={
            "rules": [*program.rules, EarnRule(id="cup", name="Cup", action=Stamps(card="cup"))],
            "stamp_cards": [StampCard(id="cup", name="Cup", stamps_required=10, reward="free")],
        }
    )
    with db.transaction() as conn:
        bid = tenancy.create_business(
            conn,
            name=f"Reach {now.timestamp()}",
            currency="EUR",
            timezone="Europe/Madrid",
            locale="es",
            now=now,
            program=program,
        )
        conn.execute(
            insert(rewards).values(
                business_id=bid,
                slug="coffee",
                kind="free_product",
                title={"es": "Café", "en": "Coffee"},
                description={"es": "", "en": ""},
                cost_unit="points",
                cost=100,
                value=0,
                stock=None,
                limit_period="lifetime",
                visible_tiers=[],
                visible_segments=[],
                featured=False,
                voucher_days=30,
                on_expiry="lapse",
                active=True,
                rating_count=0,
                rating_total=0,
                created_at=naive_utc(now),
            )
        )
    rng = random.Random(7)
    stamp = naive_utc(now).isoformat(sep=" ")
    # Straight through sqlite3: the counted table alone, with no member rows behind the accounts
    # (foreign keys off, which SQLAlchemy's connection cannot switch outside a transaction).
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA foreign_keys = OFF")
    rows: list[tuple[object, ...]] = []
    sql = (
        "INSERT INTO ledger_accounts (business_id, key, member_id, code, unit, balance, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
    )
    for m in range(1, members + 1):
        held = [("points", rng.randint(0, 150)), ("cashback", rng.randint(0, 500))]
        if m % 3 == 0:
            held.append(("stamps.cup", rng.randint(0, 9)))
        rows.extend((bid, f"m:{m}:{code}", m, code, code, n, stamp) for code, n in held)
        if len(rows) >= BATCH:
            raw.executemany(sql, rows)
            rows = []
    raw.executemany(sql, rows)
    raw.commit()
    raw.close()
    return bid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, nargs="+", default=[50_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    now = datetime(2026, 11, 22, 12, tzinfo=UTC)
    for members in args.members:
        path = Path(tempfile.mkdtemp()) / "reach.db"
        db = Database(f"sqlite:///{path}", keys=BENCH_KEYS)
        upgrade(db)
        bid = setup(db, path, members, now)
        laps = []
        with db.read() as conn:
            for _ in range(args.repeat):
                started = time.perf_counter()
                found = reward_reach.measure(conn, bid, now)
                laps.append((time.perf_counter() - started) * 1000)
        print(
            f"{db.engine.dialect.name}, {members:,} members: {statistics.median(laps):.1f} ms "
            f"(close {found.close:,}, ready {found.ready:,})"
        )
        db.dispose()


if __name__ == "__main__":
    main()
