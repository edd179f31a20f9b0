"""Every template works at the counter as shipped: a business started from it sells the
template's products, every purchase rule earns from a sale made of those products the way the
counter's buttons make it (the other rules from their events, as a till or back office sends
them), and every reward the template can give has its catalog entry, titled in both languages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from lealtad.db.engine import Database
from lealtad.events import service as events
from lealtad.events.schemas import EventIn
from lealtad.members import service as members
from lealtad.members.schemas import MemberIn
from lealtad.products import service as products
from lealtad.purchases import service as purchases
from lealtad.purchases.schemas import PurchaseIn
from lealtad.rewards import store as reward_store
from lealtad.rules.definition import ProgramDefinition
from lealtad.rules.earn_rule import InstantReward
from lealtad.rules.starting import furnish
from lealtad.rules.templates import TEMPLATES, Template
from lealtad.tenancy import service as tenancy
from lealtad.tenancy.model import Principal, Role
from lealtad.web.counter.forms import items_total, parse_products

NAMES = list(TEMPLATES)


def _open(db: Database, template: Template, now: datetime) -> tuple[int, Principal]:
    with db.transaction() as conn:
        bid = tenancy.create_business(
            conn,
            name=template.title_es,
            currency=template.currency,
            timezone=template.timezone,
            locale=template.locale,
            now=now,
            program=template.build(),
        )
        furnish(conn, bid, template, now)
        location = tenancy.create_location(conn, bid, name="Shop", timezone=None, now=now)
    return bid, Principal(bid, Role.staff, location)


def _rule_time(program: ProgramDefinition, zone: str) -> datetime:
    """A moment every purchase rule's day and hours allow (a weekday afternoon where the
    business is), so that a happy hour counts too."""
    local = datetime(2026, 3, 3, 15, 0, tzinfo=ZoneInfo(zone))  # a Tuesday
    for rule in program.rules:
        c = rule.conditions
        assert not c.weekdays or local.weekday() in c.weekdays, rule.id
        assert not c.time_window or c.time_window.start <= local.time() < c.time_window.end
    return local.astimezone(UTC)


def _basket(db: Database, bid: int) -> list[Any]:
    """One of each product, tapped at the counter."""
    with db.read() as conn:
        sold = {p.id: p for p in products.listing(conn, bid)}
    return parse_products([str(i) for i in sold], ["1"] * len(sold), sold, lambda s: s)


def _enrol(db: Database, bid: int, name: str, now: datetime, **more: Any) -> Any:
    with db.transaction() as conn:
        member_id = members.enrol(
            conn, bid, MemberIn(name=name, **more), channel="counter", now=now
        )
        return members.get(conn, bid, member_id)


def _buy(
    db: Database, principal: Principal, currency: str, member_id: int, items: Any, at: datetime
) -> set[str]:
    """The rules a sale of these items earned, recorded as the counter records it."""
    with db.transaction() as conn:
        _status, answer = purchases.record(
            conn,
            principal,
            PurchaseIn(
                receipt_id=f"R-{member_id}-{at.timestamp()}",
                amount=items_total(items),
                currency=currency,
                member_id=member_id,
                channel="counter",
                items=items,
            ),
            secret_key="",
            now=at,
        )
    return {a["rule_id"] for a in answer["awards"]}


@pytest.mark.parametrize("name", NAMES)
def test_a_business_from_the_template_earns_every_rule_at_the_counter_and_can_give_every_reward(
    sqlite_db: Database, name: str
) -> None:
    template = TEMPLATES[name]
    program = template.build()
    opened = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    bid, principal = _open(sqlite_db, template, opened)
    basket = _basket(sqlite_db, bid)
    assert basket, "the template sells products: the counter has buttons"
    at = _rule_time(program, template.timezone)
    earned: set[str] = set()

    first = _enrol(sqlite_db, bid, "Primera", opened, email="first@example.org")
    earned |= _buy(sqlite_db, principal, template.currency, first.id, basket, at)
    triggers = {r.trigger for r in program.rules}
    if "referral" in triggers:
        friend = _enrol(
            sqlite_db,
            bid,
            "Amiga",
            opened,
            email="friend@example.org",
            referral_code=first.referral_code,
        )
        later = at + timedelta(minutes=5)
        earned |= _buy(sqlite_db, principal, template.currency, friend.id, basket, later)
    for trigger in triggers - {"purchase", "referral"}:
        with sqlite_db.transaction() as conn:
            _status, answer = events.record(
                conn,
                Principal(bid, Role.manager, principal.location_id),
                EventIn(
                    event_id=f"{trigger}-1", name=trigger, member_id=first.id, value=Decimal(2)
                ),
                secret_key="",
                now=at,
            )
        earned |= {a["rule_id"] for a in answer["awards"]}
    assert earned == {r.id for r in program.rules}

    with sqlite_db.read() as conn:
        catalog = {r.slug: r for r in reward_store.catalog(conn, bid, active_only=True)}
    given = {c.reward for c in program.stamp_cards}
    given |= {r.action.reward for r in program.rules if isinstance(r.action, InstantReward)}
    given |= {r.slug for r in template.rewards}
    assert given <= set(catalog), f"rewards without a catalog entry: {given - set(catalog)}"
    for card in program.stamp_cards:
        assert (catalog[card.reward].cost_unit, catalog[card.reward].cost) == (
            f"reward.{card.reward}",
            1,
        ), "a full card's reward costs the one reward the card gave"
    for slug in given:
        title = catalog[slug].title
        assert title["es"] != slug
        assert title["en"] != slug
    tiers = {t.id for t in program.tiers.levels} if program.tiers else set()
    for reward in catalog.values():
        assert set(reward.visible_tiers) <= tiers, "perks are offered to tiers the program has"
