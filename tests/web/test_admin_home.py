"""The owner's home: this week's and today's figures read from the rollups, what needs attention,
the quick actions, and the console's navigation with the current section marked. Percentages
are written for the page's language: "75 %" in Spanish, "75%" in English."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from lealtad.analytics import kpis, refresh, reward_reach
from lealtad.analytics.periods import Scope
from lealtad.db.engine import Database
from lealtad.rules import service as rules
from lealtad.rules.definition import points_per_currency_unit as per_euro
from tests.comms.test_bounces import GONE, enrol, refusing  # noqa: F401  (a fixture)
from tests.comms.test_email import work
from tests.support import admin_login, make_shop, purchase_body

# The test clock's Monday, 2 March 2026, 10:30 UTC (11:30 in Madrid): the week starts today.
TODAY = date(2026, 3, 2)
LAST_MONDAY = datetime(2026, 2, 23, 9, 0, tzinfo=UTC)


def figure(html: str, key: str) -> tuple[str, str]:
    """(the figure's value, the rest of its card as text) on the home page."""
    card = re.search(rf'data-figure="{key}">(.*?)class="more"', html, re.S)
    assert card, f"no figure {key}"
    text = card.group(0)
    value = re.search(r"data-value>(.*?)</p>", text, re.S)
    assert value
    return value.group(1).strip(), re.sub(r"<[^>]+>", " ", text)


@pytest.fixture
def sqlite_only(request: pytest.FixtureRequest) -> None:
    """For what does not depend on the database (words, numbers, links): SQLite alone."""
    if request.node.callspec.params.get("db") == "postgresql":
        pytest.skip("pages only; the figures are checked on both databases")


def buy(client, shop, euros: int, member: int | None = None, at: datetime | None = None) -> None:
    body = purchase_body(amount=euros * 100)
    if member is not None:
        body["member_id"] = member
    if at is not None:
        body["occurred_at"] = at.isoformat()
    answer = client.post("/api/v1/purchases", json=body, headers=shop.auth("staff"))
    assert answer.status_code == 201, answer.text


@pytest.fixture
def week(db: Database, client, clock):
    """Members A and B joined last Monday, C today. Last Monday A spent 250 €; today A spent
    10 € and 5 €, B 85 €, someone without a card 20 €, and A took a 100-point coffee (3 in stock)."""
    shop = make_shop(db, LAST_MONDAY, members_count=2)
    a, b = shop.members
    made = client.post(
        "/api/v1/members", json={"name": "Carla", "email": "c@example.org"}, headers=shop.auth()
    )
    assert made.status_code == 201, made.text
    buy(client, shop, 250, a, at=LAST_MONDAY + timedelta(hours=1))
    buy(client, shop, 10, a)
    buy(client, shop, 5, a)
    buy(client, shop, 85, b)
    buy(client, shop, 20)
    reward = {
        "slug": "coffee",
        "kind": "free_product",
        "sku": "CAF",
        "title": {"es": "Café gratis", "en": "Free coffee"},
        "cost": 100,
        "stock": 3,
    }
    coffee = client.post("/api/v1/rewards", json=reward, headers=shop.auth()).json()
    redeemed = client.post(
        f"/api/v1/members/{a}/redemptions",
        json={"reward_id": coffee["id"]},
        headers=shop.auth("staff"),
    )
    assert redeemed.status_code == 201, redeemed.text
    return shop


def test_the_home_figures_are_the_rollups_of_today_and_this_week(client, db, clock, week) -> None:
    with db.read() as conn:
        rate = kpis.enrolment_rate(conn, Scope(week.id, TODAY, TODAY)).value
        reach = reward_reach.measure(conn, week.id, clock.now())
    assert rate == 75.0
    assert (reach.close, reach.ready, reach.thresholds) == (1, 1, {"points": 100})
    admin_login(client, week)
    html = client.get("/admin?lang=en").text
    value, rest = figure(html, "enrolment")
    assert value == "75%"
    assert "At or above the goal of 60%." in rest
    assert "3 of 4 sales this week." in rest
    value, rest = figure(html, "visits")
    assert value == "3"
    assert "By 2 different members." in rest
    assert "Same days last week: 1" in rest
    value, rest = figure(html, "new_members")
    assert value == "1"
    assert "Same days last week: 2" in rest
    assert "3 members in all." in rest
    value, rest = figure(html, "redeemed")
    assert (value, "Same days last week: 0" in rest) == ("1", True)
    value, rest = figure(html, "close")
    assert value == "1"
    assert "1 hold a reward they can use now." in rest
    assert 'href="/admin/analytics#chart-enrolment"' in html


def test_percentages_are_written_for_the_page_s_language(sqlite_only, client, db, clock) -> None:
    shop = make_shop(db, clock.now(), members_count=1)
    buy(client, shop, 10, shop.members[0])
    buy(client, shop, 10)
    buy(client, shop, 10)
    admin_login(client, shop)
    spanish, _ = figure(client.get("/admin?lang=es").text, "enrolment")
    english, rest = figure(client.get("/admin?lang=en").text, "enrolment")
    assert (spanish, english) == ("33,3\u00a0%", "33.3%")
    assert "Below the goal of 60%." in rest
    empty = make_shop(db, clock.now(), members_count=0)
    client.cookies.clear()
    admin_login(client, empty)
    value, rest = figure(client.get("/admin?lang=en").text, "enrolment")
    assert value == "–"
    assert "No sales recorded yet this week." in rest
    assert ".0%" not in client.get("/admin?lang=en").text


def test_a_bounced_message_a_reward_running_out_and_a_scheduled_change_need_attention(
    client,
    db,
    clock,
    week,
    refusing,  # noqa: F811
) -> None:
    _box, mail_settings = refusing
    enrol(db, week, clock, GONE)
    work(db, mail_settings, clock, week)
    with db.transaction() as conn:
        rules.change(
            conn,
            week.id,
            per_euro(Decimal(2)),
            author="owner",
            reason="Double points in spring",
            now=clock.now(),
            effective_from=datetime(2026, 3, 21, 8, 0, tzinfo=UTC),
        )
    admin_login(client, week)
    html = client.get("/admin?lang=en").text
    items = re.findall(r"<li>(.*?)<br><a href=\"([^\"]+)\">", html.split("data-attention>")[1])
    assert items == [
        ("1 message failed or bounced in the last 7 days.", "/admin/messages?show=problems#latest"),
        ("Only 2 left of “Free coffee”.", f"/admin/rewards/{_reward_id(client, week)}"),
        (
            "Program version 2 takes effect on 21 Mar 2026, 09:00: Double points in spring",
            "/admin/program/changes",
        ),
    ]
    log = client.get("/admin/messages?show=problems&lang=en").text
    assert GONE not in log  # names, not addresses
    assert 'class="status-bounced"' in log


def _reward_id(client, shop) -> int:
    return int(client.get("/api/v1/rewards", headers=shop.auth()).json()[0]["id"])


def test_nothing_needs_attention_in_a_quiet_business_and_the_quick_actions_are_there(
    sqlite_only, client, db, clock
) -> None:
    shop = make_shop(db, clock.now())
    admin_login(client, shop)
    html = client.get("/admin?lang=es").text
    assert "Nada requiere tu atención." in html
    for href in (
        "/counter",
        "/admin/rewards/new",
        "/admin/campaigns/new",
        "/admin/poster",  # the printable poster, with each location's PDF
    ):
        assert f'<li><a href="{href}">' in html


def test_a_business_too_big_to_count_live_shows_the_nightly_count_of_members_close_to_a_reward(
    client, db, clock, week, monkeypatch
) -> None:
    monkeypatch.setattr(reward_reach, "LIVE_MEMBERS", 2)
    admin_login(client, week)
    value, rest = figure(client.get("/admin?lang=en").text, "close")
    assert value == "–"
    assert "the first count comes tonight" in rest
    with db.transaction() as conn:
        refresh.refresh(conn, week.id, clock.now())
    value, rest = figure(client.get("/admin?lang=en").text, "close")
    assert value == "1"
    assert "Counted on 2 Mar 2026, 11:30." in rest


def test_the_navigation_marks_the_current_section_and_page(sqlite_only, client, shop) -> None:
    admin_login(client, shop)
    home = client.get("/admin?lang=en").text
    assert re.search(r'<a href="/admin" aria-current="page">Home</a>', home)
    compose = client.get("/admin/campaigns/new?lang=en").text
    sections = compose.split('class="sections"')[1].split("</nav>")[0]
    assert re.findall(r'aria-current="true">(\w+)<', sections) == ["Messages"]
    pages = compose.split('class="pages"')[1].split("</nav>")[0]
    assert re.findall(r'aria-current="page">([\w ]+)<', pages) == ["Campaigns"]
    preview = client.get("/admin/messages/preview?lang=en").text
    pages = preview.split('class="pages"')[1].split("</nav>")[0]
    assert re.findall(r'aria-current="page">([\w ]+)<', pages) == ["Message preview"]
    assert '<details class="menu">' in home
    assert 'href="/admin/settings/api-keys"' not in home  # the owner's alone
    client.cookies.clear()
    admin_login(client, shop, role="owner")
    assert 'href="/admin/settings/api-keys"' in client.get("/admin/settings?lang=en").text
