"""Small stories told through the real services for the KPI tests; see test_kpis.py.

The shop: Store 1 (L1) where "staff" (S1) works, Store 2 (L2) where "manager" (S2) works; 1 point
per euro (floor), points expire 30 days after they are earned, a point is worth 5 cents. Its time
zone is Madrid and every event happens at 10:30 UTC, so each local day is the date written."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

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


def new_story(db: Database, clock: FixedClock) -> Story:
    """A shop on Jan 5, 2026, with no members yet."""
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


FEB_2, MAR_2 = date(2026, 2, 2), date(2026, 3, 2)


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
