"""The issue's own steps, through the command line on both databases: a history imported newest
first with `lealtad import purchases` counts every visit day, `lealtad analytics refresh` then
finds customers who came back, and `lealtad analytics rebuild` changes nothing."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from lealtad.analytics.tables import member_stats
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock, SystemClock
from tests.integration import test_as_of
from tests.support import make_shop

MEMBERS = 24
cli = test_as_of.cli  # the fixture running `lealtad ...` on the test's database


def _figures(db: Database, business_id: int) -> dict[int, tuple[Any, ...]]:
    ms = member_stats.c
    with db.read() as conn:
        rows = conn.execute(
            select(ms.member_id, ms.visit_days, ms.last_day, ms.purchases, ms.spend).where(
                ms.business_id == business_id
            )
        ).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def test_a_history_imported_newest_first_counts_every_visit(
    db: Database, clock: FixedClock, cli: Any, tmp_path: Path
) -> None:
    # The command's clock is the real one: the history ends before it.
    start = min(clock.now(), SystemClock().now() - timedelta(days=250))
    shop = make_shop(db, start, members_count=MEMBERS, with_staff=False)
    rng = random.Random(19)
    rows, days_of = [], {}
    for member in shop.members:
        days = sorted(rng.sample(range(1, 200), rng.randint(1, 5)))
        days_of[member] = len(days)
        for day in days:
            at = start + timedelta(days=day)
            rows.append(
                {
                    "receipt_id": f"R{member}-{day}",
                    "amount": rng.randint(500, 5_000),
                    "currency": "EUR",
                    "member_id": member,
                    "occurred_at": at.isoformat(),
                }
            )
    rows.sort(key=lambda r: r["occurred_at"], reverse=True)
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    done = cli("import", "purchases", str(path), "--business", shop.slug, "--quiet")

    assert done.exit_code == 0, done.output
    figures = _figures(db, shop.id)
    assert {m: figures[m][0] for m in shop.members} == days_of
    refreshed = cli("analytics", "refresh", "--business", shop.slug)
    assert refreshed.exit_code == 0, refreshed.output
    assert "come back" not in refreshed.output
    rebuilt = cli("analytics", "rebuild", "--business", shop.slug)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert _figures(db, shop.id) == figures
