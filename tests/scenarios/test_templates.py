"""Every built-in template replays a scripted member history through the API: enrolment (and a
referral where the program has one), purchases across days and locations, events, refunds and
time passing far enough for expiry and tier reviews. Every figure is worked out by hand in the
comments; times are UTC, with the business's local time alongside where it matters."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.events.jobs import DailyRun, run_daily
from lealtad.kit.clock import FixedClock
from lealtad.rules.templates import TEMPLATES
from lealtad.tenancy import service as tenancy
from lealtad.tenancy.model import Role

Json = dict[str, Any]


def utc(text: str) -> datetime:
    """'2026-03-02 10:30' as a UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def item(sku: str, category: str, unit_price: int, quantity: int = 1) -> Json:
    return {"sku": sku, "category": category, "unit_price": unit_price, "quantity": quantity}


def earned(answer: Json) -> dict[str, int]:
    """A purchase's or event's awards, summed per rule."""
    out: dict[str, int] = {}
    for award in answer["awards"]:
        out[award["rule_id"]] = out.get(award["rule_id"], 0) + award["amount"]
    return out


@dataclass
class Story:
    """One business on a template, driven through the API like a till and a back office."""

    client: TestClient
    clock: FixedClock
    db: Database
    secret_key: str
    business_id: int
    currency: str
    headers: dict[str, str]
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def _next(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    def at(self, when: str) -> None:
        self.clock.at = utc(when)

    def _post(self, path: str, body: Json) -> Json:
        response = self.client.post(path, json=body, headers=self.headers)
        assert response.status_code == 201, response.text
        answer: Json = response.json()
        return answer

    def _get(self, path: str) -> Json:
        response = self.client.get(path, headers=self.headers)
        assert response.status_code == 200, response.text
        answer: Json = response.json()
        return answer

    def location(self, name: str, timezone: str | None = None) -> int:
        return int(self._post("/api/v1/locations", {"name": name, "timezone": timezone})["id"])

    def enrol(self, name: str, **fields: Any) -> Json:
        return self._post("/api/v1/members", {"name": name, **fields})

    def buy(
        self, member: Json, amount: int, *, where: int, items: Iterable[Json] = (), **extra: Any
    ) -> Json:
        body = {
            "receipt_id": self._next("R"),
            "amount": amount,
            "currency": self.currency,
            "member_id": member["id"],
            "location_id": where,
            "items": list(items),
            **extra,
        }
        return self._post("/api/v1/purchases", body)

    def refund(self, purchase: Json, amount: int | None = None) -> Json:
        body: Json = {"refund_id": self._next("F"), "receipt_id": purchase["receipt_id"]}
        if amount is not None:
            body["amount"] = amount
        return self._post("/api/v1/refunds", body)

    def event(self, member: Json, name: str, value: int = 1) -> Json:
        body = {"event_id": self._next("E"), "name": name, "member_id": member["id"]}
        return self._post("/api/v1/events", body | {"value": value})

    def daily(self) -> DailyRun:
        """The daily job (birthdays, tier review, expiry) as `lealtad jobs run` runs it."""
        with self.db.transaction() as conn:
            return run_daily(conn, self.business_id, self.clock.now(), self.secret_key)

    def balance(self, member: Json) -> Json:
        return self._get(f"/api/v1/members/{member['id']}/balance")

    def balances(self, member: Json) -> dict[str, int]:
        accounts: dict[str, int] = self.balance(member)["accounts"]
        return accounts

    def points(self, member: Json) -> int:
        return int(self.balance(member)["points"])

    def tier(self, member: Json) -> Json:
        return self._get(f"/api/v1/members/{member['id']}/tier")


@pytest.fixture
def open_business(
    client: TestClient, clock: FixedClock, db: Database, settings: Settings
) -> Callable[[str, str], Story]:
    """A business on the named template, in its currency, with an owner's API key."""

    def open_(template_name: str, timezone: str) -> Story:
        template = TEMPLATES[template_name]
        with db.transaction() as conn:
            business_id = tenancy.create_business(
                conn,
                name=template.title_en,
                currency=template.currency,
                timezone=timezone,
                locale="en",
                now=clock.now(),
                program=template.build(),
            )
            _, key = tenancy.create_api_key(
                conn, business_id, name="till", role=Role.owner, location_id=None, now=clock.now()
            )
        return Story(
            client,
            clock,
            db,
            settings.effective_secret_key,
            business_id,
            template.currency,
            {"Authorization": f"Bearer {key}"},
        )

    return open_


# The clock fixture starts at 2026-03-02 10:30 UTC, a Monday; every business opens then.


def test_a_coffee_regular_fills_two_cards_and_a_refund_after_the_first_is_a_shortfall(
    open_business: Callable[[str, str], Story],
) -> None:
    story = open_business("coffee-stamps", "Europe/Madrid")
    plaza = story.location("Plaza Mayor")
    station = story.location("Estación")
    lucia = story.enrol("Lucía", email="lucia@example.com")
    assert lucia["balances"] == {"points": 0, "points.pending": 0, "cashback": 0}

    def latte(n: int = 1) -> Json:
        return item("LATTE", "drinks", 350, n)

    story.at("2026-03-02 11:00")  # Monday, Plaza: 2 lattes and a croissant = 2 stamps
    bought = story.buy(lucia, 880, where=plaza, items=[latte(2), item("CRO", "bakery", 180)])
    assert earned(bought) == {"stamp-per-drink": 2}
    story.at("2026-03-03 08:00")  # Tuesday, station: a cappuccino = 1 stamp, 3 in all
    story.buy(lucia, 320, where=station, items=[item("CAP", "drinks", 320)])
    story.at("2026-03-05 12:30")  # Thursday, Plaza: an office round of 4 americanos = 7
    story.buy(lucia, 1000, where=plaza, items=[item("AME", "drinks", 250, 4)])
    story.at("2026-03-06 16:00")  # Friday, station: 2 flat whites and a muffin = 9
    story.buy(
        lucia, 1010, where=station, items=[item("FW", "drinks", 380, 2), item("MUF", "bakery", 250)]
    )
    story.at("2026-03-07 10:00")  # Saturday, Plaza: a bag of beans is no drink: no stamp
    beans = story.buy(lucia, 1290, where=plaza, items=[item("BEANS", "retail", 1290)])
    assert beans["awards"] == []
    assert story.balances(lucia)["stamps.coffee"] == 9

    story.at("2026-03-09 08:30")  # Monday, Plaza: 3 lattes = 12 stamps: one full card of 10
    completing = story.buy(lucia, 1050, where=plaza, items=[latte(3)])
    assert earned(completing) == {"stamp-per-drink": 3}
    assert completing["cards_completed"] == [
        {"member_id": lucia["id"], "card": "coffee", "cards": 1, "reward": "free-drink"}
    ]
    # 12 - 10 = 2 stamps carried over to the next card, and one free drink owed.
    assert story.balances(lucia) == {
        "points": 0,
        "points.pending": 0,
        "cashback": 0,
        "stamps.coffee": 2,
        "reward.free-drink": 1,
    }

    story.at("2026-03-09 09:00")  # one latte of the three refunded: 3 x 350/1050 = 1 stamp back
    first = story.refund(completing, 350)
    assert (first["reversed"], first["shortfall"]) == ({"stamps.coffee": 1}, {})
    assert first["balances"]["stamps.coffee"] == 1
    assert first["balances"]["reward.free-drink"] == 1

    story.at("2026-03-10 09:15")  # the other two refunded at the station: 3 - 1 = 2 stamps owed
    rest = story.refund(completing)
    assert rest["amount"] == 700
    # Only 1 stamp is left on the card to take back; the other was spent on the free drink,
    # which stays issued: it is the refund's shortfall.
    assert rest["reversed"] == {"stamps.coffee": 1}
    assert rest["shortfall"] == {"stamps.coffee": 1}
    assert story.balances(lucia) == {
        "points": 0,
        "points.pending": 0,
        "cashback": 0,
        "stamps.coffee": 0,
        "reward.free-drink": 1,
    }

    story.at("2026-03-12 13:00")  # Thursday, station: a team order of 6 lattes = 6 stamps
    assert story.buy(lucia, 2100, where=station, items=[latte(6)])["cards_completed"] == []
    story.at("2026-03-13 17:00")  # Friday, Plaza: 2 lattes and 3 teas = 11: the second card
    second = story.buy(lucia, 1300, where=plaza, items=[latte(2), item("TEA", "drinks", 200, 3)])
    assert second["cards_completed"] == [
        {"member_id": lucia["id"], "card": "coffee", "cards": 1, "reward": "free-drink"}
    ]
    final = {
        "points": 0,
        "points.pending": 0,
        "cashback": 0,
        "stamps.coffee": 1,  # 11 - 10 carried over
        "reward.free-drink": 2,
    }
    assert story.balances(lucia) == final

    story.at("2027-03-15 09:00")  # a year on: stamps and rewards never expire
    assert story.daily().expired == 0
    assert story.balances(lucia) == final


def test_a_points_shopper_earns_four_points_a_pound_that_refunds_take_back_and_never_expire(
    open_business: Callable[[str, str], Story],
) -> None:
    story = open_business("points-per-unit", "Europe/London")
    oxford = story.location("Oxford Street")
    kings_cross = story.location("King's Cross")
    oliver = story.enrol("Oliver", email="oliver@example.co.uk")

    story.at("2026-03-02 12:00")  # Oxford Street: £12.49 x 4 = 49.96, floored to 49
    lunch = story.buy(oliver, 1249, where=oxford)
    assert earned(lunch) == {"base": 49}
    assert lunch["awards"][0]["expires_at"] is None
    story.at("2026-03-02 18:30")  # same day, King's Cross: £3.75 x 4 = 15, 64 in all
    assert earned(story.buy(oliver, 375, where=kings_cross)) == {"base": 15}
    story.at("2026-03-04 13:00")  # Oxford Street: £40.00 x 4 = 160, 224 in all
    big = story.buy(oliver, 4000, where=oxford)
    assert earned(big) == {"base": 160}
    story.at("2026-03-11 17:45")  # King's Cross: £7.99 x 4 = 31.96 -> 31, 255 in all
    small = story.buy(oliver, 799, where=kings_cross)
    assert small["balances"] == {"points": 255, "points.pending": 0, "cashback": 0}

    story.at("2026-03-12 10:00")  # £15 of the £40 back: 160 x 1500/4000 = 60 -> 195
    assert story.refund(big, 1500)["reversed"] == {"points": 60}
    story.at("2026-03-14 11:00")  # £4.00 of £7.99 back: 31 x 400/799 = 15.52 -> 16 -> 179
    assert story.refund(small, 400)["reversed"] == {"points": 16}
    story.at("2026-03-15 11:00")  # the last £3.99: 31 - 16 = 15 -> 164 (31 back in all)
    last = story.refund(small)
    assert (last["amount"], last["reversed"], last["shortfall"]) == (399, {"points": 15}, {})
    assert story.balances(oliver) == {"points": 164, "points.pending": 0, "cashback": 0}

    story.at("2028-03-20 09:00")  # two years on: points never expire
    assert story.daily().expired == 0
    balance = story.balance(oliver)
    assert (balance["points"], balance["next_expiry"]) == (164, None)


def test_a_catalog_shopper_loses_each_purchases_points_two_years_after_earning_them(
    open_business: Callable[[str, str], Story],
) -> None:
    story = open_business("catalog-points", "America/Santiago")
    arauco = story.location("Parque Arauco")
    costanera = story.location("Costanera Center")
    camila = story.enrol("Camila", email="camila@example.cl")

    # CLP has no minor unit: amounts are pesos, 1 point per full 100 pesos.
    story.at("2026-03-02 15:00")  # Parque Arauco: $89.990 -> 899 points
    shoes = story.buy(camila, 89_990, where=arauco)
    assert earned(shoes) == {"base": 899}
    assert shoes["awards"][0]["expires_at"] == "2028-03-01T15:00:00Z"  # 730 days, 2028 is leap
    story.at("2026-03-03 20:00")  # Costanera: $24.990 -> 249, 1148 in all
    shirt = story.buy(camila, 24_990, where=costanera)
    assert earned(shirt) == {"base": 249}
    story.at("2026-04-11 18:00")  # Parque Arauco: a $459.990 television -> 4599, 5747 in all
    assert earned(story.buy(camila, 459_990, where=arauco)) == {"base": 4599}
    story.at("2026-04-13 14:00")  # $10.000 of the shirt back: 249 x 10000/24990 = 99.6 -> 100
    assert story.refund(shirt, 10_000)["reversed"] == {"points": 100}  # 149 of it left, 5647
    story.at("2027-01-15 15:00")  # Costanera: $15.000 -> 150, 5797 in all
    story.buy(camila, 15_000, where=costanera)
    assert story.points(camila) == 5797

    story.at("2028-03-01 12:00")  # the shoes' 899 expire at 15:00 today, not yet
    assert story.daily().expired == 0
    balance = story.balance(camila)
    assert (balance["next_expiry"], balance["next_expiry_amount"]) == ("2028-03-01T15:00:00Z", 899)

    story.at("2028-03-03 12:00")  # shoes (899) and what is left of the shirt (149) expired
    assert story.daily().expired == 899 + 149
    balance = story.balance(camila)
    assert balance["points"] == 5797 - 1048 == 4749
    assert (balance["next_expiry"], balance["next_expiry_amount"]) == ("2028-04-10T18:00:00Z", 4599)
    assert story.daily().expired == 0  # a second run the same day changes nothing

    story.at("2028-04-11 12:00")  # the television's 4599
    assert story.daily().expired == 4599
    assert story.points(camila) == 150
    story.at("2029-01-15 12:00")  # 2027-01-15 + 730 days = 2029-01-14: the last 150
    assert story.daily().expired == 150
    assert story.balances(camila) == {"points": 0, "points.pending": 0, "cashback": 0}


def test_a_gem_collector_climbs_to_ruby_keeps_it_after_the_refund_until_the_review_lowers_it(
    open_business: Callable[[str, str], Story],
) -> None:
    story = open_business("gem-tiers", "America/New_York")
    studio = story.location("Brooklyn studio")
    online = story.location("Online shop")
    maya = story.enrol("Maya", email="maya@example.com")
    assert maya["tier"] == "emerald"  # threshold 0: every member starts there

    story.at("2026-03-02 15:00")  # studio: $120.00 -> 120 points and $12.00 cashback
    assert earned(story.buy(maya, 12_000, where=studio)) == {"base": 120, "cashback": 1_200}
    story.at("2026-03-09 18:00")  # online: $95.50 -> 95 points, 955 cashback; $215.50 spent
    assert earned(story.buy(maya, 9_550, where=online)) == {"base": 95, "cashback": 955}
    story.at("2026-03-20 16:00")  # studio: $110.00 -> $325.50 spent this year: Sapphire
    sapphire = story.buy(maya, 11_000, where=studio)
    assert (sapphire["tier"], sapphire["tier_changed"]) == ("sapphire", True)
    assert earned(sapphire) == {"base": 110, "cashback": 1_100}  # earned at Emerald
    assert sapphire["balances"] == {"points": 325, "points.pending": 0, "cashback": 3_255}

    story.at("2026-04-02 14:00")  # online: $80.00 of which $10.00 paid with cashback
    paid = story.buy(maya, 8_000, where=online, cashback_redeem=1_000)
    # $70.00 earns: 70 points + Sapphire's 25% (17.5 -> 17), and 10% = 700 cashback.
    assert earned(paid) == {"base": 70, "tier:sapphire": 17, "cashback": 700}
    assert paid["balances"]["cashback"] == 3_255 - 1_000 + 700 == 2_955
    assert story.tier(maya)["value"] == "40550"  # the whole $80 counts as spend: $405.50

    story.at("2026-05-15 17:00")  # studio: a $450.00 kit -> $855.50 spent: Ruby
    kit = story.buy(maya, 45_000, where=studio)
    assert (kit["tier"], kit["tier_changed"]) == ("ruby", True)
    # At Sapphire: 450 + 112 (25% of 450 = 112.5, floored), and 4500 cashback.
    assert earned(kit) == {"base": 450, "tier:sapphire": 112, "cashback": 4_500}
    assert kit["balances"] == {"points": 974, "points.pending": 0, "cashback": 7_455}

    story.at("2026-05-18 15:00")  # the kit goes back, whole: everything it earned is taken back
    returned = story.refund(kit)
    assert returned["reversed"] == {"points": 562, "cashback": 4_500}
    assert returned["shortfall"] == {}
    assert returned["balances"] == {"points": 412, "points.pending": 0, "cashback": 2_955}
    # Net spend is back to $405.50, short of Ruby's $750, but the tier holds: it was earned in
    # 2026, so it lasts through 2027 plus 30 days of grace (2028-01-31 00:00 in New York).
    assert returned["tier_changed"] is False
    tier = story.tier(maya)
    assert (tier["tier"], tier["value"]) == ("ruby", "40550")
    assert tier["held_until"] == "2028-01-31T05:00:00Z"

    story.at("2026-06-01 16:00")  # online: $60.00 at Ruby: 60 + 50% = 90 points, 600 cashback
    assert earned(story.buy(maya, 6_000, where=online)) == {
        "base": 60,
        "tier:ruby": 30,
        "cashback": 600,
    }
    assert story.balances(maya) == {"points": 502, "points.pending": 0, "cashback": 3_555}

    story.at("2028-01-10 17:00")  # studio, the new year: $320.00 at Ruby still: 320 + 160
    january = story.buy(maya, 32_000, where=studio)
    assert earned(january) == {"base": 320, "tier:ruby": 160, "cashback": 3_200}
    # $320 in 2028 is Sapphire's spend; lower than Ruby, which holds until its end.
    assert (january["tier"], january["tier_changed"]) == ("ruby", False)
    story.at("2028-01-20 17:00")  # $40.00 of it back: 480 x 4000/32000 = 60, 3200 x 1/8 = 400
    assert story.refund(january, 4_000)["reversed"] == {"points": 60, "cashback": 400}

    story.at("2028-01-30 15:00")  # the hold has a day to run: the review leaves Ruby alone
    assert story.daily().tier_changes == 0
    assert story.tier(maya)["tier"] == "ruby"
    story.at("2028-01-31 12:00")  # past held_until: the review counts 2028's net spend, $280.00
    assert story.daily().tier_changes == 1
    tier = story.tier(maya)
    # Gross $320 would have kept Sapphire; net of the refund it is below $300: Emerald.
    assert (tier["tier"], tier["value"], tier["next_tier"]) == ("emerald", "28000", "sapphire")
    assert story.balances(maya) == {
        "points": 502 + 480 - 60,
        "points.pending": 0,
        "cashback": 3_555 + 3_200 - 400,
    }


def test_a_stars_member_reaches_gold_on_birthday_stars_earns_more_then_stars_lapse(
    open_business: Callable[[str, str], Story],
) -> None:
    story = open_business("stars-tiers", "America/Los_Angeles")
    pike = story.location("Pike Place")
    jfk = story.location("JFK Terminal 4", "America/New_York")
    sam = story.enrol("Sam", email="sam@example.com", birthday="1991-03-12")
    assert sam["tier"] == "green"

    # 2 stars per dollar; weekdays 14:00-17:00 local time at the store double them.
    story.at("2026-03-02 17:00")  # Mon 09:00 in Seattle: $5.45 -> 10.9 -> 10 stars
    assert earned(story.buy(sam, 545, where=pike)) == {"base": 10}
    story.at("2026-03-03 22:30")  # Tue 14:30 in Seattle: $6.25 -> 12, doubled: 24 (34 in all)
    assert earned(story.buy(sam, 625, where=pike)) == {"base": 12, "happy-hour": 12}
    story.at("2026-03-05 19:30")  # Thu 14:30 at JFK (11:30 in Seattle): $12.00 -> 24 + 24 (82)
    assert earned(story.buy(sam, 1_200, where=jfk)) == {"base": 24, "happy-hour": 24}
    story.at("2026-03-07 22:00")  # Sat 14:00 in Seattle: weekends have no happy hour: 24 (106)
    assert earned(story.buy(sam, 1_200, where=pike)) == {"base": 24}
    story.at("2026-03-10 23:00")  # Tue 16:00 in Seattle (now PDT): $40.00 -> 80 + 80 (266)
    assert earned(story.buy(sam, 4_000, where=pike)) == {"base": 80, "happy-hour": 80}
    assert story.tier(sam)["remaining"] == "34"  # 300 - 266 stars to Gold

    story.at("2026-03-12 15:00")  # 08:00 on Sam's birthday: 50 stars, 316 earned: Gold
    run = story.daily()
    assert (run.birthdays, run.expired) == (1, 0)
    assert story.points(sam) == 316
    assert story.tier(sam)["tier"] == "gold"
    story.daily()  # the job again the same day replays the same birthday event:
    assert story.points(sam) == 316  # birthday stars once a year, not twice

    story.at("2026-03-16 16:00")  # Mon 09:00: $45.00 beans and a mug -> 90 + Gold's 20% = 18
    beans_and_mug = story.buy(sam, 4_500, where=pike)
    assert earned(beans_and_mug) == {"base": 90, "tier:gold": 18}  # 424 in all
    story.at("2026-03-17 22:00")  # Tue 15:00: $10.00 -> 20 + happy 20 + Gold 20% of 20 = 4
    assert earned(story.buy(sam, 1_000, where=pike)) == {
        "base": 20,
        "happy-hour": 20,
        "tier:gold": 4,
    }
    assert story.points(sam) == 468
    story.at("2026-03-18 18:00")  # the $15.00 mug goes back: 108 x 1500/4500 = 36 stars
    assert story.refund(beans_and_mug, 1_500)["reversed"] == {"points": 36}
    tier = story.tier(sam)
    assert (tier["tier"], tier["value"]) == ("gold", "432")  # stars earned net of the refund
    story.at("2026-07-01 16:00")  # Wed 09:00: $20.00 -> 40 + Gold 8 = 48, 480 in all
    assert earned(story.buy(sam, 2_000, where=pike)) == {"base": 40, "tier:gold": 8}
    assert story.points(sam) == 480

    # Stars lapse 180 days after they are earned: March's in early September.
    story.at("2026-09-10 12:00")
    # 10 (Aug 29) + 24 (Aug 30) + 48 (Sep 1) + 24 (Sep 3) + 160 (Sep 6) + birthday 50 (Sep 8)
    assert story.daily().expired == 316
    assert story.points(sam) == 164
    story.at("2026-10-12 12:00")  # the beans' 108 - 36 = 72 (Sep 12) and 44 (Sep 13)
    assert story.daily().expired == 72 + 44
    assert story.points(sam) == 48
    story.at("2027-01-05 12:00")  # July's 48 (Dec 28)
    assert story.daily().expired == 48
    assert story.balances(sam) == {"points": 0, "points.pending": 0, "cashback": 0}

    # Gold held while Sam kept qualifying: the last extension was July 1st + 365 + 30 days.
    assert story.tier(sam)["held_until"] == "2027-07-31T16:00:00Z"
    story.at("2027-07-31 12:00")
    assert story.daily().tier_changes == 0
    assert story.tier(sam)["tier"] == "gold"
    story.at("2027-08-01 12:00")  # no stars earned in the last 365 days: back to Green
    assert story.daily().tier_changes == 1
    tier = story.tier(sam)
    assert (tier["tier"], tier["value"]) == ("green", "0")


def test_a_contractor_referred_by_another_earns_training_and_surveys_and_keeps_a_held_tier(
    open_business: Callable[[str, str], Story],
) -> None:
    story = open_business("trade-b2b", "America/Chicago")
    dallas = story.location("Dallas branch")
    fort_worth = story.location("Fort Worth branch")
    rivera = story.enrol("Rivera Roofing", email="office@rivera.example")
    hale = story.enrol(
        "Hale Contracting", email="ops@hale.example", referral_code=rivera["referral_code"]
    )
    assert hale["referred_by_member_id"] == rivera["id"]
    # The referral pays on Hale's first purchase, not at sign-up.
    assert (story.points(rivera), story.points(hale)) == (0, 0)
    assert (hale["tier"], rivera["tier"]) == ("member", "member")

    story.at("2026-03-03 15:00")  # Dallas: Hale's first order, $8,400.00 -> 8400 points
    first = story.buy(hale, 840_000, where=dallas)
    assert [(a["rule_id"], a["member_id"], a["amount"]) for a in first["awards"]] == [
        ("base", hale["id"], 8_400),
        ("referral", rivera["id"], 500),  # 500 to the referrer
    ]
    story.at("2026-03-04 16:00")  # Fort Worth: Rivera's own $3,200.00 -> 3200, 3700 in all
    story.buy(rivera, 320_000, where=fort_worth)
    story.at("2026-03-10 14:00")  # Fort Worth: Hale $12,750.50 -> 12750; no second referral
    second = story.buy(hale, 1_275_050, where=fort_worth)
    assert earned(second) == {"base": 12_750}
    assert story.points(rivera) == 3_700

    story.at("2026-03-12 20:00")  # a 16-hour course: 100 points an hour = 1600
    assert earned(story.event(hale, "training_hours", 16)) == {"training": 1_600}
    story.at("2026-03-20 20:00")  # a survey answered: 50
    assert earned(story.event(hale, "survey_answered")) == {"survey": 50}
    story.at("2026-03-26 20:00")  # 30 more hours, but training caps at 4000 points a year:
    assert earned(story.event(hale, "training_hours", 30)) == {"training": 2_400}  # 4000 - 1600
    assert story.points(hale) == 8_400 + 12_750 + 1_600 + 50 + 2_400 == 25_200

    story.at("2026-04-06 15:00")  # Dallas: $6,000.00 -> $27,150.50 this year: Preferred
    upgrade = story.buy(hale, 600_000, where=dallas)
    assert (upgrade["tier"], upgrade["tier_changed"]) == ("preferred", True)
    assert earned(upgrade) == {"base": 6_000}  # earned at Member
    story.at("2026-04-08 15:00")  # the whole order is returned: its 6000 points go back
    returned = story.refund(upgrade)
    assert (returned["reversed"], returned["tier_changed"]) == ({"points": 6_000}, False)
    # Net spend $21,150.50 is short of $25,000, but Preferred holds through 2027 plus 30 days.
    tier = story.tier(hale)
    assert (tier["tier"], tier["value"]) == ("preferred", "2115050")
    assert tier["held_until"] == "2028-01-31T06:00:00Z"  # midnight in Chicago
    story.at("2026-05-20 15:00")  # Dallas: $1,000.00 at Preferred: 1000 + 10% = 1100
    assert earned(story.buy(hale, 100_000, where=dallas)) == {"base": 1_000, "tier:preferred": 100}
    assert story.points(hale) == 25_200 + 1_100 == 26_300

    story.at("2028-01-30 12:00")  # the hold runs to the 31st: still Preferred
    assert story.daily().tier_changes == 0
    assert story.tier(hale)["tier"] == "preferred"
    story.at("2028-01-31 12:00")  # past held_until: no spend in 2028 qualifies: Member
    assert story.daily().tier_changes == 1
    assert (story.tier(hale)["tier"], story.tier(rivera)["tier"]) == ("member", "member")
    story.at("2028-02-10 20:00")  # a new year, a fresh training cap: 10 hours = 1000
    assert earned(story.event(hale, "training_hours", 10)) == {"training": 1_000}

    # Points last 730 days: 8400, 12750, 1600 and 50 of March 2026 lapse by March 21st 2028.
    story.at("2028-03-21 12:00")
    assert story.daily().expired == 22_800 + 3_700  # with Rivera's 500 and 3200
    assert story.points(hale) == 26_300 + 1_000 - 22_800 == 4_500
    assert story.points(rivera) == 0
    story.at("2028-05-21 12:00")  # the capped training (2400, Mar 25) and May's 1100 (May 19)
    assert story.daily().expired == 3_500
    assert story.balances(hale) == {"points": 1_000, "points.pending": 0, "cashback": 0}
