"""P2 for programs whose earning threads state from sale to sale: one import path for all (D81).

Run: uv run python bench/import_programs.py [--rows 3000] [--members 300] [--rounds 3]
         [--postgres URL]
Imports the same file (`bench/import_purchases.py`'s rows: receipt, amount, card, a date spread
over a year) into a fresh business, for two programs:
  points   one point per euro, the program the import could always write set-wise;
  threaded a coffee stamp card of 5, points per euro capped per day, 10 points every third
           visit, and tiers by yearly spend with multipliers: before D81 every row of such a
           program went through the API's service one by one;
and each two ways, alternating round after round: `set-wise` (the batch's earn path,
purchases/planned.py) and `one by one` (LEALTAD_SETWISE=0: every member's row through
`purchases.service.record`, as a threaded program's rows were imported before). Prints, per
program and way, the medians of rows/s, CPU per row (this process, SQLite included) and SQL
statements per row, the ratio of the two ways, and whether both ends hold the same balances and
tiers (member by member) with `ledger verify` clean. A fresh SQLite file per run unless
--postgres names an empty database (each run then uses a business of its own in it)."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import event, select

sys.path.insert(0, str(Path(__file__).parent))
from benchkit import BENCH_KEYS
from import_purchases import NOW, SECRET, setup, write_csv

from lealtad.db.engine import Database
from lealtad.db.migrate import upgrade
from lealtad.imports import service
from lealtad.kit.clock import FixedClock
from lealtad.ledger.tables import accounts
from lealtad.ledger.verify import verify
from lealtad.rules.definition import (
    ProgramDefinition,
    StampCard,
    Tier,
    TierPolicy,
    TierWindow,
    points_per_currency_unit,
)
from lealtad.rules.earn_rule import Cap, Conditions, EarnRule, FixedPoints, PointsPerUnit, Stamps
from lealtad.tiers.tables import tier_status

THREADED = ProgramDefinition(
    tiers=TierPolicy(
        metric="spend",
        window=TierWindow(kind="calendar", period="year"),
        levels=[
            Tier(id="bronze", name="Bronze", threshold=Decimal(0)),
            Tier(id="silver", name="Silver", threshold=Decimal(50_000), multiplier=Decimal(2)),
            Tier(id="gold", name="Gold", threshold=Decimal(150_000), multiplier=Decimal(3)),
        ],
    ),
    rules=[
        EarnRule(
            id="base",
            name="Points",
            action=PointsPerUnit(rate=Decimal(1)),
            caps=[Cap(period="day", max_units=60)],
        ),
        EarnRule(id="coffee", name="Coffee stamp", action=Stamps(card="coffee")),
        EarnRule(
            id="third",
            name="Every third visit",
            action=FixedPoints(points=10),
            conditions=Conditions(every_nth_visit=3),
        ),
    ],
    stamp_cards=[StampCard(id="coffee", name="Coffee card", stamps_required=5, reward="cup")],
)
PROGRAMS = {"points": points_per_currency_unit(Decimal(1)), "threaded": THREADED}
WAYS = {"set-wise": "1", "one by one": "0"}


def standing(db: Database, bid: int) -> list[Any]:
    """Balances and tiers, member by member (numbered from the business's first)."""
    with db.read() as conn:
        held = conn.execute(
            select(accounts.c.member_id, accounts.c.code, accounts.c.balance)
            .where(accounts.c.business_id == bid, accounts.c.member_id.is_not(None))
            .order_by(accounts.c.member_id, accounts.c.code)
        ).all()
        tiers = conn.execute(
            select(tier_status.c.member_id, tier_status.c.tier_id)
            .where(tier_status.c.business_id == bid)
            .order_by(tier_status.c.member_id)
        ).all()
    first = min((m for m, *_ in held), default=0)
    return [(m - first, c, b) for m, c, b in held] + [(m - first, t) for m, t in tiers]


def run(url: str, program: str, way: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    db = Database(url, keys=BENCH_KEYS)
    upgrade(db)
    bid, cards = setup(db, args.members, f"Bench programs {time.time_ns()}", PROGRAMS[program])
    path = write_csv(work / f"{program}-{time.time_ns()}.csv", cards, args.rows)
    sent = [0]

    def count(*_: Any) -> None:
        sent[0] += 1

    event.listen(db.engine, "before_cursor_execute", count)
    os.environ["LEALTAD_SETWISE"] = WAYS[way]
    started, cpu = time.perf_counter(), time.process_time()
    done = service.import_purchases(db, bid, path, secret_key=SECRET, clock=FixedClock(NOW))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    os.environ.pop("LEALTAD_SETWISE")
    event.remove(db.engine, "before_cursor_execute", count)
    with db.read() as conn:
        problems = len(verify(conn, bid))
    result = {
        "rate": done.loaded / seconds,
        "cpu_ms": cpu * 1000 / args.rows,
        "statements": sent[0] / args.rows,
        "loaded": done.loaded,
        "problems": problems,
        "standing": standing(db, bid),
    }
    db.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", default="", help="an empty PostgreSQL database")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lealtad-import-programs-"))
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    n = 0
    for round_no in range(args.rounds):
        ways = list(WAYS) if round_no % 2 == 0 else list(reversed(WAYS))
        for program in PROGRAMS:
            for way in ways:
                n += 1
                url = args.postgres or f"sqlite:///{work / f'{n}.db'}"
                runs.setdefault((program, way), []).append(run(url, program, way, args, work))
    database = "PostgreSQL" if args.postgres else "SQLite"
    print(f"{database}, {args.rows:,} rows over {args.members} members, medians of {args.rounds}")
    print("| program | way | rows/s | CPU per row | statements per row | / one by one |")
    print("|---|---|---|---|---|---|")
    for program in PROGRAMS:
        median = {
            way: {
                k: statistics.median(r[k] for r in runs[program, way])
                for k in ("rate", "cpu_ms", "statements")
            }
            for way in WAYS
        }
        for way in WAYS:
            m = median[way]
            ratio = m["cpu_ms"] / median["one by one"]["cpu_ms"]
            print(
                f"| {program} | {way} | {m['rate']:,.0f} | {m['cpu_ms']:.2f} ms | "
                f"{m['statements']:.1f} | {ratio:.2f} of the CPU |"
            )
        same = all(
            r["standing"] == runs[program, "one by one"][0]["standing"]
            for way in WAYS
            for r in runs[program, way]
        )
        problems = sum(r["problems"] for way in WAYS for r in runs[program, way])
        loaded = {r["loaded"] for way in WAYS for r in runs[program, way]}
        print(
            f"  {program}: same balances and tiers both ways: {same}; rows loaded {loaded}; "
            f"ledger verify problems {problems}"
        )


if __name__ == "__main__":
    main()
