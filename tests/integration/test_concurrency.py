"""Concurrency on both databases: no double spend, no double award."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from lealtad.db.engine import Database
from lealtad.errors import InsufficientBalance
from lealtad.kit.clock import FixedClock
from lealtad.ledger import adjustments
from lealtad.ledger import service as ledger
from lealtad.ledger.verify import verify
from lealtad.purchases import service as purchases
from lealtad.purchases.schemas import PurchaseIn
from tests.support import Shop

SECRET = "s"


def _run_together(count: int, action) -> list:  # type: ignore[no-untyped-def]
    start = threading.Barrier(count)

    def one(i: int):  # type: ignore[no-untyped-def]
        start.wait()
        return action(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def _grant(db: Database, shop: Shop, member: int, amount: int, now: datetime) -> None:
    with db.transaction() as conn:
        adjustments.adjust(
            conn, shop.id, member, unit="points", amount=amount, reason="grant", actor="t", now=now
        )


def test_fifty_concurrent_spends_against_a_balance_that_covers_ten_succeed_ten_times(
    db: Database, shop: Shop, clock: FixedClock
) -> None:
    member = shop.members[0]
    _grant(db, shop, member, 30, clock.now())  # three lots, so spends cross lot boundaries
    _grant(db, shop, member, 20, clock.now())
    _grant(db, shop, member, 50, clock.now())

    def spend(_i: int) -> bool:
        try:
            with db.transaction() as conn:
                adjustments.spend(
                    conn,
                    shop.id,
                    member,
                    unit="points",
                    amount=10,
                    memo="coffee",
                    actor="t",
                    now=clock.now(),
                )
            return True
        except InsufficientBalance:
            return False

    results = _run_together(50, spend)
    assert results.count(True) == 10, f"{results.count(True)} spends succeeded, expected 10"
    with db.read() as conn:
        assert ledger.balances(conn, shop.id, member)["points"] == 0
        assert verify(conn, shop.id) == []


def test_the_same_purchase_sent_twenty_times_at_once_awards_once(
    db: Database, shop: Shop, clock: FixedClock
) -> None:
    member = shop.members[0]
    body = PurchaseIn(receipt_id="R-race", amount=2500, currency="EUR", member_id=member)

    def send(_i: int):  # type: ignore[no-untyped-def]
        with db.transaction() as conn:
            return purchases.record(
                conn, shop.principal(), body, secret_key=SECRET, now=clock.now()
            )

    answers = _run_together(20, send)
    assert all(answer == answers[0] for answer in answers), (
        f"replays got different answers: {answers}"
    )
    with db.read() as conn:
        assert ledger.balances(conn, shop.id, member)["points"] == 25
        assert verify(conn, shop.id) == []
