"""The demo coffee shop: two locations, staff, an API key and about fifty members with a few
months of history, all written through the same services as the API."""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from lealtad.db.engine import Database
from lealtad.errors import InsufficientBalance
from lealtad.events import service as events
from lealtad.events.schemas import EventIn
from lealtad.kit.money import minor_exponent
from lealtad.ledger import adjustments
from lealtad.ledger.maturity import settle
from lealtad.members import service as members
from lealtad.members.schemas import Consent, MemberIn
from lealtad.purchases import refunds
from lealtad.purchases import service as purchases
from lealtad.purchases.schemas import ItemIn, PurchaseIn, RefundIn
from lealtad.rules.templates import get_template
from lealtad.tenancy import service as tenancy
from lealtad.tenancy import store as tenancy_store
from lealtad.tenancy.model import Principal, Role

SLUG = "demo-cafe"
PASSWORD = "demo-lealtad-2026"
MENU = [
    ("ESP", "drinks", 150),
    ("CAP", "drinks", 260),
    ("LAT", "drinks", 290),
    ("TEA", "drinks", 220),
    ("CRO", "bakery", 180),
    ("TOS", "food", 350),
    ("BOC", "food", 520),
]
# Prices above are in euro cents; other templates' shops sell at their own scale.
PRICE_SCALE = {"trade-b2b": 40}


@dataclass
class DemoInfo:
    business_id: int
    slug: str
    api_key: str
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    member_ids: list[int] = field(default_factory=list)
    created: bool = True


def _items(rng: random.Random, scale: int) -> list[ItemIn]:
    picked = rng.sample(MENU, rng.randint(1, 3))
    return [
        ItemIn(sku=sku, category=cat, quantity=Decimal(rng.randint(1, 2)), unit_price=price * scale)
        for sku, cat, price in picked
    ]


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
    # Menu prices are euro cents; a currency without minor units (CLP) runs ~1,000 to the euro.
    per_euro_cent = 10 if minor_exponent(chosen.currency) == 0 else 1
    scale = PRICE_SCALE.get(template, 1) * per_euro_cent
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
            name=f"Lealtad demo: {chosen.title_en}",
            currency=chosen.currency,
            timezone="Europe/Madrid",
            locale="es",
            slug=slug,
            now=start,
            program=chosen.build(),
        )
        loc_ids = [
            tenancy.create_location(conn, bid, name=name, timezone="Europe/Madrid", now=start)
            for name in ("Centro", "Estación")
        ]
        staff_ids = {}
        for email, name, role, loc in (
            ("owner@demo-cafe.example", "Owner / Propietario", Role.owner, None),
            ("manager@demo-cafe.example", "Manager / Encargado", Role.manager, loc_ids[0]),
            ("counter1@demo-cafe.example", "Counter Centro", Role.staff, loc_ids[0]),
            ("counter2@demo-cafe.example", "Counter Estación", Role.staff, loc_ids[1]),
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
    receipt = 1000
    for n in range(1, members_count + 1):
        joined = start + timedelta(days=rng.uniform(0, 110), hours=rng.uniform(8, 12))
        where = rng.randrange(2)
        with db.transaction() as conn:
            member_id = members.enrol(
                conn,
                bid,
                MemberIn(
                    name=f"Socio demo {n:02d}",
                    email=f"member{n:02d}@demo-cafe.example",
                    phone=f"+3460000{n:04d}",
                    locale="es" if n % 4 else "en",
                    tags=["demo"] + (["regular"] if n % 3 == 0 else []),
                    consent=Consent(email=n % 5 != 0),
                ),
                channel="counter",
                staff_id=counters[where],
                location_id=loc_ids[where],
                now=joined,
            )
        info.member_ids.append(member_id)
        visits = rng.randint(1, 14)
        at = joined
        for _ in range(visits):
            at = at + timedelta(days=rng.expovariate(1 / 6), hours=rng.uniform(-2, 2))
            if at >= now:
                break
            receipt += 1
            items = _items(rng, scale)
            amount = int(sum(i.unit_price * i.quantity for i in items))
            principal = Principal(bid, Role.staff, loc_ids[where], counters[where])
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
            if rng.random() < 0.15:
                # The suppress sits outside the transaction so that a refused spend rolls back.
                with contextlib.suppress(InsufficientBalance), db.transaction() as conn:
                    adjustments.spend(
                        conn,
                        bid,
                        member_id,
                        unit="points",
                        amount=100,
                        memo="free coffee at the counter / café gratis",
                        actor=f"staff:{counters[where]}",
                        now=at,
                    )
        if template == "trade-b2b" and n % 3 == 0:
            # Contractors log the training they attended; the program pays points per hour.
            when = min(at, now)
            with db.transaction() as conn:
                events.record(
                    conn,
                    Principal(bid, Role.manager, loc_ids[where]),
                    EventIn(
                        event_id=f"training-{member_id}",
                        name="training_hours",
                        member_id=member_id,
                        value=Decimal(rng.choice([2, 4, 8])),
                        occurred_at=when,
                    ),
                    secret_key="",
                    now=when,
                )
        if n % 17 == 0:
            with db.transaction() as conn:
                adjustments.adjust(
                    conn,
                    bid,
                    member_id,
                    unit="points",
                    amount=50,
                    reason="apology for a wrong order / disculpa por un error",
                    actor=f"staff:{staff_ids['manager@demo-cafe.example']}",
                    now=at,
                )
    for i in range(40):
        at = start + timedelta(days=rng.uniform(0, 119))
        with db.transaction() as conn:
            purchases.record(
                conn,
                Principal(bid, Role.staff, loc_ids[i % 2]),
                PurchaseIn(
                    receipt_id=f"A{i}",
                    amount=rng.randint(150, 900) * scale,
                    currency=chosen.currency,
                    channel="counter",
                    occurred_at=at,
                ),
                secret_key="",
                now=at,
            )
    with db.transaction() as conn:
        settle(conn, bid, now)
        info.logins = _logins(bid, conn)
    return info


def _logins(bid: int, conn) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return [(row.email, PASSWORD, row.role) for row in tenancy_store.business_staff(conn, bid)]
