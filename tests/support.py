"""Test helpers: a business with its locations, staff and keys, made through the services."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from lealtad.db.engine import Database
from lealtad.kit.clock import naive_utc
from lealtad.members import service as members
from lealtad.members.schemas import MemberIn
from lealtad.rules.definition import (
    ProgramDefinition,
    StampCard,
    TierPolicy,
    points_per_currency_unit,
)
from lealtad.rules.earn_rule import Cap, Conditions, EarnRule, FixedPoints, PointsPerUnit, Stamps
from lealtad.tenancy import service as tenancy
from lealtad.tenancy import store as tenancy_store
from lealtad.tenancy.model import Principal, Role
from lealtad.tenancy.passwords import hash_password

PASSWORD = "correct horse battery"


@cache
def _password_hash() -> str:
    return hash_password(PASSWORD)


_counter = itertools.count(1)


@dataclass
class Shop:
    id: int
    slug: str
    locations: list[int]
    keys: dict[str, str]
    staff: dict[str, int]
    members: list[int] = field(default_factory=list)
    staff_emails: dict[str, str] = field(default_factory=dict)

    def auth(self, role: str = "manager") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def principal(self, role: Role = Role.manager) -> Principal:
        return Principal(self.id, role, self.locations[0])


def make_shop(
    db: Database,
    now: datetime,
    *,
    name: str = "Test café",
    members_count: int = 2,
    program: ProgramDefinition | None = None,
    with_staff: bool = True,
    program_from: datetime | None = None,
) -> Shop:
    """A shop whose program has been in force for ten years unless `program_from` says when it
    began: tests date sales in the past freely, and a sale dated before a business's first
    program version is refused (D65; tests/api/test_program_history.py)."""
    n = next(_counter)
    with db.transaction() as conn:
        bid = tenancy.create_business(
            conn,
            name=f"{name} {n}",
            currency="EUR",
            timezone="Europe/Madrid",
            locale="es",
            now=now,
            program=program or points_per_currency_unit(Decimal(1)),
            program_from=program_from or now - timedelta(days=3653),
        )
        slug = tenancy.get_business(conn, bid).slug
        locations = [
            tenancy.create_location(conn, bid, name=f"Store {i}", timezone=None, now=now)
            for i in (1, 2)
        ]
        keys, staff = {}, {}
        for role in Role if with_staff else ():
            _, keys[role.value] = tenancy.create_api_key(
                conn, bid, name=role.value, role=role, location_id=locations[0], now=now
            )
            # Straight to the store with one hash made per run: argon2 is slow on purpose, and
            # every test makes a shop. Creating staff through the service is tested on its own.
            staff[role.value] = tenancy_store.insert_staff(
                conn,
                business_id=bid,
                email=f"{role.value}@shop{n}.example",
                name=role.value,
                role=role.value,
                location_id=locations[0],
                password_hash=_password_hash(),
                active=True,
                created_at=naive_utc(now),
            )
        shop = Shop(bid, slug, locations, keys, staff)
        shop.staff_emails = {role: f"{role}@shop{n}.example" for role in staff}
        for i in range(members_count):
            shop.members.append(
                members.enrol(
                    conn,
                    bid,
                    MemberIn(name=f"Member {i}", email=f"m{i}@shop{n}.example"),
                    channel="api",
                    now=now,
                )
            )
    return shop


def stamp_card_program(stamps_required: int = 10) -> ProgramDefinition:
    """A coffee card and nothing else: a stamp on every purchase."""
    return ProgramDefinition(
        rules=[EarnRule(id="coffee", name="Coffee stamp", action=Stamps(card="coffee"))],
        stamp_cards=[
            StampCard(
                id="coffee", name="Coffee card", stamps_required=stamps_required, reward="cup"
            )
        ],
    )


def threaded_program(
    *, day_cap: int, tiers: TierPolicy | None = None, bonus: EarnRule | None = None
) -> ProgramDefinition:
    """A program whose earning depends on the sales before (what a batch threads from one sale
    to the next): points capped per day, a stamp per sale on a card of three, and `bonus`, by
    default 5 points every third visit (which asks the visit count); tiers when given."""
    bonus = bonus or EarnRule(
        id="third",
        name="Every third visit",
        action=FixedPoints(points=5),
        conditions=Conditions(every_nth_visit=3),
    )
    base = EarnRule(
        id="base",
        name="Points",
        action=PointsPerUnit(rate=Decimal(1)),
        caps=[Cap(period="day", max_units=day_cap)],
    )
    return ProgramDefinition(
        tiers=tiers,
        rules=[
            base,
            EarnRule(id="coffee", name="Coffee stamp", action=Stamps(card="coffee")),
            bonus,
        ],
        stamp_cards=[StampCard(id="coffee", name="Coffee card", stamps_required=3, reward="cup")],
    )


def purchase_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"receipt_id": f"R-{next(_counter)}", "amount": 1000, "currency": "EUR"}
    body.update(overrides)
    return body


def admin_login(client: Any, shop: Shop, role: str = "manager") -> str:
    """Logs the test client into the admin console; returns the session's CSRF token."""
    form = {"business": shop.slug, "email": shop.staff_emails[role], "password": PASSWORD}
    answer = client.post("/admin/login", data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    page = client.get("/admin/messages/preview") if role != "staff" else None
    if page is None:
        return ""
    marker = 'name="csrf" value="'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]


def form_field(html: str, name: str) -> str:
    """The value of the first hidden or text field called `name` on a page."""
    import re

    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no {name} field on the page"
    return found.group(1)


def counter_login(client: Any, shop: Shop, role: str = "staff") -> str:
    """Logs a staff member in at /admin/login and opens /counter; returns the CSRF token."""
    form = {"business": shop.slug, "email": shop.staff_emails[role], "password": PASSWORD}
    answer = client.post("/admin/login", data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    page = client.get("/counter?lang=en")
    assert page.status_code == 200, page.text
    return form_field(page.text, "csrf")


def wallet_login(client: Any, db: Database, shop: Shop, member_id: int) -> str:
    """Opens the member's wallet in the test client, as the e-mailed code would, and returns
    the session's CSRF token (read from the member's own page, like a browser form)."""
    from fastapi.responses import Response

    from lealtad.members import store as member_store
    from lealtad.web import sessions

    with db.read() as conn:
        member = member_store.member(conn, shop.id, member_id)
    response = Response()
    sessions.start_member(
        response, client.app.state.settings, shop.id, member_id, member.card_version
    )
    name, value = response.headers["set-cookie"].split(";")[0].split("=", 1)
    client.cookies.set(name, value)
    page = client.get(f"/w/{shop.slug}/me")
    assert page.status_code == 200, page.text
    marker = 'name="csrf" value="'
    start = page.text.index(marker) + len(marker)
    return str(page.text[start : page.text.index('"', start)])


# Personal-data keys a production Settings needs (security/fields.py); test values, not secrets.
PROD_FIELD_KEYS = {
    "field_keys": "kprod:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
    "field_index_key": "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8",
}


def queued_code(db: Database, business_id: int, member_id: int) -> str:
    """The code of the member's latest sign-in message still in the queue (a test app has no
    mail server, so it waits there, as the member's inbox would hold it)."""
    from sqlalchemy import select

    from lealtad.comms.tables import messages

    with db.read() as conn:
        context = conn.execute(
            select(messages.c.context)
            .where(
                messages.c.business_id == business_id,
                messages.c.member_id == member_id,
                messages.c.status == "queued",
            )
            .order_by(messages.c.id.desc())
            .limit(1)
        ).scalar_one()
    return str(context["code"])


def refusal_code(answer: Any) -> str:
    """The machine code of a refusal: from the JSON envelope of an API answer, or from the
    error page a browser gets on a page route (web/error_pages.py)."""
    import re

    if answer.headers.get("content-type", "").startswith("application/json"):
        return str(answer.json()["error"]["code"])
    found = re.search(r'data-error-page="([^"]*)"', answer.text)
    assert found, f"neither a JSON error nor an error page: {answer.text[:300]}"
    return found.group(1)


def make_template_shop(
    db: Database, now: datetime, template: str = "coffee-stamps", members_count: int = 2
) -> Shop:
    """A shop started from a program template, with its products and catalog rewards, as the
    demo and the console start one (rules.starting)."""
    from lealtad.rules.starting import furnish
    from lealtad.rules.templates import get_template

    chosen = get_template(template)
    shop = make_shop(db, now, program=chosen.build(), members_count=members_count)
    with db.transaction() as conn:
        furnish(conn, shop.id, chosen, now)
    return shop
