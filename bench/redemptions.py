"""P4: concurrent redemptions across members, and the count of double spends and oversells.

Run: uv run python bench/redemptions.py [--members 2000] [--threads 8] [--postgres URL]
     [--via api|direct|writer|writer-async|writer-alone|direct,writer] [--rounds N] [--json FILE]
On SQLite by default (a fresh file); pass a postgresql+psycopg:// URL for PostgreSQL (the
database must exist and be empty or migrated). --json writes the summary run_all collects.
Target: zero double spends and zero oversells; >= 1,000 redemptions/s across members
(architecture.md, P4).

--via says how each attempt is written: `direct`, each in its own transaction from its thread
(the route before it handed redemptions to the group-commit writer); `writer`, handed to the
process's group-commit writer (db/group_commit.py) with the batch steps the route takes, written
set-wise with its neighbours (rewards/setwise.py); `writer-alone`, the same with each redemption
in its own savepoint (the writer before set-wise redemptions); `writer-async`, handed to the
writer as the route hands it, from an event loop with `--threads` attempts in flight and no
thread waiting for each; `api`
(the default), what `POST /members/{id}/redemptions` does on this database (the writer where
group commit is on: SQLite by default). Several variants run interleaved, `--rounds` times each,
on a fresh business per run, and the medians are compared in the same run."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchkit import BENCH_KEYS, row, write_json
from sqlalchemy import Connection, event, func, select

from lealtad.db import group_commit
from lealtad.db.engine import Database
from lealtad.db.migrate import upgrade
from lealtad.errors import Conflict
from lealtad.ledger import adjustments
from lealtad.ledger.tables import accounts
from lealtad.ledger.verify import verify
from lealtad.members import service as members
from lealtad.members.schemas import MemberIn
from lealtad.purchases.batch_steps import once_per_batch
from lealtad.rewards import redemption, service, setwise
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


def run_once(db: Database, args: argparse.Namespace, via: str) -> dict[str, Any]:
    """One business, every member trying three redemptions at once, written `via` one way."""
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

        def write(conn: Connection) -> None:
            redemption.redeem(conn, principal, member, reward_id, now)

        try:
            if via in ("writer", "writer-alone"):
                # As the route hands it over: written set-wise with its neighbours, or (for the
                # comparison) each in its own savepoint as before.
                asked = setwise.Asked(principal, member, reward_id, now)
                together = group_commit.Together(setwise.redeem_all, asked)
                chosen = together if via == "writer" else None
                group_commit.writer_for(db).submit(bid, write, once_per_batch, chosen).result()
            else:
                with db.transaction() as conn:
                    write(conn)
            outcome = "ok"
        except Conflict as exc:
            outcome = exc.code
        with lock:
            results[outcome] += 1

    # The statements the attempts send (the setup's are on the main thread and not counted).
    sent = [0]

    def count(*_: Any) -> None:
        if threading.current_thread() is not threading.main_thread():
            sent[0] += 1

    event.listen(db.engine, "before_cursor_execute", count)
    started, cpu_started = time.perf_counter(), time.process_time()
    if args.profile:
        # One thread under cProfile: where a single redemption's time goes.
        import cProfile
        import pstats

        with cProfile.Profile() as profiler:
            for job in attempts:
                attempt(job)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    elif via == "writer-async":
        asyncio.run(_from_a_loop(db, bid, principal, attempts, now, args.threads, results))
    else:
        with ThreadPoolExecutor(max_workers=args.threads) as pool:
            list(pool.map(attempt, attempts))
    elapsed = time.perf_counter() - started
    # This process's CPU per attempt (all threads; SQLite runs in-process, a PostgreSQL server's
    # share is not in it): steadier than the rate on a machine that other work keeps busy.
    cpu_ms = (time.process_time() - cpu_started) * 1000 / len(attempts)
    event.remove(db.engine, "before_cursor_execute", count)
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
        # Each member can afford exactly two redemptions: more than two is a double spend.
        per_member = Counter(
            dict(
                conn.execute(
                    select(vouchers.c.member_id, func.count())
                    .where(vouchers.c.business_id == bid)
                    .group_by(vouchers.c.member_id)
                ).all()
            )
        )
    return {
        "via": via,
        "rate": results["ok"] / elapsed,
        "attempts_rate": len(attempts) / elapsed,
        "cpu_ms": cpu_ms,
        "statements": sent[0] / len(attempts),
        "outcomes": dict(results),
        "double_spends": sum(1 for c in per_member.values() if c > 2) + int(negative),
        "oversold": max(0, issued.get(scarce, 0) - 50),
        "problems": len(problems),
    }


async def _from_a_loop(
    db: Database,
    bid: int,
    principal: Principal,
    attempts: list[tuple[int, int]],
    now: datetime,
    callers: int,
    results: Counter[str],
) -> None:
    """The attempts made as the route makes them: from an event loop, `callers` at a time (as
    many requests in flight as the threads of the other ways), each awaiting the writer's answer
    without a thread of its own (`group_commit.committed`, what `POST .../redemptions` awaits)."""
    pending = iter(attempts)

    async def caller() -> None:
        for member, reward_id in pending:

            def write(conn: Connection, member: int = member, reward_id: int = reward_id) -> None:
                redemption.redeem(conn, principal, member, reward_id, now)

            asked = setwise.Asked(principal, member, reward_id, now)
            together = group_commit.Together(setwise.redeem_all, asked)
            try:
                await group_commit.committed(db, bid, write, once_per_batch, together)
                results["ok"] += 1
            except Conflict as exc:
                results[exc.code] += 1

    await asyncio.gather(*(caller() for _ in range(callers)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--postgres", "--database-url", dest="url", default="")
    parser.add_argument("--via", default="api", help="api, direct, writer, or a comma list")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each variant, interleaved")
    parser.add_argument("--profile", action="store_true", help="one thread under cProfile")
    parser.add_argument("--json", help="write the run_all summary (bench/benchkit.py) here")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    db = Database(url, keys=BENCH_KEYS)
    upgrade(db)
    # The route hands redemptions to the writer set-wise (rewards/setwise.py).
    api_way = "writer" if group_commit.enabled(db, setwise=True) else "direct"
    variants = [api_way if v == "api" else v for v in args.via.split(",")]
    runs = [run_once(db, args, via) for _ in range(args.rounds) for via in variants]
    print(
        f"database: {db.dialect}; members {args.members}; threads {args.threads}; "
        f"attempts {3 * args.members} per run; the API writes via: {api_way}"
    )
    medians: dict[str, dict[str, float]] = {}
    for via in dict.fromkeys(variants):
        mine = [r for r in runs if r["via"] == via]
        keys = ("rate", "cpu_ms", "statements")
        medians[via] = {key: statistics.median(r[key] for r in mine) for key in keys}
        for r in mine:
            print(
                f"  {via:>6}: {r['rate']:,.0f} redemptions/s; attempts/s {r['attempts_rate']:,.0f};"
                f" CPU per attempt {r['cpu_ms']:.2f} ms; statements per attempt "
                f"{r['statements']:.1f}; outcomes {r['outcomes']}; double spends "
                f"{r['double_spends']}; oversold {r['oversold']}; ledger problems {r['problems']}"
            )
        print(
            f"{via}: median {medians[via]['rate']:,.0f} redemptions/s, "
            f"{medians[via]['cpu_ms']:.2f} ms CPU per attempt, "
            f"{medians[via]['statements']:.1f} statements per attempt"
        )
    if len(medians) > 1:
        base, *others = list(medians)
        for via in others:
            rate = medians[via]["rate"] / medians[base]["rate"]
            cpu = medians[via]["cpu_ms"] / medians[base]["cpu_ms"]
            print(f"{via} / {base}: rate {rate:.2f}x, CPU per attempt {cpu:.2f}x")
    headline = medians[variants[0]]
    double_spends = sum(r["double_spends"] for r in runs)
    oversold = sum(r["oversold"] for r in runs)
    problems = sum(r["problems"] for r in runs)
    print(f"double spends: {double_spends}; oversold: {oversold}; ledger problems: {problems}")
    print(f"target >= 1,000 redemptions/s: ratio {headline['rate'] / 1000:.2f} ({variants[0]})")
    case = f"{db.dialect}, {args.threads} threads, {args.members} members, via {variants[0]}"
    write_json(
        args.json,
        "P4",
        [
            row(case, headline["rate"], "redemptions/s", ">= 1,000/s", headline["rate"] / 1000),
            row(f"{case}: process CPU per attempt", headline["cpu_ms"], "ms", "", None),
            row(f"{case}: double spends + oversold", double_spends + oversold, "count", "0", None),
        ],
        [f"outcomes: {[r['outcomes'] for r in runs]}", f"ledger problems: {problems}"],
    )


if __name__ == "__main__":
    main()
