"""Walking the guided set-up in a real browser as the owner, as other browser tests need it:
`new_business` makes a business the way `lealtad business create` does (no program, a set-up
begun), `complete_setup` signs its owner in and takes every step to the printed poster,
counting what the owner does: each click and each field typed (a file chosen counts as one).

    owner = new_business(live.db, "Café Aurora")
    actions = complete_setup(page, live.url, "coffee-stamps", "es", owner=owner)
    assert actions <= 25
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from PIL import Image

from lealtad.db.engine import Database
from lealtad.onboarding import service as onboarding
from lealtad.tenancy import service as tenancy
from lealtad.tenancy.model import Role

PASSWORD = "correct horse battery"
BRAND_COLOUR = "#0a7d4f"


@dataclass(frozen=True)
class OwnerLogin:
    business: str  # the slug typed on the login page
    email: str
    password: str


def new_business(
    db: Database,
    name: str,
    *,
    email: str = "owner@aurora.example",
    password: str = PASSWORD,
    locale: str = "es",
    now: datetime | None = None,
) -> OwnerLogin:
    """A business with its owner and no program, its set-up begun (`lealtad business create`)."""
    at = now or datetime.now(UTC)
    with db.transaction() as conn:
        business_id = tenancy.create_business(
            conn,
            name=name,
            currency="EUR",
            timezone="Europe/Madrid",
            locale=locale,
            now=at,
            program=onboarding.empty_program(name),
        )
        tenancy.create_staff(
            conn,
            business_id,
            email=email,
            name=email,
            role=Role.owner,
            password=password,
            location_id=None,
            now=at,
        )
        onboarding.begin(conn, business_id, at)
        slug = tenancy.get_business(conn, business_id).slug
    return OwnerLogin(slug, email, password)


def logo_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 125, 79)).save(out, format="PNG")
    return out.getvalue()


class Counted:
    """The owner's hands: every click and every field typed or file chosen adds one."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.actions = 0

    def click(self, selector: str) -> None:
        self.page.click(selector)
        self.actions += 1

    def type(self, selector: str, value: str) -> None:
        self.page.fill(selector, value)
        self.actions += 1

    def choose_file(self, selector: str, name: str, data: bytes, kind: str) -> None:
        self.page.set_input_files(selector, {"name": name, "mimeType": kind, "buffer": data})
        self.actions += 1


def complete_setup(
    page: Any,
    base_url: str,
    template: str,
    lang: str,
    *,
    owner: OwnerLogin | None = None,
    colour: str = BRAND_COLOUR,
    logo: bytes | None = None,
    location: str | None = "Barra",
    staff: tuple[str, str] | None = ("Lucía", "lucia@aurora.example"),
) -> int:
    """From the login page (or, without `owner`, from a page already signed in as the owner)
    to the poster of a live program; returns the owner's clicks and typed fields. The template's
    numbers are kept as offered. Ends on /admin/setup/done."""
    hands = Counted(page)
    if owner is not None:
        page.goto(f"{base_url}/admin/login?lang={lang}")
        hands.type("#business", owner.business)
        hands.type("#email", owner.email)
        hands.type("#password", owner.password)
        hands.click("button[type=submit]")
        page.wait_for_url("**/admin/setup/business*")
    else:
        page.goto(f"{base_url}/admin/setup?lang={lang}")
    # 1. The business: name, currency, zone and language come filled in; the brand is typed.
    hands.choose_file("#logo", "logo.png", logo or logo_png(), "image/png")
    hands.type("#colour", colour)
    hands.click("form[action='/admin/setup/business'] button[type=submit]")
    page.wait_for_url("**/admin/setup/program*")
    # 2. The program: one button per template.
    hands.click(f"button[data-template='{template}']")
    page.wait_for_url("**/admin/setup/numbers*")
    # 3. Its numbers, as offered.
    hands.click("form[action='/admin/setup/numbers'] button[type=submit]")
    page.wait_for_url("**/admin/setup/places*")
    # 4. A location and a staff member, both optional.
    if location is not None:
        hands.type("#location-name", location)
        hands.click("form[action='/admin/setup/places/location'] button[type=submit]")
        page.wait_for_url("**/admin/setup/places*")
    if staff is not None:
        hands.type("#staff-name", staff[0])
        hands.type("#staff-email", staff[1])
        hands.click("form[action='/admin/setup/places/staff'] button[type=submit]")
        page.wait_for_selector("[data-password]")
    hands.click("form[action='/admin/setup/places'] button[type=submit]")
    page.wait_for_url("**/admin/setup/review*")
    # 5. Go live, and the poster.
    hands.click("form[action='/admin/setup/live'] button[type=submit]")
    page.wait_for_url("**/admin/setup/done*")
    page.wait_for_selector("[data-poster]")
    return hands.actions
