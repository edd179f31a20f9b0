"""The demo business: a shop on one of the program templates, in its market's language, with two
locations, staff, an API key, the template's products and rewards, and about fifty members with a
few months of purchases from those products, redemptions and corrections, all written through the
same services as the API and the counter."""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from lealtad.branding import store as brand_store
from lealtad.db.engine import Database
from lealtad.demo_people import BRAND_COLOURS, BUSINESS_NAMES, LOCATIONS, member_name, words
from lealtad.errors import LealtadError
from lealtad.events import service as events
from lealtad.events.schemas import EventIn
from lealtad.kit.clock import naive_utc
from lealtad.ledger import adjustments
from lealtad.ledger.maturity import settle
from lealtad.members import service as members
from lealtad.members.schemas import Consent, MemberIn
from lealtad.purchases import refunds
from lealtad.purchases import service as purchases
from lealtad.purchases.schemas import ItemIn, PurchaseIn, RefundIn
from lealtad.rewards import redemption
from lealtad.rewards import service as rewards
from lealtad.rewards.model import SETTLED_AT_ONCE
from lealtad.rules.starting import furnish
from lealtad.rules.template_shops import ShopProduct
from lealtad.rules.templates import Template, get_template
from lealtad.tenancy import service as tenancy
from lealtad.tenancy import store as tenancy_store
from lealtad.tenancy.model import Principal, Role

SLUG = "demo-cafe"
PASSWORD = "demo-lealtad-2026"
# A contractor buys by the dozen; a shop customer one or two of a thing.
QUANTITIES = {"trade-b2b": (5, 60)}


@dataclass
class DemoInfo:
    business_id: int
    slug: str
    api_key: str
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    member_ids: list[int] = field(default_factory=list)
    created: bool = True


# Numbers set aside for fiction where the template's currency says the country: Ofcom's drama
# range in the UK, 555-01xx in North America; Spain and Chile have none, so an unassigned block.
_PHONES = {
    "GBP": "+447700900{n:03d}",
    "USD": "+1202555{n:04d}",
    "CLP": "+5690000{n:04d}",
}


def demo_phone(currency: str, n: int) -> str:
    """The n-th demo member's mobile number, in the business's country."""
    pattern = _PHONES.get(currency, "+3460000{n:04d}")
    return pattern.format(n=100 + n if currency == "USD" else n)


def _items(rng: random.Random, template: Template) -> list[ItemIn]:
    """A basket from the shop's products, as the counter's buttons would make it."""
    products: list[ShopProduct] = list(template.products)
    low, high = QUANTITIES.get(template.name, (1, 2))
    picked = rng.sample(products, min(len(products), rng.randint(1, 3)))
    return [
        ItemIn(
            sku=p.sku,
            category=p.category,
            quantity=Decimal(rng.randint(low, high)),
            unit_price=p.price,
        )
        for p in picked
    ]


def _total(items: list[ItemIn]) -> int:
    return int(sum(i.unit_price * i.quantity for i in items))


def seed(
    db: Database,
    now: datetime,
    *,
    template: str = "coffee-stamps",
    members_count: int = 50,
    seed_value: int = 7,
) -> DemoInfo:
    rng = random.Random(seed_value)
    chosen = get_template(template)
    slug = SLUG if template == "coffee-stamps" else f"demo-{template}"
    said = words(chosen.locale)
    with db.transaction() as conn:
        existing = tenancy_store.business_by_slug(conn, slug)
        if existing is not None:
            _, key = tenancy.create_api_key(
                conn, existing.id, name="demo counter", role=Role.manager, location_id=None, now=now
            )
            return DemoInfo(existing.id, slug, key, _logins(existing.id, conn), created=False)
        start = now - timedelta(days=120)
        bid = tenancy.create_business(
            conn,
            name=BUSINESS_NAMES.get(template, chosen.title_es),
            currency=chosen.currency,
            timezone=chosen.timezone,
            locale=chosen.locale,
            slug=slug,
            now=start,
            program=chosen.build(),
        )
        furnish(conn, bid, chosen, start)
        brand_store.save(conn, bid, naive_utc(start), colour=BRAND_COLOURS.get(template, "#5b3a29"))
        loc_ids = [
            tenancy.create_location(conn, bid, name=name, timezone=chosen.timezone, now=start)
            for name in LOCATIONS.get(template, ("1", "2"))
        ]
        staff_ids = {}
        for email, name, role, loc in (
            ("owner@demo-cafe.example", said.staff[0], Role.owner, None),
            ("manager@demo-cafe.example", said.staff[1], Role.manager, loc_ids[0]),
            ("counter1@demo-cafe.example", said.staff[2], Role.staff, loc_ids[0]),
            ("counter2@demo-cafe.example", said.staff[3], Role.staff, loc_ids[1]),
        ):
            staff_ids[email] = tenancy.create_staff(
                conn,
                bid,
                email=email,
                name=name,
                role=role,
                password=PASSWORD,
                location_id=loc,
                now=start,
            )
        _, key = tenancy.create_api_key(
            conn, bid, name="demo POS", role=Role.manager, location_id=None, now=start
        )
    info = DemoInfo(bid, slug, key)
    counters = [staff_ids["counter1@demo-cafe.example"], staff_ids["counter2@demo-cafe.example"]]
    program = chosen.build()
    triggers = {r.trigger for r in program.rules}
    points = any(r.action.type != "stamps" for r in program.rules)
    referral_codes: list[str] = []
    receipt = 1000
    for n in range(1, members_count + 1):
        joined = start + timedelta(days=rng.uniform(0, 110), hours=rng.uniform(8, 12))
        where = rng.randrange(2)
        other = "en" if chosen.locale == "es" else "es"
        referred = "referral" in triggers and n % 5 == 0 and referral_codes
        with db.transaction() as conn:
            member_id = members.enrol(
                conn,
                bid,
                MemberIn(
                    name=member_name(template, chosen.locale, n, rng),
                    email=f"member{n:02d}@demo-cafe.example",
                    phone=demo_phone(chosen.currency, n),
                    locale=chosen.locale if n % 4 else other,
                    tags=[said.regular_tag] if n % 3 == 0 else [],
                    consent=Consent(email=n % 5 != 0),
                    referral_code=referral_codes[-1] if referred else None,
                ),
                channel="counter",
                staff_id=counters[where],
                location_id=loc_ids[where],
                now=joined,
            )
            referral_codes.append(members.get(conn, bid, member_id).referral_code)
        info.member_ids.append(member_id)
        principal = Principal(bid, Role.staff, loc_ids[where], counters[where])
        visits = rng.randint(1, 14)
        at = joined
        for _ in range(visits):
            at = at + timedelta(days=rng.expovariate(1 / 6), hours=rng.uniform(-2, 2))
            if at >= now:
                break
            receipt += 1
            items = _items(rng, chosen)
            amount = _total(items)
            with db.transaction() as conn:
                purchases.record(
                    conn,
                    principal,
                    PurchaseIn(
                        receipt_id=f"R{receipt}",
                        amount=amount,
                        currency=chosen.currency,
                        member_id=member_id,
                        channel="counter",
                        occurred_at=at,
                        items=items,
                    ),
                    secret_key="",
                    now=at,
                )
                if rng.random() < 0.04:
                    refunds.refund(
                        conn,
                        principal,
                        RefundIn(
                            refund_id=f"RF{receipt}",
                            receipt_id=f"R{receipt}",
                            amount=amount // 2,
                            occurred_at=at,
                        ),
                        now=at,
                    )
            if rng.random() < 0.3:
                _redeem(db, principal, member_id, at, rng)
        _events(db, template, n, bid, loc_ids[where], member_id, min(at, now), rng)
        if points and n % 17 == 0:
            with db.transaction() as conn:
                adjustments.adjust(
                    conn,
                    bid,
                    member_id,
                    unit="points",
                    amount=50,
                    reason=said.apology,
                    actor=f"staff:{staff_ids['manager@demo-cafe.example']}",
                    now=at,
                )
    for i in range(40):
        at = start + timedelta(days=rng.uniform(0, 119))
        items = _items(rng, chosen)
        with db.transaction() as conn:
            purchases.record(
                conn,
                Principal(bid, Role.staff, loc_ids[i % 2]),
                PurchaseIn(
                    receipt_id=f"A{i}",
                    amount=_total(items),
                    currency=chosen.currency,
                    channel="counter",
                    occurred_at=at,
                    items=items,
                ),
                secret_key="",
                now=at,
            )
    with db.transaction() as conn:
        settle(conn, bid, now)
        info.logins = _logins(bid, conn)
    # The nightly scoring once, so that the owner's first look at the customers page and the
    # member pages shows segments and predicted values rather than "not computed yet" (imported
    # here: the models bring numpy and scipy, which a serving worker never loads).
    from lealtad.analytics.refresh import refresh

    with db.transaction() as conn:
        refresh(conn, bid, now)
    return info


def _redeem(
    db: Database, principal: Principal, member_id: int, at: datetime, rng: random.Random
) -> None:
    """A reward the member can afford, redeemed at the counter; most vouchers are used there and
    then, some wait in the wallet."""
    bid = principal.business_id
    with db.read() as conn:
        ready = [r for r in rewards.for_member(conn, bid, member_id, at) if r.affordable]
    if not ready:
        return
    reward = rng.choice(ready)
    # A refusal (a limit reached, stock gone since) rolls its own transaction back.
    with contextlib.suppress(LealtadError), db.transaction() as conn:
        voucher = redemption.redeem(conn, principal, member_id, reward.id, at)
        if reward.kind not in SETTLED_AT_ONCE and rng.random() < 0.7:
            redemption.validate(conn, principal, voucher.code, None, at)


def _events(
    db: Database,
    template: str,
    n: int,
    bid: int,
    location_id: int,
    member_id: int,
    when: datetime,
    rng: random.Random,
) -> None:
    """What contractors do besides buying: training they attended, surveys they answered."""
    if template != "trade-b2b":
        return
    happened = []
    if n % 3 == 0:
        happened.append(("training_hours", Decimal(rng.choice([2, 4, 8]))))
    if n % 4 == 0:
        happened.append(("survey_answered", Decimal(1)))
    for name, value in happened:
        with db.transaction() as conn:
            events.record(
                conn,
                Principal(bid, Role.manager, location_id),
                EventIn(
                    event_id=f"{name}-{member_id}",
                    name=name,
                    member_id=member_id,
                    value=value,
                    occurred_at=when,
                ),
                secret_key="",
                now=when,
            )


def _logins(bid: int, conn) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return [(row.email, PASSWORD, row.role) for row in tenancy_store.business_staff(conn, bid)]
