"""Property test (D75): a tiers program's sales and refunds recorded in any order end each member
at the tier (since, until) that recording them in date order gives, whatever the metric and its
window; `lealtad analytics rebuild`'s tier replay changes nothing after either."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.purchases import refunds, service
from lealtad.purchases.schemas import PurchaseIn, RefundIn
from lealtad.rules.definition import ProgramDefinition
from lealtad.tiers import service as tiers
from lealtad.tiers.tables import tier_status
from tests.conftest import SECRET
from tests.support import Shop, make_shop

MEMBERS = 2
LEVELS = {
    "spend": [0, 6_000, 15_000],
    "visits": [0, 3, 5],
    "points_earned": [0, 60, 150],
}
# Short windows and grace, so that four months see tiers reached, held and lowered.
WINDOWS = {
    "rolling": {"kind": "rolling", "days": 45},
    "calendar": {"kind": "calendar", "period": "month"},
}


def program(metric: str, window: str, crossing: str = "previous_tier") -> ProgramDefinition:
    levels = [
        {"id": tier, "name": tier.title(), "threshold": str(threshold)}
        for tier, threshold in zip(("bronze", "silver", "gold"), LEVELS[metric], strict=True)
    ]
    return ProgramDefinition.model_validate(
        {
            "name": "Niveles",
            "rules": [
                {
                    "id": "base",
                    "name": "Puntos",
                    "action": {"type": "points_per_unit", "rate": "0.01"},
                }
            ],
            "tiers": {
                "metric": metric,
                "window": WINDOWS[window],
                "grace_days": 10,
                "levels": levels,
                "crossing_purchase_earns_at": crossing,
            },
        }
    )


# (member, day after the start, amount in cents, days until a refund or None, refunded share)
sales = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=MEMBERS - 1),
        st.integers(min_value=0, max_value=120),
        st.integers(min_value=500, max_value=9_000),
        st.one_of(st.none(), st.integers(min_value=1, max_value=40)),
        st.sampled_from([Decimal("0.5"), Decimal(1)]),
    ),
    min_size=1,
    max_size=14,
)
Sale = tuple[int, int, int, int | None, Decimal]


def _transactions(shop: Shop, start: datetime, chosen: list[Sale]) -> list[tuple[Any, ...]]:
    """("sale", when, PurchaseIn) and ("refund", when, RefundIn, its sale's receipt); no two
    at the same instant (a refund is dated on its own second)."""
    found: list[tuple[Any, ...]] = []
    for number, (member, day, amount, after, share) in enumerate(chosen):
        at = (start + timedelta(days=day)).replace(hour=10, minute=number % 60)
        receipt = f"R{number}"
        sale = PurchaseIn(
            receipt_id=receipt,
            amount=amount,
            currency="EUR",
            occurred_at=at,
            member_id=shop.members[member],
        )
        found.append(("sale", at, sale))
        if after is not None:
            when = at + timedelta(days=after, seconds=30)
            back = int(amount * share)
            found.append(
                (
                    "refund",
                    when,
                    RefundIn(
                        refund_id=f"F{number}", receipt_id=receipt, amount=back, occurred_at=when
                    ),
                    receipt,
                )
            )
    return found


def _shuffled(found: list[tuple[Any, ...]], seed: int) -> list[tuple[Any, ...]]:
    """A random order in which each refund still comes after its sale (as it must arrive)."""
    rng = random.Random(seed)
    sold = [t for t in found if t[0] == "sale"]
    rng.shuffle(sold)
    order = list(sold)
    for refund in (t for t in found if t[0] == "refund"):
        after = next(
            i for i, t in enumerate(order) if t[0] == "sale" and t[2].receipt_id == refund[3]
        )
        order.insert(rng.randint(after + 1, len(order)), refund)
    return order


def _record(db: Database, shop: Shop, order: list[tuple[Any, ...]], now: datetime) -> None:
    for kind, _when, data, *_ in order:
        with db.transaction() as conn:
            if kind == "sale":
                service.record(conn, shop.principal(), data, secret_key=SECRET, now=now)
            else:
                refunds.refund(conn, shop.principal(), data, now=now)


def statuses(db: Database, shop: Shop) -> dict[int, tuple[Any, ...]]:
    index = {m: i for i, m in enumerate(shop.members)}
    with db.read() as conn:
        rows = conn.execute(select(tier_status).where(tier_status.c.business_id == shop.id))
        return {index[r.member_id]: (r.tier_id, r.since, r.held_until) for r in rows}


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(
    chosen=sales,
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    metric=st.sampled_from(sorted(LEVELS)),
    window=st.sampled_from(sorted(WINDOWS)),
)
# Gold in order on day 20 (two sales in the window); the later sale recorded first reaches
# nothing, and the earlier one's check alone would not see it.
@example(
    chosen=[
        (0, 0, 8_000, None, Decimal(1)),
        (0, 20, 8_000, None, Decimal(1)),
        (0, 80, 500, None, Decimal(1)),
    ],
    seed=3,
    metric="spend",
    window="rolling",
)
# A refund dated before a later sale that arrives after it.
@example(
    chosen=[(0, 0, 9_000, 5, Decimal(1)), (0, 10, 7_000, None, Decimal(1))],
    seed=0,
    metric="spend",
    window="rolling",
)
def test_sales_and_refunds_in_any_order_end_at_the_tiers_of_date_order(
    db: Database,
    clock: FixedClock,
    chosen: list[Sale],
    seed: int,
    metric: str,
    window: str,
) -> None:
    start = clock.now()
    now = start + timedelta(days=260)
    crossing = "new_tier" if metric != "points_earned" and seed % 2 else "previous_tier"
    definition = program(metric, window, crossing)
    in_order, shuffled = (
        make_shop(db, start, members_count=MEMBERS, with_staff=False, program=definition)
        for _ in range(2)
    )
    dated = _transactions(in_order, start, chosen)
    _record(db, in_order, sorted(dated, key=lambda t: t[1]), now)
    _record(db, shuffled, _shuffled(_transactions(shuffled, start, chosen), seed), now)

    expected = statuses(db, in_order)
    assert statuses(db, shuffled) == expected
    for shop in (in_order, shuffled):
        with db.transaction() as conn:
            assert tiers.rebuild(conn, shop.id, ZoneInfo("Europe/Madrid"), now) == 0
        assert statuses(db, shop) == expected
