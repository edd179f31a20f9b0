"""The rollups kept as purchases, enrolments, refunds, redemptions and ledger entries are written
equal, after any sequence of them, the rollups recomputed from the source tables."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, func, select

from lealtad.analytics.rebuild import rebuild
from lealtad.analytics.tables import counters, member_stats
from lealtad.db.engine import Database
from lealtad.errors import LealtadError
from lealtad.kit.clock import FixedClock
from lealtad.ledger import adjustments
from lealtad.members import service as members
from lealtad.members.schemas import MemberIn
from lealtad.purchases import refunds
from lealtad.purchases import service as purchases
from lealtad.purchases.schemas import PurchaseIn, RefundIn
from lealtad.rewards import redemption
from lealtad.rewards import service as rewards
from lealtad.rewards.schemas import RewardIn
from lealtad.rules.definition import points_per_currency_unit
from lealtad.tenancy.model import Principal, Role
from tests.support import Shop, make_shop

PROGRAM = points_per_currency_unit(Decimal("1"), "floor")
FIGURES = [c for c in member_stats.c if c.name not in ("business_id",)]

operations = st.one_of(
    st.tuples(st.just("enrol"), st.integers(0, 1), st.just(0)),
    st.tuples(st.just("buy"), st.integers(-1, 3), st.integers(100, 9_000)),
    st.tuples(st.just("refund"), st.integers(0, 20), st.integers(1, 100)),
    st.tuples(st.just("redeem"), st.integers(0, 3), st.just(0)),
    st.tuples(st.just("adjust"), st.integers(0, 3), st.integers(-50, 50).filter(bool)),
    st.tuples(st.just("wait"), st.integers(0, 40), st.integers(0, 23)),
)


def counter_rows(conn: Connection, business_id: int) -> dict[tuple[Any, ...], int]:
    c = counters.c
    rows = conn.execute(
        select(c.metric, c.day, c.dim, c.location_id, c.staff_id, func.sum(c.value))
        .where(c.business_id == business_id)
        .group_by(c.metric, c.day, c.dim, c.location_id, c.staff_id)
    )
    return {tuple(r[:5]): int(r[5]) for r in rows if r[5]}


def figure_rows(conn: Connection, business_id: int) -> dict[int, tuple[Any, ...]]:
    rows = conn.execute(select(*FIGURES).where(member_stats.c.business_id == business_id))
    return {r.member_id: tuple(r) for r in rows}


def _apply(db: Database, shop: Shop, clock: FixedClock, state: dict[str, list], op: tuple) -> None:
    kind, a, b = op
    now = clock.now()
    staff = Principal(shop.id, Role.staff, shop.locations[a % 2], staff_id=shop.staff["staff"])
    who = state["members"]
    with contextlib.suppress(LealtadError), db.transaction() as conn:
        if kind == "enrol":
            member = members.enrol(
                conn,
                shop.id,
                MemberIn(),
                channel="counter",
                now=now,
                location_id=staff.location_id,
                staff_id=staff.staff_id,
            )
            who.append(member)
        elif kind == "buy":
            member_id = who[a % len(who)] if a >= 0 and who else None
            receipt = f"R{len(state['receipts'])}"
            state["receipts"].append(receipt)
            body = PurchaseIn(receipt_id=receipt, amount=b, currency="EUR", member_id=member_id)
            purchases.record(conn, staff, body, secret_key="s", now=now)
        elif kind == "refund" and state["receipts"]:
            receipt = state["receipts"][a % len(state["receipts"])]
            found = purchases.store.purchase_by_receipt(conn, shop.id, receipt)
            amount = max(1, (found.amount - found.refunded_amount) * b // 100)
            body = RefundIn(
                refund_id=f"F{len(state['receipts'])}-{a}-{b}-{now.timestamp()}",
                receipt_id=receipt,
                amount=amount,
            )
            refunds.refund(conn, staff, body, now=now)
        elif kind == "redeem" and who:
            redemption.redeem(conn, staff, who[a % len(who)], state["reward"], now)
        elif kind == "adjust" and who:
            adjustments.adjust(
                conn,
                shop.id,
                who[a % len(who)],
                unit="points",
                amount=b,
                reason="fix",
                actor="t",
                now=now,
            )
        elif kind == "wait":
            clock.at = clock.at + timedelta(days=a, hours=b)


def make_reward(db: Database, shop: Shop, clock: FixedClock) -> int:
    reward = RewardIn(slug="cup", kind="physical_gift", title={"es": "Taza", "en": "Cup"}, cost=20)
    with db.transaction() as conn:
        return rewards.create(conn, shop.id, reward, clock.now())


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(operations, min_size=1, max_size=30))
def test_the_rollups_kept_as_events_are_written_equal_the_rollups_recomputed_from_the_sources(
    db: Database, clock: FixedClock, ops: list
) -> None:
    shop = make_shop(db, clock.now(), program=PROGRAM, members_count=1)
    state: dict[str, list] = {
        "members": list(shop.members),
        "receipts": [],
        "reward": make_reward(db, shop, clock),
    }
    for op in ops:
        _apply(db, shop, clock, state, op)
    with db.read() as conn:
        kept_counters = counter_rows(conn, shop.id)
        kept_figures = figure_rows(conn, shop.id)
    with db.transaction() as conn:
        rebuild(conn, shop.id)
    with db.read() as conn:
        assert counter_rows(conn, shop.id) == kept_counters, "counters differ from a rebuild"
        assert figure_rows(conn, shop.id) == kept_figures, "member figures differ from a rebuild"
