"""The owner's set-up of a new business for the template journeys, counted in clicks and typed
fields: the one place the journey test sets a business up.

It starts from `lealtad business create` on the command line (each value the owner types there
counts as a typed field; the command's defaults do not) against the journey's own data
directory, which is why `set_up_business` takes the install's environment (`env`). Then the
guided set-up (/admin/setup, walked by tests/browser/setup_walk.py's `complete_setup`) takes the
owner from the login page to the poster of a live program, with the shop's location and no
staff member (the journey adds the counter's account itself). The page ends signed in to the
console as the owner, on the home page."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lealtad.rules.templates import TEMPLATES
from tests.browser.setup_walk import BRAND_COLOUR, OwnerLogin, complete_setup
from tests.e2e.test_cli import lealtad_command

OWNER_PASSWORD = "journey-owner-2026"
# The command line's defaults: what the owner leaves out is not typed.
CLI_DEFAULTS = {"--currency": "EUR", "--timezone": "Europe/Madrid", "--locale": "es"}


@dataclass(frozen=True)
class Shop:
    """The business an owner of this template would open, and the shop's first location."""

    name: str
    location: str


SHOPS = {
    "coffee-stamps": Shop("Café Aurora", "Calle Mayor"),
    "points-per-unit": Shop("Hartley Pharmacy", "High Street"),
    "catalog-points": Shop("Tienda Andes", "Providencia"),
    "gem-tiers": Shop("Sparkle Art Club", "Online store"),
    "stars-tiers": Shop("Harbor Coffee", "Pier 39"),
    "trade-b2b": Shop("Summit Roofing Supply", "Main yard"),
}


@dataclass
class Tally:
    """What the owner does by hand: every click and every field typed (an address typed into
    the browser's bar and a value typed on the command line count as fields)."""

    clicks: int = 0
    typed: int = 0

    def click(self, target: Any) -> None:
        target.click()
        self.clicks += 1

    def fill(self, target: Any, text: str) -> None:
        target.fill(text)
        self.typed += 1

    def go(self, page: Any, address: str) -> None:
        page.goto(address)
        self.typed += 1

    @property
    def total(self) -> int:
        return self.clicks + self.typed


def owner_email(template: str) -> str:
    return f"owner@{template}.example"


def _create_on_the_command_line(
    env: Mapping[str, str], template: str, lang: str, tally: Tally
) -> str:
    """`lealtad business create`, as the owner would type it; the business's slug it prints."""
    shop, market = SHOPS[template], TEMPLATES[template]
    options = {
        "--owner-email": owner_email(template),
        "--owner-password": OWNER_PASSWORD,
        "--currency": market.currency,
        "--timezone": market.timezone,
        "--locale": lang,
    }
    typed = [(k, v) for k, v in options.items() if CLI_DEFAULTS.get(k) != v]
    args = [shop.name, *(part for pair in typed for part in pair)]
    tally.typed += 1 + len(typed)  # the name, then each option given
    done = subprocess.run(
        [*lealtad_command(), "business", "create", *args],
        env=dict(env),
        cwd=env["LEALTAD_DATA_DIR"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    found = re.search(r"slug=(\S+)", done.stdout)
    assert found, done.stdout
    return found.group(1)


def set_up_business(
    page: Any, base_url: str, template: str, lang: str, *, env: Mapping[str, str]
) -> int:
    """Sets up a business of `template` with the owner working in `lang`, from the command line
    to a live program with a location; the owner's clicks and typed fields. The page ends
    signed in to the console as the owner, on its home page."""
    tally = Tally()
    slug = _create_on_the_command_line(env, template, lang, tally)
    actions = tally.total + _guided(page, base_url, template, lang, slug)
    page.goto(f"{base_url}/admin")
    return actions


def brand_colour() -> str:
    """The brand colour the set-up gives the business."""
    return str(BRAND_COLOUR)


def _guided(page: Any, base_url: str, template: str, lang: str, slug: str) -> int:
    """The guided set-up, from its login page to the poster, without a staff member: the
    journey's owner adds the counter's account afterwards, with a password it knows."""
    owner = OwnerLogin(slug, owner_email(template), OWNER_PASSWORD)
    location = SHOPS[template].location
    return int(
        complete_setup(page, base_url, template, lang, owner=owner, location=location, staff=None)
    )
