"""Redemptions under concurrency, on both databases: no oversold stock, no double spend."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lealtad.db.engine import Database
from lealtad.errors import Conflict
from lealtad.kit.clock import FixedClock
from lealtad.ledger import adjustments
from lealtad.ledger import service as ledger
from lealtad.ledger.verify import verify
from lealtad.members import service as members
from lealtad.members.schemas import MemberIn
from lealtad.rewards import redemption, service
from lealtad.rewards.schemas import RewardIn
from tests.support import Shop, make_shop


def _reward(db: Database, shop: Shop, clock: FixedClock, **fields: Any) -> int:
    body = RewardIn.model_validate(
        {"slug": "mug", "kind": "physical_gift", "title": {"es": "Taza", "en": "Mug"}, "cost": 100}
        | fields
    )
    with db.transaction() as conn:
        return service.create(conn, shop.id, body, clock.now())


def _together(count: int, action) -> list[str]:  # type: ignore[no-untyped-def]
    start = threading.Barrier(count)

    def one(i: int) -> str:
        start.wait()
        try:
            action(i)
            return "ok"
        except Conflict as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def test_two_hundred_members_racing_for_ten_in_stock_get_exactly_ten(
    db: Database, clock: FixedClock
) -> None:
    shop = make_shop(db, clock.now(), members_count=0, with_staff=False)
    with db.transaction() as conn:
        people = [
            members.enrol(conn, shop.id, MemberIn(name=f"M{i}"), channel="api", now=clock.now())
            for i in range(200)
        ]
        for member in people:
            adjustments.adjust(
                conn,
                shop.id,
                member,
                unit="points",
                amount=100,
                reason="t",
                actor="t",
                now=clock.now(),
            )
    reward_id = _reward(db, shop, clock, stock=10)

    def redeem(i: int) -> None:
        with db.transaction() as conn:
            redemption.redeem(conn, shop.principal(), people[i], reward_id, clock.now())

    results = Counter(_together(200, redeem))
    assert results["ok"] == 10, results
    assert results["out_of_stock"] == 190, results
    with db.read() as conn:
        assert service.get(conn, shop.id, reward_id).stock == 0
        spent = sum(1 for m in people if ledger.balances(conn, shop.id, m)["points"] == 0)
        assert spent == 10, "points were taken from members who got no voucher"
        assert verify(conn, shop.id) == []


def test_fifty_redemptions_by_one_member_who_can_afford_three_succeed_three_times(
    db: Database, clock: FixedClock
) -> None:
    shop = make_shop(db, clock.now(), members_count=1, with_staff=False)
    member = shop.members[0]
    with db.transaction() as conn:
        adjustments.adjust(
            conn, shop.id, member, unit="points", amount=350, reason="t", actor="t", now=clock.now()
        )
    reward_id = _reward(db, shop, clock)

    def redeem(_i: int) -> None:
        with db.transaction() as conn:
            redemption.redeem(conn, shop.principal(), member, reward_id, clock.now())

    results = Counter(_together(50, redeem))
    assert results["ok"] == 3, results
    assert results["insufficient_balance"] == 47, results
    with db.read() as conn:
        assert ledger.balances(conn, shop.id, member)["points"] == 50
        assert verify(conn, shop.id) == []
