"""Where a purchase and a redemption spend their time, in-process and on one thread (no HTTP):
SQL statements per operation, CPU time per operation, and optionally a cProfile.

Run: uv run python bench/hot_paths.py [--purchases 400] [--redemptions 400] [--show-sql]
     [--profile purchase|redemption] [--postgres URL] [--batch 64] [--template gem-tiers]
With --batch N the purchases are also recorded N to a transaction, each in its own savepoint, as
the API's group commit writes them, with the batch's once-only steps (configuration pin, summed
counters, outbox in one executemany) taken per purchase and once per batch, alternating for
--rounds rounds: CPU and statements per purchase, and per table.
A fresh SQLite file (or an empty PostgreSQL database) with the demo business and its program
(the coffee shop's stamp card unless --template names another demo template).
The figures are what P1 (purchases through HTTP) and P4 (redemptions) pay per operation before
the HTTP layer and the lock queue: the lower bound of their cost."""

from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import statistics
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchkit import BENCH_KEYS
from sqlalchemy import event

from lealtad.db.engine import Database
from lealtad.db.migrate import upgrade
from lealtad.demo import seed as demo_seed
from lealtad.ledger import adjustments
from lealtad.members import service as members
from lealtad.members.schemas import MemberIn
from lealtad.purchases import service as purchases
from lealtad.purchases import setwise
from lealtad.purchases.batch_steps import once_per_batch
from lealtad.purchases.schemas import PurchaseIn
from lealtad.rewards import redemption
from lealtad.rewards import service as rewards
from lealtad.rewards.schemas import RewardIn
from lealtad.tenancy import service as tenancy
from lealtad.tenancy.model import Principal, Role

SECRET = "bench-hot-paths"
# The table a statement touches: the first FROM/INTO/UPDATE target (joins are rare on this path).
_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", re.IGNORECASE)


class Statements:
    """Counts the statements the engine sends, by their first words."""

    def __init__(self, db: Database) -> None:
        self.count = 0
        self.kinds: Counter[str] = Counter()
        self.tables: Counter[str] = Counter()
        self.show = False
        event.listen(db.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        self.count += 1
        words = " ".join(statement.split()[:4])
        self.kinds[words] += 1
        found = _TABLE.search(statement)
        verb = statement.split(None, 1)[0].upper() if statement.strip() else "?"
        self.tables[f"{verb} {found.group(1) if found else '-'}"] += 1
        if self.show:
            print("   ", " ".join(statement.split())[:160])


def setup(
    db: Database, members_count: int, now: datetime, template: str = "coffee-stamps"
) -> tuple[Principal, list[int], int]:
    info = demo_seed(db, now, template=template)
    bid = info.business_id
    ids = list(info.member_ids)
    with db.transaction() as conn:
        for i in range(len(ids), members_count):
            ids.append(members.enrol(conn, bid, MemberIn(name=f"H{i}"), channel="api", now=now))
        for mid in ids:
            adjustments.adjust(
                conn,
                bid,
                mid,
                unit="points",
                amount=100_000,
                reason="bench",
                actor="bench",
                now=now,
            )
        reward = rewards.create(
            conn,
            bid,
            RewardIn.model_validate(
                {
                    "slug": "hot-path-coffee",
                    "kind": "free_product",
                    "sku": "HOT",
                    "title": {"es": "Café", "en": "Coffee"},
                    "cost": 10,
                }
            ),
            now,
        )
    principal = Principal(business_id=bid, role=Role.owner)
    return principal, ids, reward


def run(label: str, ops: list[Any], db: Database, stmts: Statements, show: bool) -> None:
    cpu: list[float] = []
    counts: list[int] = []
    for i, op in enumerate(ops):
        stmts.show = show and i == len(ops) - 1
        before, start = stmts.count, time.process_time()
        op()
        cpu.append(time.process_time() - start)
        counts.append(stmts.count - before)
    print(
        f"{label}: {len(ops)} on one thread; CPU per operation median "
        f"{statistics.median(cpu) * 1000:.2f} ms, mean {statistics.fmean(cpu) * 1000:.2f} ms; "
        "SQL statements per operation median "
        f"{statistics.median(counts):.0f} (min {min(counts)}, max {max(counts)})"
    )


def per_table(label: str, stmts: Statements, operations: int) -> None:
    """Statements per operation, by verb and table, over the last run."""
    print(f"{label}: statements per operation by table")
    for key, n in sorted(stmts.tables.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {n / operations:6.2f}  {key}")
    stmts.tables.clear()


def in_batches(
    size: int, ops: list[Any], db: Database, stmts: Statements, label: str, around: Any = None
) -> float:
    """The purchases `size` to a transaction, each in a savepoint: the group commit's shape. With
    `around` (the API's `once_per_batch`), the steps a batch takes once are taken once."""
    before, cpu = stmts.count, time.process_time()
    for start in range(0, len(ops), size):
        with db.transaction() as conn, ExitStack() as steps:
            if around is not None:
                steps.enter_context(around(conn))
            for op in ops[start : start + size]:
                with conn.begin_nested():
                    op(conn)
    cpu = time.process_time() - cpu
    print(
        f"purchase in batches of {size}, {label}: {len(ops)}; CPU per purchase "
        f"{cpu / len(ops) * 1000:.2f} ms; SQL statements per purchase "
        f"{(stmts.count - before) / len(ops):.1f}"
    )
    return cpu / len(ops)


def in_setwise_batches(
    size: int, asked: list[Any], db: Database, stmts: Statements, label: str
) -> float:
    """The purchases `size` to a transaction as the API's group commit writes them now: set-wise
    (purchases/setwise.py), each one it leaves alone through `record` in its savepoint."""
    before, cpu = stmts.count, time.process_time()
    for start in range(0, len(asked), size):
        chunk = asked[start : start + size]
        bid = chunk[0].principal.business_id
        with db.transaction() as conn, once_per_batch(conn, bid):

            def alone(n: int, conn: Any = conn, chunk: list[Any] = chunk) -> Any:
                a = chunk[n]
                with conn.begin_nested():
                    return True, purchases.record(
                        conn, a.principal, a.data, secret_key=a.secret_key, now=a.now
                    )

            setwise.record_all(conn, bid, chunk, alone)
    cpu = time.process_time() - cpu
    print(
        f"purchase in batches of {size}, {label}: {len(asked)}; CPU per purchase "
        f"{cpu / len(asked) * 1000:.2f} ms; SQL statements per purchase "
        f"{(stmts.count - before) / len(asked):.1f}"
    )
    return cpu / len(asked)


def on_threads(threads: int, ops: list[Any]) -> None:
    """The same purchases from several threads of one process: what the queue on the writer lock
    and the GIL add to each purchase's CPU, without HTTP."""
    cpu, wall = time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for done in [pool.submit(op) for op in ops]:
            done.result()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        f"purchase: {len(ops)} on {threads} threads; process CPU per operation "
        f"{cpu / len(ops) * 1000:.2f} ms, {len(ops) / wall:,.0f} /s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--purchases", type=int, default=400)
    parser.add_argument("--redemptions", type=int, default=400)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument(
        "--template", default="coffee-stamps", help="the demo business's program (gem-tiers: tiers)"
    )
    parser.add_argument("--postgres", metavar="URL", help="an empty PostgreSQL database")
    parser.add_argument("--show-sql", action="store_true", help="print the last one's statements")
    parser.add_argument("--profile", choices=["purchase", "redemption"])
    parser.add_argument(
        "--batch", type=int, default=0, help="then purchases again, this many per transaction"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the --batch comparison")
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="then purchases again on this many threads at once, as the server's thread pool runs them",
    )
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="lealtad-hot-")
    url = args.postgres or f"sqlite:///{Path(folder) / 'hot.db'}"
    db = Database(url, keys=BENCH_KEYS)
    upgrade(db)
    now = datetime.now(UTC)
    principal, ids, reward = setup(db, args.members, now, args.template)
    with db.read() as conn:
        currency = tenancy.get_business(conn, principal.business_id).currency
    stmts = Statements(db)

    def purchase_body(i: int) -> PurchaseIn:
        # The body bench/purchases_http.py sends: a latte (stamps) and a croissant.
        return PurchaseIn.model_validate(
            {
                "receipt_id": f"hot-{i}",
                "amount": 440,
                "currency": currency,
                "member_id": ids[i % len(ids)],
                "items": [
                    {"sku": "LAT", "category": "drinks", "unit_price": 290},
                    {"sku": "CRO", "category": "bakery", "unit_price": 150},
                ],
            }
        )

    def purchase(i: int) -> Any:
        body = purchase_body(i)

        def op() -> None:
            with db.transaction() as conn:
                purchases.record(conn, principal, body, secret_key=SECRET, now=datetime.now(UTC))

        return op

    def purchase_in(i: int) -> Any:
        body = purchase_body(i)

        def op(conn: Any) -> None:
            purchases.record(conn, principal, body, secret_key=SECRET, now=datetime.now(UTC))

        return op

    def redeem(i: int) -> Any:
        def op() -> None:
            with db.transaction() as conn:
                redemption.redeem(conn, principal, ids[i % len(ids)], reward, datetime.now(UTC))

        return op

    jobs = {
        "purchase": [purchase(i) for i in range(args.purchases)],
        "redemption": [redeem(i) for i in range(args.redemptions)],
    }
    if args.profile:
        with cProfile.Profile() as profiler:
            for op in jobs[args.profile]:
                op()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        return
    for label, ops in jobs.items():
        stmts.tables.clear()
        run(label, ops, db, stmts, args.show_sql)
        per_table(label, stmts, len(ops))
    if args.batch:
        # Per purchase and once per batch alternate, on fresh receipts each round.
        def batch_steps(conn: Any) -> Any:
            return once_per_batch(conn, principal.business_id)

        offset = 2 * args.purchases
        cpu: dict[str, list[float]] = {"per purchase": [], "once per batch": [], "set-wise": []}
        for round_ in range(args.rounds):
            for label, around in (
                ("per purchase", None),
                ("once per batch", batch_steps),
                ("set-wise", None),
            ):
                if label == "set-wise":
                    asked = [
                        setwise.Asked(
                            principal, purchase_body(offset + i), SECRET, datetime.now(UTC), None
                        )
                        for i in range(args.purchases)
                    ]
                    cpu[label].append(in_setwise_batches(args.batch, asked, db, stmts, label))
                else:
                    ops = [purchase_in(offset + i) for i in range(args.purchases)]
                    cpu[label].append(in_batches(args.batch, ops, db, stmts, label, around))
                offset += args.purchases
                if round_ == args.rounds - 1:
                    per_table(
                        f"purchase in batches of {args.batch}, {label}", stmts, args.purchases
                    )
                stmts.tables.clear()
        per = statistics.median(cpu["per purchase"])
        for label in ("once per batch", "set-wise"):
            ratio = statistics.median(cpu[label]) / per
            print(f"{label} / per purchase, CPU per purchase (medians): {ratio:.2f}")
    if args.threads:
        on_threads(args.threads, [purchase(args.purchases + i) for i in range(args.purchases)])
    print("statements by kind over the run:")
    for words, n in stmts.kinds.most_common(40):
        print(f"  {n:6d}  {words}")
    db.dispose()


if __name__ == "__main__":
    main()
