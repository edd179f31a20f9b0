"""Property test: the same purchases recorded in date order and in any other order, one by one
through the service or in batches and runs through the importer, give the same member figures,
dashboard counters and visits; and `lealtad analytics rebuild` after a shuffled import gives
what recording in order gave."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from lealtad.analytics.rebuild import rebuild
from lealtad.analytics.tables import counters, member_stats
from lealtad.db.engine import Database
from lealtad.imports import service as imports
from lealtad.kit.clock import FixedClock
from lealtad.purchases import service as purchases
from lealtad.purchases.schemas import PurchaseIn
from tests.conftest import SECRET
from tests.support import Shop, make_shop

MEMBERS = 3
FIGURES = (
    "enrolled_on",
    "first_purchase_at",
    "last_purchase_at",
    "last_day",
    "purchases",
    "visit_days",
    "spend",
    "retention_mask",
)

# (member index or None for an anonymous sale, days after enrolment, hour in UTC, amount,
# location): hours around midnight in Madrid put two sales of one UTC day on two local days and
# back; a visit counts where the day's (week's, month's) earliest purchase was made. No two
# sales share a minute: a tie in time keeps the visit where it was counted first.
sales = st.lists(
    st.tuples(
        st.one_of(st.none(), st.integers(min_value=0, max_value=MEMBERS - 1)),
        st.integers(min_value=0, max_value=100),
        st.sampled_from([0, 8, 22, 23]),
        st.integers(min_value=1, max_value=5_000),
        st.integers(min_value=0, max_value=1),  # which of the two locations
    ),
    min_size=1,
    max_size=14,
)

Sale = tuple[int | None, int, int, int, int]


def _rows(shop: Shop, start: datetime, chosen: list[Sale]) -> list[dict[str, Any]]:
    rows = []
    for number, (member, days, hour, amount, location) in enumerate(chosen):
        at = (start + timedelta(days=days)).replace(hour=hour, minute=number % 60)
        row: dict[str, Any] = {
            "receipt_id": f"R{number}",
            "amount": amount,
            "currency": "EUR",
            "occurred_at": at.isoformat(),
            "location_id": shop.locations[location],
        }
        if member is not None:
            row["member_id"] = shop.members[member]
        rows.append(row)
    return rows


def _in_date_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (r["occurred_at"], r["receipt_id"]))


def _through_service(db: Database, shop: Shop, rows: list[dict[str, Any]], now: datetime) -> None:
    for row in rows:
        with db.transaction() as conn:
            purchases.record(conn, shop.principal(), PurchaseIn(**row), secret_key=SECRET, now=now)


def _through_importer(
    db: Database, shop: Shop, rows: list[dict[str, Any]], clock: FixedClock, tmp: Path
) -> None:
    # Two runs (the file split in halves), each in batches of three rows.
    half = len(rows) // 2
    for part, chunk in enumerate((rows[:half], rows[half:])):
        if not chunk:
            continue
        path = tmp / f"shop{shop.id}-part{part}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in chunk))
        done = imports.import_purchases(
            db, shop.id, path, secret_key=SECRET, clock=clock, batch_size=3
        )
        assert (done.loaded, done.rejected) == (len(chunk), 0)


def _state(db: Database, shop: Shop) -> dict[str, Any]:
    """member_stats and the counters with the shop's own ids replaced by their index, and the
    counters summed over shards (a figure's spread over shards depends on row ids)."""
    member_index = {m: i for i, m in enumerate(shop.members)}
    location_index = {loc: i + 1 for i, loc in enumerate(shop.locations)} | {0: 0}
    with db.read() as conn:
        stats = {
            member_index[row.member_id]: tuple(getattr(row, n) for n in FIGURES)
            for row in conn.execute(
                select(member_stats).where(member_stats.c.business_id == shop.id)
            )
        }
        summed: defaultdict[tuple[Any, ...], int] = defaultdict(int)
        for row in conn.execute(select(counters).where(counters.c.business_id == shop.id)):
            key = (row.metric, row.day, row.dim, location_index[row.location_id], row.staff_id)
            summed[key] += row.value
    return {"members": stats, "counters": {k: v for k, v in summed.items() if v}}


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    # Each example records a few dozen sales on four shops: shrinking took minutes.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(chosen=sales, seed=st.integers(min_value=0, max_value=2**32 - 1))
# Both shuffles record the day's later sale (at the second location) before its earlier one.
@example(chosen=[(0, 5, 8, 100, 0), (0, 5, 10, 100, 1), (0, 9, 8, 100, 1)], seed=1)
def test_purchases_in_any_order_give_the_same_figures_as_in_date_order(
    db: Database, clock: FixedClock, tmp_path_factory: Any, chosen: list[Sale], seed: int
) -> None:
    start = clock.now()
    now = start + timedelta(days=120)
    later = FixedClock(now)
    tmp = tmp_path_factory.mktemp("history")
    shops = [make_shop(db, start, members_count=MEMBERS, with_staff=False) for _ in range(4)]
    in_order, shuffled, imported_in_order, imported_shuffled = shops
    rows = {shop.id: _rows(shop, start, chosen) for shop in shops}
    random.Random(seed).shuffle(rows[shuffled.id])
    random.Random(seed + 1).shuffle(rows[imported_shuffled.id])

    _through_service(db, in_order, _in_date_order(rows[in_order.id]), now)
    _through_service(db, shuffled, rows[shuffled.id], now)
    _through_importer(db, imported_in_order, _in_date_order(rows[imported_in_order.id]), later, tmp)
    _through_importer(db, imported_shuffled, rows[imported_shuffled.id], later, tmp)

    expected = _state(db, in_order)
    for shop in (shuffled, imported_in_order, imported_shuffled):
        assert _state(db, shop) == expected
    visits = {m: f[FIGURES.index("visit_days")] for m, f in expected["members"].items()}
    bought = {sale[0] for sale in chosen if sale[0] is not None}
    assert all(visits[m] >= 1 for m in bought)

    with db.transaction() as conn:
        rebuild(conn, imported_shuffled.id)
    assert _state(db, imported_shuffled) == expected
