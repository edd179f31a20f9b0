"""P4: concurrent redemptions across members, and the count of double spends and oversells.

Run: uv run python bench/redemptions.py [--members 2000] [--threads 8] [--postgres URL]
     [--json FILE]
On SQLite by default (a fresh file); pass a postgresql+psycopg:// URL for PostgreSQL (the
database must exist and be empty or migrated). --json writes the summary run_all collects. Target: zero double spends and zero oversells;
>= 1,000 redemptions/s across members (architecture.md, P4)."""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from benchkit import BENCH_KEYS, row, write_json
from sqlalchemy import func, select

from lealtad.db.engine import Database
from lealtad.db.migrate import upgrade
from lealtad.errors import Conflict
from lealtad.ledger import adjustments
from lealtad.ledger.tables import accounts
from lealtad.ledger.verify import verify
from lealtad.members import service as members
from lealtad.members.schemas import MemberIn
from lealtad.rewards import redemption, service
from lealtad.rewards.schemas import RewardIn
from lealtad.rewards.tables import vouchers
from lealtad.rules.definition import ProgramDefinition
from lealtad.tenancy import service as tenancy
from lealtad.tenancy.model import Principal, Role

COST = 100


def setup(db: Database, count: int, now: datetime) -> tuple[int, list[int], int, int]:
    with db.transaction() as conn:
        bid = tenancy.create_business(
            conn,
            name=f"Bench {now.timestamp()}",
            currency="EUR",
            timezone="Europe/Madrid",
            locale="es",
            now=now,
            # Earns nothing: the members' points come from the adjustments below.
            program=ProgramDefinition(name="Bench"),
        )
        people = []
        for i in range(count):
            member = members.enrol(conn, bid, MemberIn(name=f"B{i}"), channel="api", now=now)
            # Enough for two redemptions and a bit: each member tries three times.
            adjustments.adjust(
                conn,
                bid,
                member,
                unit="points",
                amount=2 * COST + 50,
                reason="bench",
                actor="bench",
                now=now,
            )
            people.append(member)
        plenty = service.create(
            conn,
            bid,
            RewardIn.model_validate(
                {
                    "slug": "coffee",
                    "kind": "free_product",
                    "sku": "LAT",
                    "title": {"es": "Café", "en": "Coffee"},
                    "cost": COST,
                }
            ),
            now,
        )
        scarce = service.create(
            conn,
            bid,
            RewardIn.model_validate(
                {
                    "slug": "mug",
                    "kind": "physical_gift",
                    "title": {"es": "Taza", "en": "Mug"},
                    "cost": COST,
                    "stock": 50,
                }
            ),
            now,
        )
    return bid, people, plenty, scarce


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--postgres", "--database-url", dest="url", default="")
    parser.add_argument("--profile", action="store_true", help="one thread under cProfile")
    parser.add_argument("--json", help="write the run_all summary (bench/benchkit.py) here")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    db = Database(url, keys=BENCH_KEYS)
    upgrade(db)
    now = datetime.now(UTC)
    bid, people, plenty, scarce = setup(db, args.members, now)
    principal = Principal(bid, Role.staff)
    # Each member tries the plentiful reward twice and the scarce one once, all at once.
    attempts = (
        [(m, plenty) for m in people]
        + [(m, scarce) for m in people]
        + [(m, plenty) for m in people]
    )
    results: Counter[str] = Counter()
    lock = threading.Lock()

    def attempt(job: tuple[int, int]) -> None:
        member, reward_id = job
        try:
            with db.transaction() as conn:
                redemption.redeem(conn, principal, member, reward_id, now)
            outcome = "ok"
        except Conflict as exc:
            outcome = exc.code
        with lock:
            results[outcome] += 1

    started, cpu_started = time.perf_counter(), time.process_time()
    if args.profile:
        # One thread under cProfile: where a single redemption's time goes.
        import cProfile
        import pstats

        with cProfile.Profile() as profiler:
            for job in attempts:
                attempt(job)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    else:
        with ThreadPoolExecutor(max_workers=args.threads) as pool:
            list(pool.map(attempt, attempts))
    elapsed = time.perf_counter() - started
    # This process's CPU per attempt (all threads; SQLite runs in-process, a PostgreSQL server's
    # share is not in it): steadier than the rate on a machine that other work keeps busy.
    cpu_ms = (time.process_time() - cpu_started) * 1000 / len(attempts)
    with db.read() as conn:
        issued = dict(
            conn.execute(
                select(vouchers.c.reward_id, func.count())
                .where(vouchers.c.business_id == bid)
                .group_by(vouchers.c.reward_id)
            ).all()
        )
        negative = conn.execute(
            select(func.count()).where(accounts.c.business_id == bid, accounts.c.balance < 0)
        ).scalar_one()
        problems = verify(conn, bid)
    # Each member can afford exactly two redemptions: more than two vouchers is a double spend.
    per_member = Counter()
    with db.read() as conn:
        for member_id, count in conn.execute(
            select(vouchers.c.member_id, func.count())
            .where(vouchers.c.business_id == bid)
            .group_by(vouchers.c.member_id)
        ):
            per_member[member_id] = count
    double_spends = sum(1 for c in per_member.values() if c > 2) + int(negative)
    oversold = max(0, issued.get(scarce, 0) - 50)
    print(
        f"database: {db.dialect}; members {args.members}; threads {args.threads}; attempts {len(attempts)}"
    )
    print(f"outcomes: {dict(results)}")
    print(
        f"P4 redemptions/s across members: {results['ok'] / elapsed:,.0f} ({results['ok']} in {elapsed:.2f}s); attempts/s {len(attempts) / elapsed:,.0f}"
    )
    print(f"process CPU per attempt: {cpu_ms:.2f} ms")
    print(f"double spends: {double_spends}; oversold: {oversold}; ledger problems: {len(problems)}")
    rate = results["ok"] / elapsed
    print(f"target >= 1,000 redemptions/s: ratio {rate / 1000:.2f}")
    case = f"{db.dialect}, {args.threads} threads, {args.members} members"
    write_json(
        args.json,
        "P4",
        [
            row(case, rate, "redemptions/s", ">= 1,000/s", rate / 1000),
            row(f"{case}: process CPU per attempt", cpu_ms, "ms", "", None),
            row(f"{case}: double spends + oversold", double_spends + oversold, "count", "0", None),
        ],
        [f"outcomes: {dict(results)}", f"ledger problems: {len(problems)}"],
    )


if __name__ == "__main__":
    main()
