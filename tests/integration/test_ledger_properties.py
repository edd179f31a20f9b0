"""Property tests: any sequence of earn, spend, refund, expire and unlock keeps every balance
equal to the sum of its postings, every lot equal to its postings, and nothing negative."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lealtad.db.engine import Database
from lealtad.errors import InsufficientBalance, Invalid
from lealtad.kit.clock import FixedClock
from lealtad.ledger import adjustments
from lealtad.ledger import service as ledger
from lealtad.ledger.maturity import settle
from lealtad.ledger.verify import verify
from lealtad.purchases import refunds
from lealtad.purchases import service as purchases
from lealtad.purchases.schemas import PurchaseIn, RefundIn
from lealtad.rules.definition import PointsPolicy, points_per_currency_unit
from lealtad.rules.periods import expiry_for
from tests.support import make_shop

shop_zone = ZoneInfo("Europe/Madrid")
PROGRAM = points_per_currency_unit(Decimal("1.5"), "half_up").model_copy(
    update={"points": PointsPolicy(expiry="days", expiry_days=20, pending_days=3)}
)

members = st.integers(min_value=0, max_value=1)
operations = st.one_of(
    st.tuples(st.just("earn"), members, st.integers(min_value=0, max_value=20_000)),
    st.tuples(st.just("spend"), members, st.integers(min_value=1, max_value=200)),
    st.tuples(st.just("refund"), st.integers(min_value=0, max_value=30), st.integers(1, 100)),
    st.tuples(st.just("adjust"), members, st.integers(min_value=-100, max_value=100).filter(bool)),
    st.tuples(st.just("wait"), st.integers(min_value=0, max_value=15), st.just(0)),
)


def _apply(db: Database, shop, clock: FixedClock, receipts: list[str], op, op_number: int) -> None:  # type: ignore[no-untyped-def]
    kind, a, b = op
    now = clock.now()
    member = shop.members[a] if kind in ("earn", "spend", "adjust") else None
    if kind == "earn":
        receipt = f"R{len(receipts)}"
        receipts.append(receipt)
        body = PurchaseIn(receipt_id=receipt, amount=b, currency="EUR", member_id=member)
        with db.transaction() as conn:
            purchases.record(conn, shop.principal(), body, secret_key="s", now=now)
    elif kind == "spend":
        with db.read() as conn:
            before = ledger.balances(conn, shop.id, member)["points"]
        try:
            with db.transaction() as conn:
                adjustments.spend(
                    conn, shop.id, member, unit="points", amount=b, memo="spend", actor="t", now=now
                )
        except InsufficientBalance:
            # A refusal is only right when the balance, after expiring what was due, was short.
            with db.read() as conn:
                after = ledger.balances(conn, shop.id, member)["points"]
            assert b > after or b > before
    elif kind == "refund" and receipts:
        receipt = receipts[a % len(receipts)]
        with contextlib.suppress(Invalid), db.transaction() as conn:
            # Invalid: the purchase is already refunded in full.
            purchase = purchases.store.purchase_by_receipt(conn, shop.id, receipt)
            amount = max(1, (purchase.amount - purchase.refunded_amount) * b // 100)
            refund_id = f"F{len(receipts)}-{op_number}"
            body = RefundIn(refund_id=refund_id, receipt_id=receipt, amount=amount)
            refunds.refund(conn, shop.principal(), body, now=now)
    elif kind == "adjust":
        with contextlib.suppress(InsufficientBalance), db.transaction() as conn:
            adjustments.adjust(
                conn,
                shop.id,
                member,
                unit="points",
                amount=b,
                reason="fix",
                actor="t",
                now=now,
                expires_at=expiry_for(now, "days", 20, shop_zone),
            )
    elif kind == "wait":
        clock.at = clock.at + timedelta(days=a, hours=1)
        with db.transaction() as conn:
            settle(conn, shop.id, clock.now())


def _check(db: Database, shop) -> None:  # type: ignore[no-untyped-def]
    with db.read() as conn:
        problems = verify(conn, shop.id)
        assert problems == [], "\n".join(map(str, problems))
        for member in shop.members:
            for code, balance in ledger.balances(conn, shop.id, member).items():
                assert balance >= 0, f"member {member} {code} balance is negative: {balance}"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(operations, min_size=1, max_size=25))
def test_any_sequence_of_ledger_moves_keeps_balances_equal_to_postings_and_never_negative(
    db: Database, clock: FixedClock, ops: list
) -> None:
    shop = make_shop(db, clock.now(), program=PROGRAM, with_staff=False)
    receipts: list[str] = []
    for number, op in enumerate(ops):
        _apply(db, shop, clock, receipts, op, number)
        _check(db, shop)
    # Far in the future everything has unlocked and then expired: nothing is left anywhere.
    clock.at = clock.at + timedelta(days=400)
    with db.transaction() as conn:
        settle(conn, shop.id, clock.now())
    _check(db, shop)
    with db.read() as conn:
        for member in shop.members:
            assert sum(ledger.balances(conn, shop.id, member).values()) == 0
