"""The next-best offer, on hand-built histories: the favourite category by spend (ties to the
most recent), a reward the member can afford and never had first, then the wallet's next
reward, then a nudge in the favourite category; only rewards the member may see; es and en."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update

from lealtad.analytics.tables import member_stats
from lealtad.comms import personal
from lealtad.comms.offers import amount_text, next_best_offer, taste_of
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.ledger import adjustments
from lealtad.ledger import service as ledger
from lealtad.members import service as members
from lealtad.purchases import refunds
from lealtad.purchases import service as purchases
from lealtad.purchases.schemas import ItemIn, PurchaseIn, RefundIn
from lealtad.rewards import redemption
from lealtad.rewards import service as rewards
from lealtad.rewards.schemas import RewardIn
from lealtad.rules.definition import ProgramDefinition, Tier, TierPolicy
from lealtad.rules.earn_rule import EarnRule, PointsPerUnit
from lealtad.tenancy import service as tenancy
from lealtad.tiers import service as tiers
from tests.support import Shop, make_shop

_receipts = itertools.count(1)


def buy(db: Database, shop: Shop, clock: FixedClock, member: int, *items: tuple) -> str:
    """One purchase a day later than the last, of (sku, category, quantity, unit price) items;
    the program gives a point per euro, so 600 cents earn 6 points."""
    clock.at = clock.at + timedelta(days=1)
    lines = [ItemIn(sku=s, category=c, quantity=Decimal(q), unit_price=p) for s, c, q, p in items]
    amount = sum(int(line.quantity * line.unit_price) for line in lines)
    receipt = f"O-{next(_receipts)}"
    body = PurchaseIn(
        receipt_id=receipt, amount=amount, currency="EUR", member_id=member, items=lines
    )
    with db.transaction() as conn:
        purchases.record(conn, shop.principal(), body, secret_key="s", now=clock.now())
    return receipt


def give(db: Database, shop: Shop, clock: FixedClock, member: int, points: int) -> None:
    with db.transaction() as conn:
        adjustments.adjust(
            conn,
            shop.id,
            member,
            unit="points",
            amount=points,
            reason="test",
            actor="t",
            now=clock.now(),
        )


def reward(db: Database, shop: Shop, clock: FixedClock, slug: str, cost: int, **extra: Any) -> int:
    data: dict[str, Any] = {
        "slug": slug,
        "kind": "free_product" if extra.get("sku") else "physical_gift",
        "title": {"es": extra.pop("es", slug.title()), "en": extra.pop("en", slug.title())},
        "cost": cost,
        **extra,
    }
    with db.transaction() as conn:
        return rewards.create(conn, shop.id, RewardIn.model_validate(data), clock.now())


def redeem(db: Database, shop: Shop, clock: FixedClock, member: int, reward_id: int) -> None:
    with db.transaction() as conn:
        redemption.redeem(conn, shop.principal(), member, reward_id, clock.now())


def offer(db: Database, shop: Shop, clock: FixedClock, member: int, lang: str = "en") -> Any:
    with db.read() as conn:
        return next_best_offer(conn, shop.id, member, clock.now(), lang)


def points(db: Database, shop: Shop, member: int) -> int:
    with db.read() as conn:
        return ledger.balances(conn, shop.id, member)["points"]


def test_the_favourite_category_is_the_one_with_most_spend_and_a_tie_goes_to_the_latest(
    db, shop, clock
) -> None:
    member = shop.members[0]
    assert offer(db, shop, clock, member) is None  # no history, no rewards: nothing to say
    buy(db, shop, clock, member, ("CROISSANT", "pastries", 2, 300))  # pastries 600
    buy(db, shop, clock, member, ("LATTE", "coffee", 2, 200))  # coffee 400, more recent
    assert offer(db, shop, clock, member).favourite_category == "pastries"
    buy(db, shop, clock, member, ("ESPRESSO", "coffee", "0.5", 400))  # coffee 600: a tie
    assert offer(db, shop, clock, member).favourite_category == "coffee"
    buy(db, shop, clock, member, ("MUFFIN", "pastries", 1, 100), ("TAP", None, 1, 900))
    found = offer(db, shop, clock, member)
    assert (found.kind, found.reward, found.favourite_category) == ("usual", None, "pastries")
    assert found.sentence == "Your usual: pastries. Every visit counts."
    spanish = offer(db, shop, clock, member, "es")
    assert spanish.sentence == "Lo de siempre: pastries. Cada visita cuenta."


def test_only_the_last_fifty_purchases_count_and_one_refunded_in_full_does_not(
    db, shop, clock
) -> None:
    member = shop.members[0]
    buy(db, shop, clock, member, ("CAKE", "cakes", 50, 1000))  # 50,000: the 51st from the end
    for _ in range(50):
        buy(db, shop, clock, member, ("LATTE", "coffee", 1, 100))  # 5,000 in all
    assert offer(db, shop, clock, member).favourite_category == "coffee"
    wine = buy(db, shop, clock, member, ("WINE", "wine", 1, 9000))
    assert offer(db, shop, clock, member).favourite_category == "wine"
    with db.transaction() as conn:
        body = RefundIn(refund_id="F-wine", receipt_id=wine, amount=9000)
        refunds.refund(conn, shop.principal(), body, now=clock.now())
    # The refunded one is left out, and the window of fifty is still all coffee.
    assert offer(db, shop, clock, member).favourite_category == "coffee"


def test_a_reward_affordable_and_never_had_comes_first_then_the_next_reward_again(
    db, shop, clock
) -> None:
    member = shop.members[0]
    buy(db, shop, clock, member, ("CROISSANT", "pastries", 2, 300))  # 6 points
    buy(db, shop, clock, member, ("LATTE", "coffee", 1, 200))  # 2 points
    give(db, shop, clock, member, 192)
    assert points(db, shop, member) == 200
    tea = reward(db, shop, clock, "tea", 60, sku="TEA", es="Té", en="Tea")
    reward(db, shop, clock, "cookie", 80, sku="COOKIE", es="Galleta", en="Cookie")
    cap = reward(db, shop, clock, "cap", 100, featured=True, es="Gorra", en="Cap")
    croissant = reward(db, shop, clock, "croissant", 150, sku="CROISSANT", en="Croissant")
    reward(db, shop, clock, "bag", 500, es="Bolsa", en="Bag")

    # All but the bag are affordable: the croissant is in the favourite category (pastries).
    found = offer(db, shop, clock, member)
    assert (found.kind, found.reward.id, found.missing) == ("new", croissant, 0)
    assert (found.reward.cost, found.reward.unit) == (150, "points")
    assert (
        found.sentence == "You can redeem Croissant now for 150 points: you haven't tried it yet!"
    )
    redeem(db, shop, clock, member, croissant)  # 50 left
    give(db, shop, clock, member, 60)  # 110: tea, cookie and the featured cap
    found = offer(db, shop, clock, member, "es")
    assert (found.kind, found.reward.id, found.reward.title) == ("new", cap, "Gorra")
    assert found.sentence == "Ya puedes canjear Gorra por 100 puntos: ¡todavía no lo has probado!"
    redeem(db, shop, clock, member, cap)  # 10 left
    give(db, shop, clock, member, 140)  # 150: the croissant again, but it was had; tea is cheapest
    assert offer(db, shop, clock, member).reward.id == tea
    redeem(db, shop, clock, member, tea)
    assert offer(db, shop, clock, member).reward.title == "Cookie"  # 90 left
    redeem(db, shop, clock, member, offer(db, shop, clock, member).reward.id)  # 10 left
    give(db, shop, clock, member, 140)  # 150 and every affordable reward already had
    found = offer(db, shop, clock, member)
    with db.read() as conn:
        upcoming = personal.next_reward(conn, shop.id, member, "en", clock.now())
    assert upcoming is not None
    assert (found.kind, found.reward.id, found.missing) == ("closest", upcoming.reward_id, 0)
    assert found.reward.id == croissant  # the dearest one they can redeem, as the wallet says
    assert found.sentence == "You can redeem Croissant again now."
    assert offer(db, shop, clock, member, "es").sentence == "Ya puedes volver a canjear Croissant."


def test_without_one_to_afford_the_offer_is_the_closest_reward_with_what_is_missing(
    db, shop, clock
) -> None:
    member = shop.members[0]
    give(db, shop, clock, member, 40)
    reward(db, shop, clock, "cap", 100, featured=True)
    cookie = reward(db, shop, clock, "cookie", 80, sku="COOKIE", es="Galleta", en="Cookie")
    reward(db, shop, clock, "bag", 500)
    found = offer(db, shop, clock, member)
    assert (found.kind, found.reward.id, found.missing, found.favourite_category) == (
        "closest",
        cookie,
        40,
        None,
    )
    assert found.sentence == "Only 40 points away from Cookie."
    assert offer(db, shop, clock, member, "es").sentence == "Solo te faltan 40 puntos para Galleta."
    with db.read() as conn:
        upcoming = personal.next_reward(conn, shop.id, member, "en", clock.now())
        business = tenancy.get_business(conn, shop.id)
        about = personal.member_context(
            conn, business, members.get(conn, shop.id, member), "es", clock.now()
        )
    assert upcoming is not None
    assert (upcoming.reward_id, upcoming.missing) == (cookie, 40)
    assert about["offer"] == "Solo te faltan 40 puntos para Galleta."
    assert about["favourite_category"] == ""


def test_a_member_with_no_purchases_gets_the_closest_reward_or_nothing(db, shop, clock) -> None:
    member = shop.members[0]
    assert offer(db, shop, clock, member) is None
    reward(db, shop, clock, "cookie", 80, es="Galleta", en="Cookie")
    found = offer(db, shop, clock, member)
    assert (found.kind, found.missing, found.favourite_category) == ("closest", 80, None)
    assert found.sentence == "Only 80 points away from Cookie."


def _tiered() -> ProgramDefinition:
    return ProgramDefinition(
        rules=[EarnRule(id="base", name="Points", action=PointsPerUnit(rate=Decimal(1)))],
        tiers=TierPolicy(
            metric="visits",
            levels=[
                Tier(id="bronze", name="Bronze", threshold=Decimal(0)),
                Tier(id="gold", name="Gold", threshold=Decimal(100)),
            ],
        ),
    )


def test_only_rewards_shown_to_the_members_tier_or_segment_are_offered(db, clock) -> None:
    shop = make_shop(db, clock.now(), program=_tiered(), members_count=3)
    plain_member, gold_member, champion = shop.members
    for member in shop.members:
        give(db, shop, clock, member, 50)
    gold_only = reward(db, shop, clock, "lounge", 10, visible_tiers=["gold"])
    for_champions = reward(db, shop, clock, "vip", 20, visible_segments=["champions"])
    plain = reward(db, shop, clock, "bag", 300)
    with db.transaction() as conn:
        policy = _tiered().tiers
        tiers.set_floor(
            conn, shop.id, gold_member, policy, "gold", "t", clock.now(), ZoneInfo("Europe/Madrid")
        )
        # The segment a refresh of the RFM scores would write.
        conn.execute(
            update(member_stats)
            .where(member_stats.c.business_id == shop.id, member_stats.c.member_id == champion)
            .values(segment="champions")
        )
    found = offer(db, shop, clock, plain_member)
    assert (found.kind, found.reward.id, found.missing) == ("closest", plain, 250)
    gold = offer(db, shop, clock, gold_member)
    assert (gold.kind, gold.reward.id) == ("new", gold_only)
    assert offer(db, shop, clock, champion).reward.id == for_champions


def test_amounts_are_worded_in_the_members_language() -> None:
    assert amount_text(1, "points", "en") == "1 point"
    assert amount_text(1200, "points", "en") == "1,200 points"
    assert amount_text(1, "stamps.coffee", "es") == "1 sello"
    assert amount_text(3, "stamps.coffee", "es") == "3 sellos"
    assert amount_text(2, "reward.free-coffee", "en") == "2 earned rewards"
    assert amount_text(1, "reward.free-coffee", "es") == "1 premio ganado"


def test_the_taste_ignores_items_without_a_category_and_bad_quantities() -> None:
    taste = taste_of(
        [
            [{"sku": "A", "category": "tea", "quantity": "2", "unit_price": 100}],
            [{"sku": "B", "category": None, "quantity": "9", "unit_price": 900}],
            [{"sku": "C", "category": "cake", "quantity": "x", "unit_price": 900}],
        ]
    )
    assert (taste.favourite, taste.sku_category) == ("tea", {"A": "tea", "C": "cake"})
    assert taste_of([]).favourite is None
