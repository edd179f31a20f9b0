"""A business's first day, per template, in a real browser: from an empty data directory served
by `lealtad serve`, the owner sets the business up (at most 25 clicks and typed fields), the
poster's PDF is rendered (PDFium) and its QR code read (zxing) to the join address of this
server, a customer joins from it on a phone and sees the wallet under the business's name, staff
at the counter record the template's typical purchases by tapping its product buttons until the
template's reward is earned, the member redeems it in the wallet through the confirmation, staff
validate the voucher at the counter, and the owner's home counts the new member and the
redemption.

What runs where: every template in both languages on SQLite, except the coffee card, whose
English journey runs on PostgreSQL, so that the template every café starts from is walked on
both databases (about 25 s a journey on the 2-core machine, most of it the server and
command-line starts).

The set-up is one call, `journey_setup.set_up_business`: the guided set-up's walk
(tests/browser/setup_walk.py)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from lealtad.web.i18n import translator
from tests.browser.journey_setup import SHOPS, brand_colour, set_up_business
from tests.browser.journey_steps import (
    Install,
    counter_offers,
    counter_validates,
    fresh_install,
    join_link_on_settings,
    member_joins,
    owner_adds_staff,
    owner_home_figures,
    poster_link,
    record_basket,
    reward_title,
    scan,
    staff_sign_in,
    wallet_redeems,
    wallet_shows_used,
)

MOST_SETUP_ACTIONS = 25
PHONE = {"width": 390, "height": 844}
TABLET = {"width": 820, "height": 1180}
DESKTOP = {"width": 1280, "height": 900}


@dataclass(frozen=True)
class Journey:
    template: str
    lang: str
    # What customers of this shop buy on their visits (product code: how many), one basket per
    # visit in turn, until `reward` (a catalog slug) can be redeemed: after exactly `visits`
    # purchases, or at most that many where some hours earn more (the stars' afternoons).
    baskets: tuple[dict[str, int], ...]
    reward: str
    visits: int
    exact: bool = True
    database: str = "sqlite"

    def basket(self, visit: int) -> dict[str, int]:
        return self.baskets[visit % len(self.baskets)]


# Ten drinks over four visits, with food that earns nothing: the card's free drink.
COFFEE_VISITS = ({"CAFE": 2, "CRO": 1}, {"CCL": 3}, {"CAP": 2, "TEA": 1}, {"ZUMO": 2})
JOURNEYS = [
    Journey("coffee-stamps", "es", COFFEE_VISITS, "free-drink", 4),
    Journey("points-per-unit", "en", ({"SUN": 2, "VIT": 2, "SHAMPOO": 1},), "five-off", 4),
    Journey("catalog-points", "es", ({"ZAPAT": 1, "POLERA": 1},), "cine", 2),
    # Sapphire from the second visit on multiplies the points of the third.
    Journey("gem-tiers", "en", ({"KIT-L": 3, "PEN": 1},), "ten-off", 3),
    Journey("stars-tiers", "es", ({"LATTE": 1, "MUFFIN": 1},), "extra-shot", 2, exact=False),
    # A contractor's order: staff tap each product once and type how many.
    Journey("trade-b2b", "en", ({"SHINGLE": 30, "UNDER": 5, "NAILS": 2},), "workshop", 2),
    Journey("coffee-stamps", "en", COFFEE_VISITS, "free-drink", 4, database="postgresql"),
]
# Each template in its other language too (the coffee card's is its PostgreSQL run): a journey
# reads buttons, labels and answers in the page's language, so both are walked.
JOURNEYS += [
    replace(j, lang="en" if j.lang == "es" else "es")
    for j in JOURNEYS
    if j.database == "sqlite" and j.template != "coffee-stamps"
]


def _fresh_postgres(request: pytest.FixtureRequest, name: str) -> str:
    """An empty database of its own on the PostgreSQL server the test run started."""
    server = request.getfixturevalue("postgres_server")
    if server is not None:
        return str(server.create_database(name))
    import psycopg

    url = make_url(request.getfixturevalue("postgres_url"))
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


class Windows:
    """The browser windows a journey opens: the owner's, the phone's, the counter's."""

    def __init__(self, browser: Any, folder: Path) -> None:
        self.browser, self.folder, self.opened = browser, folder, []

    def open(self, lang: str, viewport: dict[str, int]) -> Any:
        context = self.browser.new_context(
            locale="es-ES" if lang == "es" else "en-GB", viewport=viewport
        )
        self.opened.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        return page

    def shoot(self) -> None:
        """A screenshot of each page, on failure only."""
        for n, context in enumerate(self.opened):
            for m, page in enumerate(context.pages):
                try:
                    page.screenshot(path=str(self.folder / f"failure-{n}-{m}.png"), full_page=True)
                except Exception as exc:
                    print(f"no screenshot of window {n}: {exc}")

    def close(self) -> None:
        for context in self.opened:
            context.close()


@pytest.fixture
def windows(browser: Any, tmp_path: Path) -> Iterator[Windows]:
    opened = Windows(browser, tmp_path)
    yield opened
    opened.close()


def _walk(journey: Journey, windows: Windows, install: Install, lap: Callable[[str], None]) -> int:
    """The journey on a running install; the owner's set-up actions."""
    _ = translator(journey.lang)
    url = install.url
    owner = windows.open(journey.lang, DESKTOP)
    actions = set_up_business(owner, url, journey.template, journey.lang, env=install.env)
    assert actions <= MOST_SETUP_ACTIONS, f"the set-up took {actions} clicks and fields"
    lap("set-up")

    join = join_link_on_settings(owner, _)
    assert re.fullmatch(re.escape(url) + r"/join/[a-z0-9-]+", join), join
    slug = join.rsplit("/", 1)[1]
    link, words = poster_link(owner, _)
    shop = SHOPS[journey.template]
    assert shop.name in words, words
    assert shop.location in words, words
    assert re.fullmatch(re.escape(join) + r"\?loc=\d+", link), (link, join)
    staff = owner_adds_staff(owner, journey.template, _)
    lap("poster")

    phone = windows.open(journey.lang, PHONE)
    name = "Lucía Pérez" if journey.lang == "es" else "Lucy Baker"
    address = f"{journey.template}.{journey.lang}@example.org"
    token = member_joins(phone, link, install.inbox, name, address, _)
    # The wallet wears the business's name and the colour chosen in the set-up.
    named = [t.strip() for t in phone.locator("header, h1").all_inner_texts()]
    assert shop.name in named, named
    worn = phone.locator("[data-brand]").first.get_attribute("data-brand") or ""
    assert worn.lower() == brand_colour().lower(), worn
    lap("join")

    counter = windows.open(journey.lang, TABLET)
    staff_sign_in(counter, url, slug, staff, _)
    assert shop.location in counter.locator("header").inner_text()
    scan(counter, token, name)
    title = reward_title(journey.template, journey.reward, journey.lang)
    visits = 0
    while not counter_offers(counter, title, _):
        assert visits < journey.visits, (
            f"{title!r} not offered after {visits} purchases: "
            + counter.locator("#panel").inner_text()
        )
        record_basket(counter, journey.template, journey.basket(visits), journey.lang, _)
        visits += 1
    if journey.exact:
        assert visits == journey.visits, f"{title!r} offered after {visits} purchases"
    lap("counter")

    code = wallet_redeems(phone, journey.template, title, _)
    counter_validates(counter, url, code, _)
    wallet_shows_used(phone, code, _)
    lap("redeem")

    figures = owner_home_figures(owner, _)
    assert figures["new_members"] == "1", figures
    assert figures["redeemed"] == "1", figures
    assert figures["visits"] == str(visits), figures
    lap("home")
    return actions


@pytest.mark.parametrize(
    "journey", JOURNEYS, ids=[f"{j.template}-{j.lang}-{j.database}" for j in JOURNEYS]
)
def test_a_business_of_the_template_runs_its_first_day_in_the_browser(
    journey: Journey, windows: Windows, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    timings: dict[str, float] = {}
    clock = time.monotonic()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.monotonic()
        timings[step] = round(now - clock, 1)
        clock = now

    database_url = ""
    if journey.database == "postgresql":
        database_url = _fresh_postgres(request, f"journey_{journey.template.replace('-', '_')}")
    with fresh_install(tmp_path / "data", tmp_path / "server.log", database_url) as install:
        lap("start")
        try:
            actions = _walk(journey, windows, install, lap)
        except BaseException:
            windows.shoot()
            raise
    print(f"{journey.template} {journey.lang} {journey.database}: {actions} actions, {timings}")
