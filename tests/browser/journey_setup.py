"""The owner's set-up of a new business for the template journeys, counted in clicks and typed
fields: the one place the journey test sets a business up.

Until the guided set-up (/admin/setup) exists, a new business is set up the way it can be
today: `lealtad business create` on the command line (each value the owner types there counts as
a typed field, the command's defaults do not), then in the console: sign in, start the program
from the template on the program screen and save it with a reason, and add the shop as a
location (a business made on the command line has none, and the poster belongs to a location).
The page is left signed in to the console as the owner.

When the guided set-up lands, `set_up_business` becomes
`return complete_setup(page, base_url, template, lang)` (tests/browser/setup_walk.py) and the
`env` argument, which only the command line needs, is dropped here and at its one caller."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lealtad.rules.templates import TEMPLATES
from lealtad.web.i18n import translator
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
    """Sets up a business of `template` with the owner working in `lang`; the owner's clicks
    and typed fields. The page ends signed in to the console as the owner."""
    _ = translator(lang)
    tally = Tally()
    slug = _create_on_the_command_line(env, template, lang, tally)

    tally.go(page, f"{base_url}/admin/login")
    tally.fill(page.get_by_label(_("Business")), slug)
    tally.fill(page.get_by_label(_("E-mail"), exact=True), owner_email(template))
    tally.fill(page.get_by_label(_("Password")), OWNER_PASSWORD)
    tally.click(page.get_by_role("button", name=_("Log in")))
    page.wait_for_url(re.compile(r"/admin/?(\?.*)?$"))

    market = TEMPLATES[template]
    sections = page.get_by_role("navigation", name=_("Console sections"))
    tally.click(sections.get_by_role("link", name=_("Program"), exact=True))
    title = market.title_es if lang == "es" else market.title_en
    tally.click(page.get_by_role("link", name=title, exact=True))
    tally.fill(
        page.get_by_label(_("Reason for the change (required, shown in the change log)")),
        "Apertura del programa" if lang == "es" else "Opening the program",
    )
    tally.click(page.get_by_role("button", name=_("Save as a new version")))
    page.wait_for_url(re.compile(r"/admin/program\?saved=\d+"))

    sections = page.get_by_role("navigation", name=_("Console sections"))
    tally.click(sections.get_by_role("link", name=_("Settings"), exact=True))
    tally.click(
        page.get_by_role("navigation", name=_("Settings")).get_by_role("link", name=_("Locations"))
    )
    tally.fill(page.locator("#new-name"), SHOPS[template].location)
    tally.click(page.get_by_role("button", name=_("Add location")))
    page.get_by_role("cell", name=re.compile(re.escape(SHOPS[template].location))).first.wait_for()
    return tally.total
