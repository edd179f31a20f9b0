"""Redemptions and events dated in the past through the API (`occurred_at`, within a
purchase's limits): the journal entry, the lots and the voucher are dated then, points are
taken from the lots as they stood then; a future or out-of-range date is a 422."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from lealtad.analytics.rebuild import rebuild
from lealtad.analytics.tables import counters, member_stats
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.ledger.maturity import settle
from lealtad.ledger.tables import entries, lots
from lealtad.rules.definition import PointsPolicy, points_per_currency_unit
from lealtad.rules.earn_rule import EarnRule, FixedPoints
from tests.support import Shop, make_shop, purchase_body

EXPIRY_DAYS = 30


def _program() -> Any:
    base = points_per_currency_unit()
    attended = EarnRule(
        id="class",
        name="Class attended",
        action=FixedPoints(points=5),
        trigger="custom",
        event="class.attended",
    )
    return base.model_copy(
        update={
            "rules": [*base.rules, attended],
            "points": PointsPolicy(expiry="days", expiry_days=EXPIRY_DAYS),
        }
    )


def _shop(db: Database, clock: FixedClock) -> Shop:
    return make_shop(db, clock.now(), program=_program())


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _error(response: Any, code: str) -> None:
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code, response.text


def _entry_dates(db: Database, shop: Shop, kind: str) -> list[datetime]:
    with db.read() as conn:
        found = conn.execute(
            select(entries.c.occurred_at)
            .where(entries.c.business_id == shop.id, entries.c.kind == kind)
            .order_by(entries.c.id)
        ).scalars()
        return [at.replace(tzinfo=UTC) for at in found]


def test_a_redemption_dated_in_the_past_spends_the_lots_as_they_stood_then(
    client: TestClient, db: Database, clock: FixedClock
) -> None:
    shop = _shop(db, clock)
    member = shop.members[0]
    start = clock.now()
    reward = client.post(
        "/api/v1/rewards",
        json={
            "slug": "coffee",
            "kind": "free_product",
            "sku": "LAT",
            "title": {"es": "Café gratis", "en": "Free coffee"},
            "cost": 10,
            "voucher_days": 7,
        },
        headers=shop.auth("manager"),
    ).json()
    # 10 points earned on day 1, expiring on day 31.
    bought = client.post(
        "/api/v1/purchases",
        json=purchase_body(amount=1_000, member_id=member, occurred_at=_iso(start)),
        headers=shop.auth(),
    )
    assert bought.status_code == 201, bought.text
    clock.at = start + timedelta(days=40)  # past the expiry, and nothing settled yet
    redeemed_at = start + timedelta(days=10)

    done = client.post(
        f"/api/v1/members/{member}/redemptions",
        json={"reward_id": reward["id"], "occurred_at": _iso(redeemed_at)},
        headers=shop.auth("staff"),
    )

    assert done.status_code == 201, done.text
    voucher = done.json()
    assert voucher["balances"]["points"] == 0
    assert datetime.fromisoformat(voucher["issued_at"]).replace(tzinfo=UTC) == redeemed_at
    assert datetime.fromisoformat(voucher["expires_at"]).replace(tzinfo=UTC) == (
        redeemed_at + timedelta(days=7)
    )
    assert _entry_dates(db, shop, "redeem") == [redeemed_at]
    with db.transaction() as conn:
        # Spent on day 10, the lot has nothing left to expire.
        assert settle(conn, shop.id, clock.now()).expired_units == 0


def test_a_redemption_dated_in_the_future_or_out_of_range_is_refused(
    client: TestClient, db: Database, clock: FixedClock
) -> None:
    shop = _shop(db, clock)
    member = shop.members[0]
    reward = client.post(
        "/api/v1/rewards",
        json={
            "slug": "tea",
            "kind": "free_product",
            "sku": "TEA",
            "title": {"es": "Té", "en": "Tea"},
            "cost": 1,
        },
        headers=shop.auth("manager"),
    ).json()
    client.post(
        "/api/v1/purchases", json=purchase_body(amount=500, member_id=member), headers=shop.auth()
    )
    url = f"/api/v1/members/{member}/redemptions"
    for when, code in (
        (_iso(clock.now() + timedelta(hours=1)), "occurred_in_future"),
        ("1899-12-31T12:00:00Z", "date_out_of_range"),
        ("2300-01-01T00:00:00Z", "date_out_of_range"),
        ("yesterday", "invalid_request"),
    ):
        answer = client.post(
            url, json={"reward_id": reward["id"], "occurred_at": when}, headers=shop.auth("staff")
        )
        _error(answer, code)
    assert _entry_dates(db, shop, "redeem") == []
    # Within the clock's skew (5 minutes) it is taken, as a purchase is.
    fine = client.post(
        url,
        json={"reward_id": reward["id"], "occurred_at": _iso(clock.now() + timedelta(minutes=2))},
        headers=shop.auth("staff"),
    )
    assert fine.status_code == 201, fine.text


def test_an_event_dated_in_the_past_earns_points_dated_then_expiring_from_then(
    client: TestClient, db: Database, clock: FixedClock
) -> None:
    shop = _shop(db, clock)
    member = shop.members[0]
    start = clock.now()
    clock.at = start + timedelta(days=20)
    attended = start + timedelta(days=3)
    body = {
        "event_id": "C-1",
        "name": "class.attended",
        "member_id": member,
        "occurred_at": _iso(attended),
    }

    done = client.post("/api/v1/events", json=body, headers=shop.auth())

    assert done.status_code == 201, done.text
    assert done.json()["awards"][0]["amount"] == 5
    assert _entry_dates(db, shop, "earn") == [attended]
    with db.read() as conn:
        expires = conn.execute(
            select(lots.c.expires_at).where(lots.c.business_id == shop.id)
        ).scalar_one()
    assert expires.replace(tzinfo=UTC) == attended + timedelta(days=EXPIRY_DAYS)
    for when, code in (
        (_iso(clock.now() + timedelta(hours=1)), "occurred_in_future"),
        ("1800-01-01T00:00:00Z", "date_out_of_range"),
    ):
        answer = client.post(
            "/api/v1/events",
            json=body | {"event_id": f"C-{code}", "occurred_at": when},
            headers=shop.auth(),
        )
        _error(answer, code)


def _first_rewards(db: Database, shop: Shop) -> tuple[Any, dict[str, int]]:
    with db.read() as conn:
        first = conn.execute(
            select(member_stats.c.first_reward_at).where(
                member_stats.c.business_id == shop.id,
                member_stats.c.member_id == shop.members[0],
            )
        ).scalar_one()
        counted: dict[str, int] = {}
        for dim, value in conn.execute(
            select(counters.c.dim, counters.c.value).where(
                counters.c.business_id == shop.id, counters.c.metric == "cohort.first_reward"
            )
        ):
            counted[dim] = counted.get(dim, 0) + value
    return first, {dim: value for dim, value in counted.items() if value}


def test_a_redemption_dated_before_the_first_one_seen_becomes_the_first_reward(
    client: TestClient, db: Database, clock: FixedClock
) -> None:
    shop = _shop(db, clock)
    member = shop.members[0]
    start = clock.now()
    reward = client.post(
        "/api/v1/rewards",
        json={
            "slug": "cake",
            "kind": "free_product",
            "sku": "CAK",
            "title": {"es": "Pastel", "en": "Cake"},
            "cost": 1,
        },
        headers=shop.auth("manager"),
    ).json()
    client.post(
        "/api/v1/purchases",
        json=purchase_body(amount=500, member_id=member, occurred_at=_iso(start)),
        headers=shop.auth(),
    )
    clock.at = start + timedelta(days=25)
    for days in (20, 12):  # recorded newest first
        done = client.post(
            f"/api/v1/members/{member}/redemptions",
            json={"reward_id": reward["id"], "occurred_at": _iso(start + timedelta(days=days))},
            headers=shop.auth("staff"),
        )
        assert done.status_code == 201, done.text

    first, counted = _first_rewards(db, shop)
    assert first.replace(tzinfo=UTC) == start + timedelta(days=12)
    assert counted == {"12": 1}
    with db.transaction() as conn:
        rebuild(conn, shop.id)
    assert _first_rewards(db, shop) == (first, counted)
