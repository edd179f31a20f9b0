"""Cohort retention and first rewards follow the location where members joined."""

from __future__ import annotations

from datetime import timedelta

from lealtad.analytics import kpis
from lealtad.analytics.periods import Scope
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.ledger import adjustments
from lealtad.members import service as members
from lealtad.members.schemas import MemberIn
from lealtad.purchases import service as purchases
from lealtad.purchases.schemas import PurchaseIn
from lealtad.rewards import redemption
from lealtad.rewards import service as rewards
from lealtad.rewards.schemas import RewardIn
from tests.support import make_shop


def test_retention_and_first_reward_by_the_location_members_joined_at(
    db: Database, clock: FixedClock
) -> None:
    shop = make_shop(db, clock.now(), members_count=0)
    here, there = shop.locations
    start = clock.now()
    with db.transaction() as conn:
        a1, _ = (
            members.enrol(conn, shop.id, MemberIn(), channel="counter", now=start, location_id=here)
            for _ in range(2)
        )
        b1 = members.enrol(
            conn, shop.id, MemberIn(), channel="counter", now=start, location_id=there
        )
        cup = RewardIn(slug="cup", kind="physical_gift", title={"es": "Taza", "en": "Cup"}, cost=5)
        reward = rewards.create(conn, shop.id, cup, start)
        adjustments.adjust(
            conn, shop.id, a1, unit="points", amount=5, reason="gift", actor="t", now=start
        )
    for member, days in ((a1, 10), (b1, 40)):
        at = start + timedelta(days=days)
        body = PurchaseIn(receipt_id=f"R{member}", amount=500, currency="EUR", member_id=member)
        with db.transaction() as conn:
            purchases.record(conn, shop.principal(), body, secret_key="s", now=at)
    with db.transaction() as conn:
        redemption.redeem(conn, shop.principal(), a1, reward, start + timedelta(days=3))
    day = start.date()
    with db.read() as conn:
        everywhere = Scope(shop.id, day, day + timedelta(days=120), "month")
        at_here = Scope(shop.id, day, day + timedelta(days=120), "month", location_id=here)
        at_there = Scope(shop.id, day, day + timedelta(days=120), "month", location_id=there)
        whole = kpis.retention(conn, everywhere).extra["cohorts"][0]
        # 3 joined; a1 came back on day 10 (window 1-30), b1 on day 40 (window 31-60).
        assert (whole["members"], whole["retained_30"], whole["retained_60"]) == (3, 33.3, 33.3)
        local = kpis.retention(conn, at_here).extra["cohorts"][0]
        assert (local["members"], local["retained_30"], local["retained_60"]) == (2, 50.0, 0.0)
        other = kpis.retention(conn, at_there).extra["cohorts"][0]
        assert (other["members"], other["retained_30"], other["retained_60"]) == (1, 0.0, 100.0)
        # a1 redeemed on day 3: 1 of 2 who joined here, 0 of 1 there, 1 of 3 in all.
        assert kpis.first_reward(conn, at_here).value == 50.0
        assert kpis.first_reward(conn, at_here).extra["median_days"] == 3
        assert kpis.first_reward(conn, at_there).value == 0.0
        assert kpis.first_reward(conn, everywhere).value == 33.3
