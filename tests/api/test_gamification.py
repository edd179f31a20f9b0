"""Gamification through the API: challenges that pay a badge and a bonus once per period, on
purchases, visits, spend, events and weekly streaks; the badges list; the referral link that
signs a friend up; validation, roles and tenancy."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lealtad.comms.tables import outbox
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.ledger.verify import verify
from lealtad.rewards import gamification
from lealtad.rewards.tables import badges
from tests.support import Shop, purchase_body

API = "/api/v1"
TITLE = {"es": "Cinco a la semana", "en": "Five a week"}


def challenge(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "slug": "five-a-week",
        "title": TITLE,
        "metric": "purchases",
        "target": 5,
        "period": "week",
        "bonus_points": 50,
        "badge": "regular",
    }
    body.update(overrides)
    return body


def create(client: TestClient, shop: Shop, **overrides: Any) -> dict[str, Any]:
    resp = client.post(f"{API}/challenges", json=challenge(**overrides), headers=shop.auth())
    assert resp.status_code == 201, resp.text
    return resp.json()


def buy(client: TestClient, shop: Shop, member: int, **body: Any) -> dict[str, Any]:
    resp = client.post(
        f"{API}/purchases", json=purchase_body(member_id=member, **body), headers=shop.auth()
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


def points(client: TestClient, shop: Shop, member: int) -> int:
    balances = client.get(f"{API}/members/{member}", headers=shop.auth()).json()["balances"]
    return int(balances["points"])


def badges_of(client: TestClient, shop: Shop, member: int) -> list[dict[str, Any]]:
    resp = client.get(f"{API}/members/{member}/badges", headers=shop.auth())
    assert resp.status_code == 200, resp.text
    return list(resp.json())


def progress_of(client: TestClient, shop: Shop, member: int, slug: str) -> dict[str, Any]:
    resp = client.get(f"{API}/members/{member}/challenges", headers=shop.auth())
    assert resp.status_code == 200, resp.text
    return next(c for c in resp.json() if c["slug"] == slug)


def badge_events(db: Database, shop: Shop) -> list[dict[str, Any]]:
    with db.read() as conn:
        rows = conn.execute(
            select(outbox.c.payload)
            .where(outbox.c.business_id == shop.id, outbox.c.topic == "badge.earned")
            .order_by(outbox.c.id)
        )
        return [dict(r.payload) for r in rows]


def ledger_is_clean(db: Database, shop: Shop) -> None:
    with db.read() as conn:
        assert verify(conn, shop.id) == []


def test_a_five_purchases_a_week_challenge_pays_its_bonus_and_badge_once_on_the_fifth_purchase_and_again_the_next_week(
    client: TestClient, shop: Shop, db: Database, clock: FixedClock
) -> None:
    member = shop.members[0]
    made = create(client, shop)
    assert (made["badge"], made["active"], made["bonus_points"]) == ("regular", True, 50)
    start = points(client, shop, member)

    for _ in range(4):
        buy(client, shop, member)
    assert points(client, shop, member) == start + 40  # 10 points a purchase, no bonus yet
    assert badges_of(client, shop, member) == []
    seen = progress_of(client, shop, member, "five-a-week")
    assert (seen["progress"], seen["target"], seen["done"]) == ("4", 5, False)
    assert seen["period_key"] == "2026-W10"

    fifth = buy(client, shop, member)
    assert [b["badge"] for b in fifth["badges"]] == ["regular"], "the answer names the badge"
    assert points(client, shop, member) == start + 50 + 50
    earned = badges_of(client, shop, member)
    assert [(b["badge"], b["challenge"], b["period_key"]) for b in earned] == [
        ("regular", "five-a-week", "2026-W10")
    ]
    assert progress_of(client, shop, member, "five-a-week")["done"] is True
    history = client.get(f"{API}/members/{member}/history", headers=shop.auth()).json()
    bonus = [h for h in history if "five-a-week" in h["reason"]]
    assert len(bonus) == 1
    assert (bonus[0]["kind"], bonus[0]["changes"]) == ("earn", {"points": 50})

    # A sixth and seventh purchase the same week pay their points, not the bonus again.
    buy(client, shop, member)
    buy(client, shop, member)
    assert points(client, shop, member) == start + 70 + 50
    assert len(badges_of(client, shop, member)) == 1
    assert len(badge_events(db, shop)) == 1

    # Next week the challenge starts over and pays again on the fifth purchase.
    clock.at += timedelta(days=7)
    assert progress_of(client, shop, member, "five-a-week")["progress"] == "0"
    for _ in range(5):
        buy(client, shop, member)
    assert points(client, shop, member) == start + 120 + 100
    assert [b["period_key"] for b in badges_of(client, shop, member)] == ["2026-W10", "2026-W11"]
    events = badge_events(db, shop)
    assert [(e["member_id"], e["badge"], e["period_key"], e["bonus_points"]) for e in events] == [
        (member, "regular", "2026-W10", 50),
        (member, "regular", "2026-W11", 50),
    ]
    # The other member's purchases are theirs alone.
    assert badges_of(client, shop, shop.members[1]) == []
    ledger_is_clean(db, shop)


def test_calling_the_check_again_never_pays_twice(
    client: TestClient, shop: Shop, db: Database, clock: FixedClock
) -> None:
    member = shop.members[0]
    create(client, shop, target=1)
    buy(client, shop, member)
    before = points(client, shop, member)
    with db.transaction() as conn:
        again = gamification.after_transaction(
            conn, shop.id, member, clock.now(), clock.now(), "test"
        )
    assert again == []
    assert points(client, shop, member) == before
    assert len(badges_of(client, shop, member)) == 1
    ledger_is_clean(db, shop)


def test_a_monthly_spend_challenge_counts_minor_units_net_of_refunds(
    client: TestClient, shop: Shop, db: Database
) -> None:
    member = shop.members[0]
    create(
        client, shop, slug="big-spender", metric="spend", target=10000, period="month", badge=None
    )
    first = buy(client, shop, member, amount=6000)
    resp = client.post(
        f"{API}/refunds",
        json={"refund_id": "RF-1", "receipt_id": first["receipt_id"], "amount": 2000},
        headers=shop.auth(),
    )
    assert resp.status_code == 201, resp.text
    buy(client, shop, member, amount=5000)
    seen = progress_of(client, shop, member, "big-spender")
    assert (seen["progress"], seen["period_key"], seen["done"]) == ("9000", "2026-03", False)
    before = points(client, shop, member)
    buy(client, shop, member, amount=1000)
    assert points(client, shop, member) == before + 10 + 50
    earned = badges_of(client, shop, member)
    # Without a badge of its own the challenge's slug is the badge.
    assert [(b["badge"], b["period_key"]) for b in earned] == [("big-spender", "2026-03")]
    assert earned[0]["title"] == TITLE
    ledger_is_clean(db, shop)


def test_an_event_challenge_sums_the_event_values_of_the_year(
    client: TestClient, shop: Shop, db: Database
) -> None:
    member = shop.members[0]
    create(
        client,
        shop,
        slug="workshops",
        metric="event:workshop_hours",
        target=3,
        period="year",
        bonus_points=200,
        badge="trained",
    )

    def event(n: int, value: str, name: str = "workshop_hours") -> None:
        body = {"event_id": f"E-{n}", "name": name, "member_id": member, "value": value}
        resp = client.post(f"{API}/events", json=body, headers=shop.auth())
        assert resp.status_code == 201, resp.text

    event(1, "1.5")
    event(2, "5", name="survey_answered")  # another event does not count
    seen = progress_of(client, shop, member, "workshops")
    assert (seen["progress"], seen["period_key"], seen["done"]) == ("1.5", "2026", False)
    before = points(client, shop, member)
    event(3, "1.5")
    assert points(client, shop, member) == before + 200
    assert [(b["badge"], b["period_key"]) for b in badges_of(client, shop, member)] == [
        ("trained", "2026")
    ]
    assert progress_of(client, shop, member, "workshops")["progress"] == "3"
    ledger_is_clean(db, shop)


def test_visits_are_distinct_local_days_with_a_purchase(
    client: TestClient, shop: Shop, clock: FixedClock
) -> None:
    member = shop.members[0]
    create(client, shop, slug="three-days", metric="visits", target=3, period="week")
    monday = clock.now()
    buy(client, shop, member, occurred_at=(monday - timedelta(hours=2)).isoformat())
    buy(client, shop, member)
    assert progress_of(client, shop, member, "three-days")["progress"] == "1"
    clock.at = monday + timedelta(days=1)
    buy(client, shop, member)
    assert badges_of(client, shop, member) == []
    # 23:30 UTC on Tuesday is already Wednesday in Madrid: a third local day.
    late = monday.replace(hour=23, minute=30) + timedelta(days=1)
    clock.at = late
    buy(client, shop, member)
    assert [b["challenge"] for b in badges_of(client, shop, member)] == ["three-days"]


def test_a_three_week_streak_challenge_pays_on_the_third_week_in_a_row_and_once_for_life(
    client: TestClient, shop: Shop, db: Database, clock: FixedClock
) -> None:
    member = shop.members[0]
    create(
        client,
        shop,
        slug="three-weeks",
        metric="streak_weeks",
        target=3,
        period="lifetime",
        bonus_points=30,
        badge="streaker",
    )

    def streak() -> int:
        resp = client.get(f"{API}/members/{member}/streak", headers=shop.auth())
        assert resp.status_code == 200, resp.text
        return int(resp.json()["weeks"])

    monday = clock.now()
    assert streak() == 0
    # Weeks 8 and (after a gap in week 9) 10 and 11: a run of two, not three.
    clock.at = monday - timedelta(weeks=2)
    buy(client, shop, member)
    clock.at = monday
    buy(client, shop, member)
    clock.at = monday + timedelta(weeks=1)
    buy(client, shop, member)
    assert streak() == 2
    assert badges_of(client, shop, member) == []
    # A week with no purchase yet still counts the run up to last week.
    clock.at = monday + timedelta(weeks=2)
    assert streak() == 2
    seen = progress_of(client, shop, member, "three-weeks")
    assert (seen["progress"], seen["period_key"], seen["done"]) == ("2", "lifetime", False)
    before = points(client, shop, member)
    buy(client, shop, member)
    assert streak() == 3
    assert points(client, shop, member) == before + 10 + 30
    assert [(b["badge"], b["period_key"]) for b in badges_of(client, shop, member)] == [
        ("streaker", "lifetime")
    ]
    # A fourth week extends the streak; a lifetime challenge has paid already.
    clock.at = monday + timedelta(weeks=3)
    buy(client, shop, member)
    assert streak() == 4
    assert len(badges_of(client, shop, member)) == 1
    # Two weeks without a purchase break it.
    clock.at = monday + timedelta(weeks=5)
    assert streak() == 0
    ledger_is_clean(db, shop)


def test_the_badges_list_holds_every_badge_of_the_member_oldest_first(
    client: TestClient, shop: Shop, clock: FixedClock
) -> None:
    member = shop.members[0]
    weekly = create(client, shop, slug="first-buy", target=1, badge="first", bonus_points=0)
    create(client, shop, slug="two-in-month", target=2, period="month", badge="twice")
    buy(client, shop, member)
    clock.at += timedelta(hours=1)
    buy(client, shop, member)
    earned = badges_of(client, shop, member)
    assert [(b["badge"], b["challenge"], b["period_key"]) for b in earned] == [
        ("first", "first-buy", "2026-W10"),
        ("twice", "two-in-month", "2026-03"),
    ]
    assert earned[0]["challenge_id"] == weekly["id"]
    assert earned[0]["earned_at"].startswith("2026-03-02T10:30")
    assert badges_of(client, shop, shop.members[1]) == []


def test_an_inactive_challenge_pays_nothing_and_a_patch_changes_what_it_asks(
    client: TestClient, shop: Shop
) -> None:
    member = shop.members[0]
    made = create(client, shop, target=1)
    resp = client.patch(
        f"{API}/challenges/{made['id']}", json={"active": False}, headers=shop.auth()
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["active"] is False
    buy(client, shop, member)
    assert badges_of(client, shop, member) == []
    assert client.get(f"{API}/members/{member}/challenges", headers=shop.auth()).json() == []

    patch = {"active": True, "target": 2, "bonus_points": 7, "title": {"es": "Dos", "en": "Two"}}
    resp = client.patch(f"{API}/challenges/{made['id']}", json=patch, headers=shop.auth())
    assert resp.status_code == 200, resp.text
    got = client.get(f"{API}/challenges/{made['id']}", headers=shop.auth()).json()
    assert (got["active"], got["target"], got["bonus_points"], got["title"]["en"]) == (
        True,
        2,
        7,
        "Two",
    )
    assert [c["slug"] for c in client.get(f"{API}/challenges", headers=shop.auth()).json()] == [
        "five-a-week"
    ]
    before = points(client, shop, member)
    buy(client, shop, member)
    assert points(client, shop, member) == before + 10 + 7


def test_the_referral_link_signs_a_friend_up_as_referred_by_the_member(
    client: TestClient, shop: Shop, settings: Any
) -> None:
    member = shop.members[0]
    resp = client.get(f"{API}/members/{member}/referral", headers=shop.auth("staff"))
    assert resp.status_code == 200, resp.text
    referral = resp.json()
    code = referral["code"]
    profile = client.get(f"{API}/members/{member}", headers=shop.auth()).json()
    assert code == profile["referral_code"]
    base = settings.public_base_url
    assert referral["link"] == f"{base}/join/{shop.slug}?ref={code}"

    page = client.get(referral["link"].removeprefix(base))
    assert page.status_code == 200
    assert re.search(rf'<input type="hidden" name="ref" value="{code}">', page.text)

    form = {
        "name": "Friend",
        "email": "friend@example.org",
        "accept_terms": "true",
        "lang": "en",
        "ref": code,
    }
    signed = client.post(f"/join/{shop.slug}", data=form)
    assert signed.status_code == 200, signed.text
    friend = client.get(
        f"{API}/members/lookup", params={"email": "friend@example.org"}, headers=shop.auth()
    ).json()
    assert friend["referred_by_member_id"] == member
    assert friend["enrolment_channel"] == "self"

    # Without a code the join page has no referral field, and a sign-up is referred by no one.
    assert 'name="ref"' not in client.get(f"/join/{shop.slug}").text
    plain = form | {"email": "stranger@example.org", "ref": ""}
    assert client.post(f"/join/{shop.slug}", data=plain).status_code == 200
    stranger = client.get(
        f"{API}/members/lookup", params={"email": "stranger@example.org"}, headers=shop.auth()
    ).json()
    assert stranger["referred_by_member_id"] is None


def test_invalid_challenges_are_422s_naming_the_field(client: TestClient, shop: Shop) -> None:
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"title": {"es": "Solo español"}}, ["title", "en"]),
        ({"title": {"es": "", "en": "x"}}, ["title", "es"]),
        ({"metric": "dancing"}, ["metric"]),
        ({"metric": "event:"}, ["metric"]),
        ({"metric": "event:Bad Name"}, ["metric"]),
        ({"target": 0}, ["target"]),
        ({"period": "day"}, ["period"]),
        ({"bonus_points": -1}, ["bonus_points"]),
        ({"badge": "Not a slug"}, ["badge"]),
        ({"slug": ""}, ["slug"]),
    ]
    for change, loc in cases:
        resp = client.post(f"{API}/challenges", json=challenge(**change), headers=shop.auth())
        assert resp.status_code == 422, (change, resp.text)
        error = resp.json()["error"]
        assert error["code"] == "invalid_request"
        assert error["details"][0]["loc"] == ["body", *loc], (change, error)
    missing = {k: v for k, v in challenge().items() if k != "target"}
    resp = client.post(f"{API}/challenges", json=missing, headers=shop.auth())
    assert resp.status_code == 422
    assert resp.json()["error"]["details"][0]["loc"] == ["body", "target"]

    odd_name = challenge(metric="event:x.y-z_1")
    assert client.post(f"{API}/challenges", json=odd_name, headers=shop.auth()).status_code == 201
    again = client.post(f"{API}/challenges", json=challenge(), headers=shop.auth())
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "duplicate_challenge"

    made = client.get(f"{API}/challenges", headers=shop.auth()).json()[0]
    for patch in ({"target": 0}, {"active": None}, {"slug": "renamed"}):
        resp = client.patch(f"{API}/challenges/{made['id']}", json=patch, headers=shop.auth())
        assert resp.status_code == 422, (patch, resp.text)


def test_a_staff_key_cannot_create_or_change_a_challenge_but_can_read_them(
    client: TestClient, shop: Shop
) -> None:
    resp = client.post(f"{API}/challenges", json=challenge(), headers=shop.auth("staff"))
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "role_required"
    made = create(client, shop)
    resp = client.patch(
        f"{API}/challenges/{made['id']}", json={"active": False}, headers=shop.auth("staff")
    )
    assert resp.status_code == 403
    assert client.get(f"{API}/challenges", headers=shop.auth("staff")).status_code == 200
    member = shop.members[0]
    resp = client.get(f"{API}/members/{member}/challenges", headers=shop.auth("staff"))
    assert resp.status_code == 200


def test_another_business_cannot_see_or_change_a_challenge_or_a_member_s_badges(
    client: TestClient, shop: Shop, other_shop: Shop, db: Database
) -> None:
    made = create(client, shop, target=1)
    buy(client, shop, shop.members[0])
    other = other_shop.auth("owner")
    assert client.get(f"{API}/challenges/{made['id']}", headers=other).status_code == 404
    assert (
        client.patch(
            f"{API}/challenges/{made['id']}", json={"active": False}, headers=other
        ).status_code
        == 404
    )
    assert client.get(f"{API}/challenges", headers=other).json() == []
    for what in ("challenges", "badges", "streak", "referral"):
        resp = client.get(f"{API}/members/{shop.members[0]}/{what}", headers=other)
        assert resp.status_code == 404, (what, resp.text)
    # The other business's members do not progress on this business's challenges.
    buy(client, other_shop, other_shop.members[0])
    with db.read() as conn:
        counted = conn.execute(
            select(func.count()).where(badges.c.business_id == other_shop.id)
        ).scalar_one()
    assert counted == 0


def test_period_keys_follow_the_local_calendar() -> None:
    madrid = ZoneInfo("Europe/Madrid")
    # Sunday 23:30 UTC is Monday 00:30 in Madrid: the next ISO week.
    at = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    assert gamification.period_key(at, "week", madrid) == "2026-W10"
    assert gamification.period_key(at, "week", ZoneInfo("UTC")) == "2026-W09"
    new_year = datetime(2025, 12, 31, 23, 30, tzinfo=UTC)
    assert gamification.period_key(new_year, "month", madrid) == "2026-01"
    assert gamification.period_key(new_year, "year", madrid) == "2026"
    assert gamification.period_key(new_year, "week", madrid) == "2026-W01"
    assert gamification.period_key(new_year, "lifetime", madrid) == "lifetime"
