"""The dashboard's figures on small stories told through the real services (enrolments at the
counter, purchases by members and by anonymous customers at two stores by two staff members,
refunds, redemptions, a donation, points expiring), each figure worked out by hand below.

The shop: Store 1 (L1) where "staff" (S1) works, Store 2 (L2) where "manager" (S2) works; 1 point
per euro (floor), points expire 30 days after they are earned, a point is worth 5 cents. Its time
zone is Madrid and every event happens at 10:30 UTC, so each local day is the date written."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from lealtad.analytics import kpis
from lealtad.analytics.periods import Scope
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.ledger import maturity
from lealtad.members import service as members
from lealtad.members.schemas import MemberIn
from lealtad.purchases import refunds
from lealtad.purchases import service as purchases
from lealtad.purchases.schemas import PurchaseIn, RefundIn
from lealtad.rewards import donations, ratings, redemption
from lealtad.rewards import service as rewards
from lealtad.rewards.donations import CauseIn, DonationIn
from lealtad.rewards.ratings import RatingIn
from lealtad.rewards.schemas import RewardIn
from lealtad.rules.definition import PointsPolicy, ProgramDefinition, points_per_currency_unit
from lealtad.tenancy.model import Principal, Role
from tests.support import Shop, make_shop

PROGRAM = ProgramDefinition(
    points=PointsPolicy(expiry="days", expiry_days=30, value_per_point=Decimal(5)),
    rules=points_per_currency_unit(Decimal(1)).rules,
)
_receipts = itertools.count(1)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, 30, tzinfo=UTC)


@dataclass
class Story:
    db: Database
    clock: FixedClock
    shop: Shop
    people: dict[str, int] = field(default_factory=dict)
    receipts: dict[str, str] = field(default_factory=dict)
    rewards: dict[str, int] = field(default_factory=dict)

    def on(self, day: date) -> None:
        self.clock.at = at(day)

    def desk(self, who: str) -> Principal:
        s1 = who == "S1"
        return Principal(
            self.shop.id,
            Role.staff,
            self.shop.locations[0 if s1 else 1],
            staff_id=self.shop.staff["staff" if s1 else "manager"],
        )

    def enrol(self, name: str, by: str) -> None:
        desk = self.desk(by)
        with self.db.transaction() as conn:
            self.people[name] = members.enrol(
                conn,
                self.shop.id,
                MemberIn(name=name),
                channel="counter",
                now=self.clock.now(),
                location_id=desk.location_id,
                staff_id=desk.staff_id,
            )

    def buy(self, who: str | None, amount: int, by: str, store: int | None = None) -> str:
        receipt = f"T{next(_receipts)}"
        body = PurchaseIn(
            receipt_id=receipt,
            amount=amount,
            currency="EUR",
            member_id=self.people[who] if who else None,
            location_id=self.shop.locations[store - 1] if store else None,
        )
        with self.db.transaction() as conn:
            purchases.record(conn, self.desk(by), body, secret_key="s", now=self.clock.now())
        self.receipts[f"{who}:{amount}"] = receipt
        return receipt

    def refund(self, receipt: str, amount: int, by: str) -> None:
        body = RefundIn(refund_id=f"F-{receipt}", receipt_id=receipt, amount=amount)
        with self.db.transaction() as conn:
            refunds.refund(conn, self.desk(by), body, now=self.clock.now())

    def reward(self, slug: str, cost: int) -> None:
        body = RewardIn(slug=slug, kind="physical_gift", title={"es": slug, "en": slug}, cost=cost)
        with self.db.transaction() as conn:
            self.rewards[slug] = rewards.create(conn, self.shop.id, body, self.clock.now())

    def redeem(self, who: str, slug: str, stars: int | None = None) -> None:
        with self.db.transaction() as conn:
            redemption.redeem(
                conn, self.desk("S1"), self.people[who], self.rewards[slug], self.clock.now()
            )
            if stars is not None:
                rating = RatingIn(reward_id=self.rewards[slug], stars=stars)
                ratings.rate(conn, self.shop.id, self.people[who], rating, self.clock.now())

    def settle(self) -> None:
        with self.db.transaction() as conn:
            maturity.settle(conn, self.shop.id, self.clock.now())

    def scope(self, start: date, end: date, grain: str = "day", **where: str) -> Scope:
        ids = {
            "location_id": self.shop.locations[int(where["store"]) - 1]
            if "store" in where
            else None,
            "staff_id": self.shop.staff["staff" if where.get("staff") == "S1" else "manager"]
            if "staff" in where
            else None,
        }
        return Scope(self.shop.id, start, end, grain, **ids)  # type: ignore[arg-type]


@pytest.fixture
def story(db: Database, clock: FixedClock) -> Story:
    clock.at = at(date(2026, 1, 5))
    shop = make_shop(db, clock.now(), program=PROGRAM, members_count=0)
    return Story(db, clock, shop)


def february(s: Story, then: dict[date, Callable[[], None]] | None = None) -> None:
    """Five members, twelve purchases (four anonymous), one refund:

    Feb 2  S1 enrols Ana and Bea, S2 enrols Carl.
           Ana 20.00 at L1 by S1; anonymous 10.00 at L1 by S1; Carl 30.00 at L2 by S2.
    Feb 3  Bea 10.00, Ana 10.00 and Ana 5.00 at L1 by S1; anonymous 5.00 and 15.00 at L2 by S2.
    Feb 9  S2 enrols Dan and Eva (Eva never buys). Dan 40.00 and Ana 6.00 at L2 by S2;
           anonymous 24.00 at L1 by S2.
    Mar 2  Ana 10.00 at L1 by S1; 4.00 of Carl's 30.00 refunded at L2 by S2.

    `then` adds what else happens at the end of a day."""
    then = then or {}

    def on(day: date) -> None:
        if s.clock.now().date() in then:
            then[s.clock.now().date()]()
        s.on(day)

    s.on(date(2026, 2, 2))
    s.enrol("Ana", "S1")
    s.enrol("Bea", "S1")
    s.enrol("Carl", "S2")
    s.buy("Ana", 2000, "S1")
    s.buy(None, 1000, "S1")
    s.buy("Carl", 3000, "S2")
    on(date(2026, 2, 3))
    s.buy("Bea", 1000, "S1")
    s.buy("Ana", 1000, "S1")
    s.buy("Ana", 500, "S1")
    s.buy(None, 500, "S2")
    s.buy(None, 1500, "S2")
    on(date(2026, 2, 9))
    s.enrol("Dan", "S2")
    s.enrol("Eva", "S2")
    s.buy("Dan", 4000, "S2")
    s.buy("Ana", 600, "S2")
    s.buy(None, 2400, "S2", store=1)
    on(date(2026, 3, 2))
    s.buy("Ana", 1000, "S1")
    s.refund(s.receipts["Carl:3000"], 400, "S2")
    on(date(2026, 3, 3))


FEB_2, MAR_2 = date(2026, 2, 2), date(2026, 3, 2)


def test_enrolment_rate_counts_anonymous_purchases_in_the_denominator(story: Story) -> None:
    february(story)
    with story.db.read() as conn:
        whole = kpis.enrolment_rate(conn, story.scope(FEB_2, MAR_2))
        store_1 = kpis.enrolment_rate(conn, story.scope(FEB_2, MAR_2, store="1"))
        store_2 = kpis.enrolment_rate(conn, story.scope(FEB_2, MAR_2, store="2"))
        by_s1 = kpis.enrolment_rate(conn, story.scope(FEB_2, MAR_2, staff="S1"))
        by_s2 = kpis.enrolment_rate(conn, story.scope(FEB_2, MAR_2, staff="S2"))
        s2_at_store_1 = kpis.enrolment_rate(conn, story.scope(FEB_2, MAR_2, store="1", staff="S2"))
    # 12 purchases, 8 of them by members (Ana 5, Carl, Bea, Dan): 8 / 12 = 66.67%
    assert whole.value == 66.7
    assert whole.extra == {"purchases": 12, "member_purchases": 8}
    assert whole.goal == 60.0, "the default goal"
    # By day: Feb 2 2 of 3; Feb 3 3 of 5; Feb 9 2 of 3; Mar 2 1 of 1; nothing on other days
    series = dict(zip(whole.labels, whole.series["rate"], strict=True))
    assert len(whole.labels) == 29, "Feb 2 to Mar 2, one bucket a day"
    assert series[FEB_2] == 66.7  # 2 / 3
    assert series[date(2026, 2, 3)] == 60.0  # 3 / 5
    assert series[date(2026, 2, 9)] == 66.7  # 2 / 3
    assert series[MAR_2] == 100.0  # 1 / 1
    assert series[date(2026, 2, 4)] is None, "no purchases: no rate, not 0%"
    # L1: Ana 2000, anon 1000, Bea, Ana, Ana, anon 2400 (S2), Ana on Mar 2: 5 of 7 = 71.43%
    assert store_1.value == 71.4
    # L2: Carl, anon, anon, Dan, Ana 600: 3 of 5
    assert store_2.value == 60.0
    # S1 recorded Ana 2000, anon 1000, Bea, Ana, Ana, Ana on Mar 2: 5 of 6 = 83.33%
    assert by_s1.value == 83.3
    # S2: Carl, anon, anon, Dan, Ana 600, anon 2400: 3 of 6
    assert by_s2.value == 50.0
    # S2 at L1: one anonymous purchase: 0 of 1
    assert s2_at_store_1.value == 0.0


def test_enrolment_rate_by_week_and_by_month(story: Story) -> None:
    february(story)
    with story.db.read() as conn:
        weekly = kpis.enrolment_rate(conn, story.scope(FEB_2, date(2026, 3, 8), "week"))
        monthly = kpis.enrolment_rate(conn, story.scope(date(2026, 2, 1), MAR_2, "month"))
    # Weeks from Monday: Feb 2-8 has 8 purchases, 5 by members (Ana 3, Carl, Bea) = 62.5%;
    # Feb 9-15 has 3, 2 by members = 66.67%; then two empty weeks; Mar 2-8 has 1 of 1
    assert weekly.labels == [date(2026, 2, d) for d in (2, 9, 16, 23)] + [MAR_2]
    assert weekly.series["rate"] == [62.5, 66.7, None, None, 100.0]
    # February 7 of 11 = 63.64%; March 1 of 1
    assert monthly.labels == [date(2026, 2, 1), date(2026, 3, 1)]
    assert monthly.series["rate"] == [63.6, 100.0]
    assert monthly.value == 66.7  # 8 / 12 over the whole period


def test_new_and_visiting_members_by_day_week_and_month(story: Story) -> None:
    february(story)
    with story.db.read() as conn:
        daily = kpis.members_activity(conn, story.scope(FEB_2, MAR_2), story.clock.now())
        weekly = kpis.members_activity(
            conn, story.scope(FEB_2, date(2026, 3, 8), "week"), story.clock.now()
        )
        monthly = kpis.members_activity(
            conn, story.scope(date(2026, 2, 1), date(2026, 3, 31), "month"), story.clock.now()
        )
        store_2 = kpis.members_activity(
            conn, story.scope(FEB_2, MAR_2, store="2"), story.clock.now()
        )
        by_s1 = kpis.members_activity(
            conn, story.scope(FEB_2, MAR_2, staff="S1"), story.clock.now()
        )
    # Ana, Bea, Carl on Feb 2 and Dan, Eva on Feb 9
    assert daily.value == 5.0
    new = dict(zip(daily.labels, daily.series["new"], strict=True))
    assert (new[FEB_2], new[date(2026, 2, 9)], sum(new.values())) == (3.0, 2.0, 5.0)
    # Distinct members buying each day: Feb 2 Ana, Carl; Feb 3 Bea, Ana; Feb 9 Dan, Ana; Mar 2 Ana
    visiting = dict(zip(daily.labels, daily.series["visiting"], strict=True))
    assert [visiting[d] for d in (FEB_2, date(2026, 2, 3), date(2026, 2, 9), MAR_2)] == [
        2.0,
        2.0,
        2.0,
        1.0,
    ]
    # Each week: Ana, Carl, Bea; then Dan, Ana; then nobody twice; then Ana
    assert weekly.series["new"] == [3.0, 2.0, 0.0, 0.0, 0.0]
    assert weekly.series["visiting"] == [3.0, 2.0, 0.0, 0.0, 1.0]
    # February: Ana, Bea, Carl, Dan (Eva never bought); March: Ana
    assert monthly.series == {"new": [5.0, 0.0], "visiting": [4.0, 1.0]}
    # Enrolled at L2: Carl, Dan, Eva. Enrolled by S1: Ana and Bea
    assert store_2.value == 3.0
    assert by_s1.value == 2.0


def test_active_and_lapsed_members_are_counted_as_of_now_by_home_store(story: Story) -> None:
    february(story)
    feb = story.scope(FEB_2, MAR_2)
    with story.db.read() as conn:
        # On Mar 12 the last 30 days start on Feb 10 10:30: only Ana (Mar 2) bought since.
        # The last 90 days start on Dec 12: Ana, Bea, Carl and Dan. Eva never bought.
        early = kpis.members_activity(conn, feb, at(date(2026, 3, 12))).extra
        # On May 11 the last 90 days start on Feb 10 10:30: Ana's Mar 2 purchase is in them;
        # Bea (Feb 3), Carl (Feb 2) and Dan (Feb 9) lapsed.
        late = kpis.members_activity(conn, feb, at(date(2026, 5, 11))).extra
        # Members whose home store is L2: Carl, Dan (lapsed by May 11) and Eva (never bought)
        late_2 = kpis.members_activity(
            conn, story.scope(FEB_2, MAR_2, store="2"), at(date(2026, 5, 11))
        ).extra
    assert early == {"total": 5, "active_30": 1, "active_90": 4, "lapsed": 0, "never_bought": 1}
    assert late == {"total": 5, "active_30": 0, "active_90": 1, "lapsed": 3, "never_bought": 1}
    assert late_2 == {"total": 3, "active_30": 0, "active_90": 0, "lapsed": 2, "never_bought": 1}


def test_members_against_everyone_else_tickets_visits_and_revenue_share(story: Story) -> None:
    february(story)
    with story.db.read() as conn:
        daily = kpis.members_vs_others(conn, story.scope(FEB_2, MAR_2))
        weekly = kpis.members_vs_others(conn, story.scope(FEB_2, date(2026, 3, 8), "week"))
        monthly = kpis.members_vs_others(conn, story.scope(date(2026, 2, 1), MAR_2, "month"))
        store_2 = kpis.members_vs_others(conn, story.scope(FEB_2, MAR_2, store="2"))
    # Members spent 2000+3000 + 1000+1000+500 + 4000+600 + 1000 = 13100 in 8 purchases,
    # everyone else 1000 + 500+1500 + 2400 = 5400 in 4; Carl got 400 back.
    assert daily.extra["member_ticket"] == 1638  # 13100 / 8 = 1637.5, rounded half to even
    assert daily.extra["other_ticket"] == 1350  # 5400 / 4
    # Revenue net of refunds: members 13100 - 400 = 12700 of 18500 - 400 = 18100: 70.17%
    assert daily.extra["revenue"] == 18100
    assert daily.extra["member_revenue"] == 12700
    assert daily.value == 70.2
    assert daily.unit == "percent"
    # Purchases per visiting member: 8 purchases over 7 member-days (2 + 2 + 2 + 1)
    assert daily.extra["visits_per_member"] == pytest.approx(8 / 7)
    # ... over 6 member-weeks (3 + 2 + 1), over 5 member-months (4 + 1)
    assert weekly.extra["visits_per_member"] == pytest.approx(8 / 6)
    assert monthly.extra["visits_per_member"] == pytest.approx(8 / 5)
    # Week of Feb 2: members 2000+3000+1000+1000+500 = 7500 in 5, others 1000+500+1500 in 3
    assert weekly.series["member_ticket"][0] == 1500
    assert weekly.series["other_ticket"][0] == 1000
    assert weekly.series["visits"][:2] == [pytest.approx(5 / 3), 1.0]  # 5 by 3; 2 by Dan, Ana
    # Share by month: February 12100 of 17500 (Carl's refund is on Mar 2); March
    # 1000 - 400 = 600 of 1000 - 400 = 600
    assert monthly.series["member_share"] == [69.1, 100.0]  # 12100 / 17500 = 69.14%
    # L2: Carl 3000, Dan 4000, Ana 600 against 500 + 1500; Carl's refund was at L2
    assert store_2.extra["member_ticket"] == 2533  # 7600 / 3 = 2533.3
    assert store_2.extra["other_ticket"] == 1000  # 2000 / 2
    assert store_2.value == 78.3  # (7600 - 400) / (9600 - 400) = 7200 / 9200 = 78.26%


def story_of_points(s: Story) -> int:
    """February, with a cup for 25 points that Ana and Dan redeem on Feb 9 and rate (5 and 4
    stars), a bag for 100 that nobody takes, and Bea giving 4 points to the food bank on Mar 2;
    the points due are settled on Mar 20. Returns the cause's id.

    Points earned (1 per euro): Ana 20 + 10 + 5 (Feb 2-3) + 6 (Feb 9) + 10 (Mar 2) = 51,
    Carl 30, Bea 10, Dan 40: 131 issued. Carl's refund of 4.00 of 30.00 takes back
    30 * 4 / 30 = 4. Each lot expires 30 days after it was earned, and spending takes the lots
    that expire first: Ana's cup takes her 20 of Feb 2 and 5 of the 10 of Feb 3, Dan's takes 25
    of his 40, Bea's gift 4 of her 10. So on Mar 4 Carl's 26 expire, on Mar 5 Ana's 5 + 5 and
    Bea's 6, on Mar 11 Ana's 6 and Dan's 15: 26 + 16 + 21 = 63 expired; Ana's 10 of Mar 2
    are what members still hold."""
    s.reward("cup", 25)
    s.reward("bag", 100)
    with s.db.transaction() as conn:
        name = {"es": "Banco de alimentos", "en": "Food bank"}
        text = {"es": "Comida", "en": "Food"}
        cause = donations.create_cause(
            conn, s.shop.id, CauseIn(name=name, description=text), s.clock.now()
        )

    def cups() -> None:
        s.redeem("Ana", "cup", stars=5)
        s.redeem("Dan", "cup", stars=4)

    def gift() -> None:
        with s.db.transaction() as conn:
            body = DonationIn(cause_id=cause, points=4)
            donations.donate(conn, s.desk("S1"), s.people["Bea"], body, s.clock.now())

    february(s, then={date(2026, 2, 9): cups, MAR_2: gift})
    s.on(date(2026, 3, 20))
    s.settle()
    return cause


def test_points_issued_redeemed_expired_with_rates_and_liability(story: Story) -> None:
    story_of_points(story)
    now = story.clock.now()
    with story.db.read() as conn:
        whole = kpis.points_flows(conn, story.scope(FEB_2, date(2026, 3, 31)), now)
        weekly = kpis.points_flows(conn, story.scope(FEB_2, date(2026, 3, 8), "week"), now)
        to_mar_2 = kpis.points_flows(conn, story.scope(FEB_2, MAR_2), now)
        at_store_2 = kpis.points_flows(conn, story.scope(FEB_2, date(2026, 3, 31), store="2"), now)
    assert whole.value == 131.0
    assert whole.extra == {
        "issued": 131,
        "redeemed": 54,  # two cups of 25 and the gift of 4
        "expired": 63,
        "redemption_rate": 41.2,  # 54 / 131 = 41.22%
        "breakage_rate": 48.1,  # 63 / 131 = 48.09%
        "outstanding": 10,  # 131 - 54 - 63 - 4 taken back by the refund
        "value_per_unit": "5",
        "liability": 50,  # 10 points at 5 cents
    }
    # Weeks from Feb 2: issued Ana 35 + Carl 30 + Bea 10 = 75; Dan 40 + Ana 6 = 46; none;
    # none; Ana 10. Spent: the cups in the week of Feb 9, the gift in that of Mar 2. Expired in
    # the week of Mar 2 (Mar 4 and 5): 26 + 10 + 6 = 42.
    assert weekly.series == {
        "issued": [75.0, 46.0, 0.0, 0.0, 10.0],
        "redeemed": [0.0, 50.0, 0.0, 0.0, 4.0],
        "expired": [0.0, 0.0, 0.0, 0.0, 42.0],
        # held at the end of each week: 75; 75 + 46 - 50 = 71; 71; 71; 71 + 10 - 4 - 4 - 42 = 31
        "outstanding": [75.0, 71.0, 71.0, 71.0, 31.0],
    }
    # Up to Mar 2 nothing had expired yet: 131 - 54 - 4 = 73 held, worth 365 cents
    assert (to_mar_2.extra["expired"], to_mar_2.extra["outstanding"]) == (0, 73)
    assert to_mar_2.extra["liability"] == 365
    assert to_mar_2.extra["breakage_rate"] == 0.0
    # The ledger is counted for the whole business: a store filter changes nothing
    assert at_store_2.extra == whole.extra


def test_liability_is_unknown_while_the_program_gives_a_point_no_value(
    db: Database, clock: FixedClock
) -> None:
    shop = make_shop(db, clock.now(), members_count=1)
    body = PurchaseIn(receipt_id="V1", amount=1250, currency="EUR", member_id=shop.members[0])
    with db.transaction() as conn:
        purchases.record(conn, shop.principal(), body, secret_key="s", now=clock.now())
    with db.read() as conn:
        today = clock.now().date()
        flows = kpis.points_flows(conn, Scope(shop.id, today, today), clock.now())
    # 12.50 earns 12 points (1 per euro, floor); no value per point: no liability in money
    assert (flows.extra["outstanding"], flows.extra["liability"]) == (12, None)
    assert flows.extra["value_per_unit"] is None


def test_reward_popularity_with_ratings_and_donations_per_cause(story: Story) -> None:
    cause = story_of_points(story)
    with story.db.read() as conn:
        popular = kpis.reward_popularity(conn, story.scope(FEB_2, MAR_2))
        later = kpis.reward_popularity(conn, story.scope(MAR_2, date(2026, 3, 31)))
        causes = kpis.donations_by_cause(conn, story.shop.id)
    cup, bag = story.rewards["cup"], story.rewards["bag"]
    # Two cups (Ana 5 stars, Dan 4: 4.5 on average), no bag
    assert [(r["reward_id"], r["redemptions"], r["rating"], r["ratings"]) for r in popular] == [
        (cup, 2, 4.5, 2),
        (bag, 0, None, 0),
    ]
    # In March nobody redeemed: by slug, the ratings are of all time
    assert [(r["slug"], r["redemptions"], r["rating"]) for r in later] == [
        ("bag", 0, None),
        ("cup", 0, 4.5),
    ]
    assert causes == [
        {
            "cause_id": cause,
            "name": {"es": "Banco de alimentos", "en": "Food bank"},
            "points": 4,
            "donors": 1,
            "donations": 1,
        }
    ]


def test_the_staff_enrolment_leaderboard(story: Story) -> None:
    february(story)
    with story.db.read() as conn:
        board = kpis.staff_leaderboard(conn, story.scope(FEB_2, MAR_2))
        at_store_1 = kpis.staff_leaderboard(conn, story.scope(FEB_2, MAR_2, store="1"))
        february_only = kpis.staff_leaderboard(conn, story.scope(FEB_2, date(2026, 2, 8)))
    s1, s2 = story.shop.staff["staff"], story.shop.staff["manager"]
    rows = [(r["staff_id"], r["enrolments"], r["purchases"], r["enrolment_rate"]) for r in board]
    # S2 enrolled Carl, Dan and Eva and recorded 6 purchases, 3 by members (Carl, Dan, Ana);
    # S1 enrolled Ana and Bea and recorded 6, 5 by members: more enrolments rank first
    assert rows == [(s2, 3, 6, 50.0), (s1, 2, 6, 83.3)]
    assert [r["name"] for r in board] == ["manager", "staff"]
    # At L1: S1 enrolled 2 and recorded 6 (5 by members); S2 one anonymous purchase
    assert [(r["staff_id"], r["enrolments"], r["enrolment_rate"]) for r in at_store_1] == [
        (s1, 2, 83.3),
        (s2, 0, 0.0),
    ]
    # Feb 2-8: S1 enrolled Ana and Bea and recorded 5, 4 by members (80%); S2 enrolled Carl and
    # recorded 3, 1 by a member
    assert [(r["staff_id"], r["enrolments"], r["enrolment_rate"]) for r in february_only] == [
        (s1, 2, 80.0),
        (s2, 1, 33.3),
    ]


def cohorts_story(s: Story) -> None:
    """Two monthly cohorts; a cup for 25 points.

    Dec 1   S1 enrols Gil and Hana, S2 enrols Ivo and Jon. Gil and Hana buy 30.00 each.
    Dec 11  Gil and Ivo buy 10.00 (day 10: back within 30 days). Gil takes a cup (day 10).
    Dec 21  Gil buys 10.00 (day 20: the same window again).
    Jan 5   S1 enrols Kim, S2 enrols Lea. Kim buys 50.00 and takes a cup (day 0).
    Jan 15  Gil buys 10.00, Hana 30.00 (day 45: days 31-60). Hana takes a cup (day 45: her
            points of Dec 1 expired on Dec 31).
    Feb 4   Kim buys 10.00 (day 30: days 1-30).
    Feb 20  Hana buys 10.00 (day 81: days 61-90).
    Mar 10  Lea buys 10.00 (day 64: days 61-90). Jon buys 30.00 (day 99: no window) and takes
            a cup (day 99: later than 90 days, so not a first reward within 90)."""
    s.on(date(2025, 12, 1))
    s.reward("cup", 25)
    for name, by in (("Gil", "S1"), ("Hana", "S1"), ("Ivo", "S2"), ("Jon", "S2")):
        s.enrol(name, by)
    s.buy("Gil", 3000, "S1")
    s.buy("Hana", 3000, "S1")
    s.on(date(2025, 12, 11))
    s.buy("Gil", 1000, "S1")
    s.buy("Ivo", 1000, "S2")
    s.redeem("Gil", "cup")
    s.on(date(2025, 12, 21))
    s.buy("Gil", 1000, "S1")
    s.on(date(2026, 1, 5))
    s.enrol("Kim", "S1")
    s.enrol("Lea", "S2")
    s.buy("Kim", 5000, "S1")
    s.redeem("Kim", "cup")
    s.on(date(2026, 1, 15))
    s.buy("Gil", 1000, "S1")
    s.buy("Hana", 3000, "S1")
    s.redeem("Hana", "cup")
    s.on(date(2026, 2, 4))
    s.buy("Kim", 1000, "S1")
    s.on(date(2026, 2, 20))
    s.buy("Hana", 1000, "S1")
    s.on(date(2026, 3, 10))
    s.buy("Lea", 1000, "S2")
    s.buy("Jon", 3000, "S2")
    s.redeem("Jon", "cup")


def test_retention_and_first_reward_by_monthly_cohort(story: Story) -> None:
    cohorts_story(story)
    with story.db.read() as conn:
        rows = kpis.cohorts(conn, story.shop.id, date(2025, 12, 1), date(2026, 3, 31))
        scope = story.scope(date(2025, 12, 1), date(2026, 3, 31), "month")
        first = kpis.first_reward(conn, scope)
        kept = kpis.retention(conn, scope)
        january = kpis.first_reward(conn, story.scope(date(2026, 1, 1), date(2026, 3, 31)))
    assert rows == [
        {
            "cohort": date(2025, 12, 1),
            "members": 4,
            "retained_30": 50.0,  # Gil and Ivo of 4
            "retained_60": 50.0,  # Gil and Hana of 4
            "retained_90": 25.0,  # Hana of 4 (Jon's day 99 is too late)
            "first_reward_90": 50.0,  # Gil and Hana of 4 (Jon's day 99 is too late)
            "median_days_to_first_reward": 27.5,  # (10 + 45) / 2
        },
        {
            "cohort": date(2026, 1, 1),
            "members": 2,
            "retained_30": 50.0,  # Kim of 2 (day 30 is the last of the first window)
            "retained_60": 0.0,
            "retained_90": 50.0,  # Lea of 2
            "first_reward_90": 50.0,  # Kim of 2
            "median_days_to_first_reward": 0.0,
        },
    ]
    # Both cohorts: 3 of 6 reached a first reward, after 0, 10 and 45 days: median 10
    assert first.value == 50.0
    assert first.extra == {"members": 6, "reached": 3, "median_days": 10.0}
    assert first.series == {"share": [50.0, 50.0]}
    assert kept.labels == [date(2025, 12, 1), date(2026, 1, 1)]
    assert kept.series == {"30": [50.0, 50.0], "60": [50.0, 0.0], "90": [25.0, 50.0]}
    # From January: Kim of Kim and Lea, on the day she joined
    assert (january.value, january.extra["median_days"]) == (50.0, 0.0)


def test_the_dashboard_gathers_every_figure(story: Story) -> None:
    february(story)
    with story.db.read() as conn:
        board = kpis.dashboard(conn, story.scope(FEB_2, MAR_2), story.clock.now())
    assert set(board) == {
        "enrolment_rate",
        "members",
        "members_vs_others",
        "points",
        "cashback",
        "first_reward",
        "retention",
    }
    assert board["enrolment_rate"].value == 66.7
    assert board["cashback"].unit == "money"
    assert board["cashback"].extra["issued"] == 0
