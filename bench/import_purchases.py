"""P2: batch import of purchases through the same engine and ledger.

Run: uv run python bench/import_purchases.py [--rows 1000000] [--members 10000]
         [--batch-size 10000] [--postgres URL] [--profile] [--json FILE]

Writes a CSV of `--rows` purchases (receipt, amount in cents, card number, date) for a demo
business with one points-per-euro rule, then, each in a fresh process so that its peak RSS is
its own: imports a tenth of the file and the whole file (`lealtad.imports.service`, as
`lealtad import purchases` does), and writes the same rows the import writes (purchase,
journal entry, lot, two postings, award) with a raw DBAPI executemany in 50k batches into a
fresh database, the reference. Prints rows/s, the ratio to the reference, and the peak RSS at
both sizes (flat memory: the two should be close). Targets: >= 100,000 purchases/s and
>= 0.5 of the reference. SQLite by default (fresh files); pass a postgresql+psycopg:// URL of
an empty database for PostgreSQL (the reference then uses a second business in it).
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parent))
from benchkit import BENCH_KEYS, row, write_json

from lealtad.db.engine import Database
from lealtad.db.migrate import upgrade
from lealtad.imports.model import PURCHASE_BATCH_SIZE
from lealtad.kit.clock import FixedClock
from lealtad.members.tables import members
from lealtad.rules.definition import points_per_currency_unit
from lealtad.tenancy import service as tenancy

SECRET = "bench-import-not-a-secret"
NOW = datetime(2026, 6, 1, tzinfo=UTC)
RAW_BATCH = 50_000


def setup(db: Database, count: int, name: str, program: Any = None) -> tuple[int, list[str]]:
    """A business with `count` members, enrolled straight into the table (enrolment's own speed
    is not what this measures); returns its id and the card numbers."""
    from lealtad.members import service as member_service
    from lealtad.members.schemas import MemberIn

    with db.transaction() as conn:
        bid = tenancy.create_business(
            conn,
            name=name,
            currency="EUR",
            timezone="Europe/Madrid",
            locale="es",
            # Its program in force before the year of sales the file holds: a sale dated before
            # a business's first program version is refused (D65).
            now=NOW - timedelta(days=400),
            program=program or points_per_currency_unit(Decimal(1)),
        )
        for i in range(count):
            member_service.enrol(conn, bid, MemberIn(name=f"M{i}"), channel="api", now=NOW)
        cards = list(
            conn.scalars(
                select(members.c.card_number)
                .where(members.c.business_id == bid)
                .order_by(members.c.id)
            )
        )
    return bid, cards


def write_csv(path: Path, cards: list[str], count: int) -> Path:
    start = NOW - timedelta(days=365)
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["receipt_id", "amount", "card_number", "occurred_at"])
        for n in range(count):
            at = start + timedelta(seconds=n * 31_536_000 // max(count, 1))
            out.writerow(
                [f"R{n:08d}", 100 + (n * 37) % 9000, cards[n % len(cards)], at.isoformat()]
            )
    return path


def child_import(url: str, bid: int, path: str, batch: int, profile: bool) -> dict[str, Any]:
    from lealtad.imports import service

    db = Database(url, keys=BENCH_KEYS)
    clock = FixedClock(NOW)
    started = time.perf_counter()
    if profile:
        import cProfile
        import pstats

        with cProfile.Profile() as profiler:
            done = service.import_purchases(
                db, bid, Path(path), secret_key=SECRET, clock=clock, batch_size=batch
            )
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    else:
        done = service.import_purchases(
            db, bid, Path(path), secret_key=SECRET, clock=clock, batch_size=batch
        )
    seconds = time.perf_counter() - started
    from lealtad.ledger.verify import verify

    with db.read() as conn:
        problems = verify(conn, bid)
    return {
        "seconds": seconds,
        "loaded": done.loaded,
        "rejected": done.rejected,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "verify": len(problems),
    }


def child_raw(url: str, bid: int, path: str) -> dict[str, Any]:
    """The reference: the rows the import writes per purchase, built from the file and sent
    with the driver's executemany in 50k batches, with ids chosen up front and no checks."""
    db = Database(url, keys=BENCH_KEYS)
    with db.read() as conn:
        cards = dict(
            conn.execute(
                select(members.c.card_number, members.c.id).where(members.c.business_id == bid)
            ).all()
        )
    started = time.perf_counter()
    raw = db.engine.raw_connection()
    cur = raw.cursor()
    # The engine leaves SQLite's driver in autocommit (SQLAlchemy sends BEGIN): do so here too,
    # or every row of an executemany would be a transaction of its own.
    begin = "BEGIN" if db.dialect == "sqlite" else "SELECT 1"
    cur.execute(begin)
    ph = "?" if db.dialect == "sqlite" else "%s"

    def q(table: str, cols: str) -> str:
        return f"INSERT INTO {table} ({cols}) VALUES ({', '.join([ph] * (cols.count(',') + 1))})"

    # Ids chosen up front above everything there, as a bulk loader that owns the table would.
    base = 1 + max(
        int(cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {t}").fetchone()[0])  # type: ignore[index]
        for t in ("purchases", "journal_entries", "ledger_lots", "journal_postings", "awards")
    )
    recorded = NOW.replace(tzinfo=None)
    cur.execute(
        f"SELECT key, id FROM ledger_accounts WHERE business_id = {int(bid)} AND code IN "
        "('points', 'issued')"
    )
    known = dict(cur.fetchall())
    issued = known.get("s:issued:points")
    if issued is None:
        cur.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM ledger_accounts")
        issued = int(cur.fetchone()[0])  # type: ignore[index]
        cur.execute(
            f"INSERT INTO ledger_accounts (id, business_id, key, code, unit, balance, "
            f"created_at) VALUES ({', '.join([ph] * 7)})",
            (issued, bid, "s:issued:points", "issued", "points", 0, recorded),
        )
    accounts = {m: known[f"m:{m}:points"] for m in cards.values() if f"m:{m}:points" in known}
    rows = 0
    with open(path, newline="") as f:
        reader = csv.reader(f)
        next(reader)
        while True:
            chunk = [r for _, r in zip(range(RAW_BATCH), reader, strict=False)]
            if not chunk:
                break
            sales, journal, lots, posts, awards = [], [], [], [], []
            for receipt, amount, card, at in chunk:
                rows += 1
                i = base + rows
                member = cards[card]
                when = datetime.fromisoformat(at).replace(tzinfo=None)
                points = int(amount) // 100
                sales.append(
                    (i, bid, receipt, member, "pos", int(amount), "EUR", "[]", 0, when, recorded)
                )
                journal.append(
                    (
                        i,
                        bid,
                        "earn",
                        f"purchase {receipt}: base",
                        member,
                        i,
                        "import:0",
                        when,
                        recorded,
                    )
                )
                lots.append((i, bid, accounts[member], i, points, points, i))
                posts.append((2 * i, bid, i, issued, "points", -points, None))
                posts.append((2 * i + 1, bid, i, accounts[member], "points", points, i))
                awards.append((i, bid, i, member, "base", 1, "points", points, "base", i, when))
            cur.executemany(
                q(
                    "purchases",
                    "id, business_id, receipt_id, member_id, channel, "
                    "amount, currency, items, refunded_amount, occurred_at, "
                    "recorded_at",
                ),
                sales,
            )
            cur.executemany(
                q(
                    "journal_entries",
                    "id, business_id, kind, memo, member_id, "
                    "purchase_id, actor, occurred_at, recorded_at",
                ),
                journal,
            )
            cur.executemany(
                q(
                    "ledger_lots",
                    "id, business_id, account_id, entry_id, amount, remaining, origin_purchase_id",
                ),
                lots,
            )
            cur.executemany(
                q(
                    "journal_postings",
                    "id, business_id, entry_id, account_id, unit, amount, lot_id",
                ),
                posts,
            )
            cur.executemany(
                q(
                    "awards",
                    "id, business_id, entry_id, member_id, rule_id, "
                    "program_version, unit, amount, reason, purchase_id, occurred_at",
                ),
                awards,
            )
            raw.commit()
            cur.execute(begin)
    if db.dialect == "postgresql":
        # Ids were chosen above the sequences: move them past, or the next import into this
        # database would be handed ids already taken.
        for table in ("purchases", "journal_entries", "ledger_lots", "journal_postings", "awards"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT MAX(id) FROM {table}))"
            )
    raw.commit()
    raw.close()
    return {
        "seconds": time.perf_counter() - started,
        "loaded": rows,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_child(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True
    )
    if out.returncode:
        sys.exit(f"{args[0]} failed:\n{out.stderr}")
    if "--profile" in args:
        print(out.stdout.split("@@RESULT@@")[0])
    return dict(json.loads(out.stdout.split("@@RESULT@@")[1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=PURCHASE_BATCH_SIZE)
    parser.add_argument("--postgres", "--database-url", dest="url", default="")
    parser.add_argument("--profile", action="store_true", help="the small import under cProfile")
    parser.add_argument("--json", help="write the run_all summary (bench/benchkit.py) here")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, url, bid, path, *rest = args.child
        if kind == "import":
            result = child_import(url, int(bid), path, int(rest[0]), args.profile)
        else:
            result = child_raw(url, int(bid), path)
        print("@@RESULT@@" + json.dumps(result))
        return
    work = Path(tempfile.mkdtemp(prefix="lealtad-import-bench-"))
    urls = [args.url] * 3 if args.url else [f"sqlite:///{work / f'{n}.db'}" for n in range(3)]
    figures: dict[str, dict[str, Any]] = {}
    small = max(args.rows // 10, 1)
    for n, (case, count) in enumerate([("small", small), ("large", args.rows), ("raw", 0)]):
        db = Database(urls[n], keys=BENCH_KEYS)
        upgrade(db)
        bid, cards = setup(db, args.members, f"Bench import {case} {time.time_ns()}")
        db.dispose()
        path = write_csv(work / f"{case}.csv", cards, count or args.rows)
        if case == "raw":
            figures[case] = run_child("raw", urls[n], str(bid), str(path))
        else:
            extra = ["--profile"] if args.profile and case == "small" else []
            figures[case] = run_child(
                "import", urls[n], str(bid), str(path), str(args.batch_size), *extra
            )
        figures[case]["rate"] = figures[case]["loaded"] / figures[case]["seconds"]
        print(case, json.dumps({k: round(v, 2) for k, v in figures[case].items()}), flush=True)
    rate, reference = figures["large"]["rate"], figures["raw"]["rate"]
    database = "PostgreSQL" if args.url else "SQLite"
    print(
        f"{database}: import {rate:,.0f} purchases/s ({figures['large']['loaded']:,} rows in "
        f"{figures['large']['seconds']:.1f} s), raw executemany {reference:,.0f}/s, ratio "
        f"{rate / reference:.2f}; peak RSS {figures['small']['rss_mb']:.0f} MB at {small:,} "
        f"rows, {figures['large']['rss_mb']:.0f} MB at {args.rows:,}; ledger verify problems: "
        f"{figures['large']['verify']}"
    )
    write_json(
        args.json,
        "P2",
        [
            row(f"{database}, import", rate, "purchases/s", ">= 100,000/s", rate / 100_000),
            row(
                f"{database}, import / raw executemany",
                rate / reference,
                "ratio",
                ">= 0.5",
                rate / reference / 0.5,
            ),
        ],
        [
            f"peak RSS {figures['small']['rss_mb']:.0f} MB at {small} rows, "
            f"{figures['large']['rss_mb']:.0f} MB at {args.rows} rows"
        ],
    )


if __name__ == "__main__":
    main()
