"""What a business gets when it starts from a template, besides the program itself: the products
its counter sells and a catalog entry for every reward the template gives, so that the rules can
be earned from the counter's buttons and a full card can be redeemed on the first day. Only what
is missing is added: entries the owner already made with the same code or slug are kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from lealtad.products import service as products
from lealtad.products.schemas import ProductIn
from lealtad.rewards import service as rewards
from lealtad.rewards import store as reward_store
from lealtad.rewards.schemas import RewardIn, Texts
from lealtad.rules.templates import Template


@dataclass(frozen=True)
class Furnished:
    products: int
    rewards: int


def furnish(
    conn: Connection,
    business_id: int,
    template: Template,
    now: datetime,
    given: tuple[RewardIn, ...] | None = None,
) -> Furnished:
    """`given` replaces the template's own (the set-up's titles for a card's reward)."""
    wanted = [
        ProductIn(
            sku=p.sku,
            category=p.category,
            title=Texts(es=p.title_es, en=p.title_en),
            price=p.price,
        )
        for p in template.products
    ]
    added_products = products.add_missing(conn, business_id, wanted, now)
    added_rewards = 0
    for reward in template.rewards if given is None else given:
        if reward_store.reward_by_slug(conn, business_id, reward.slug) is None:
            rewards.create(conn, business_id, reward, now)
            added_rewards += 1
    return Furnished(added_products, added_rewards)
