"""Members donate points to causes the business supports: through the API, on both databases."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lealtad.db.engine import Database
from lealtad.errors import InsufficientBalance
from lealtad.kit.clock import FixedClock, naive_utc
from lealtad.ledger import adjustments
from lealtad.ledger import service as ledger
from lealtad.ledger.tables import entries, lots
from lealtad.ledger.verify import verify
from lealtad.rewards import donations
from lealtad.rewards.tables import donations as donation_rows
from tests.support import Shop

API = "/api/v1"


def cause_body(**fields: Any) -> dict[str, Any]:
    body = {
        "name": {"es": "Banco de alimentos", "en": "Food bank"},
        "description": {"es": "Comidas para familias", "en": "Meals for families"},
    }
    return body | fields


def create_cause(client: TestClient, shop: Shop, **fields: Any) -> dict[str, Any]:
    resp = client.post(f"{API}/causes", json=cause_body(**fields), headers=shop.auth("manager"))
    assert resp.status_code == 201, resp.text
    return resp.json()


def grant(db: Database, shop: Shop, member: int, points: int, now: datetime, **kw: Any) -> None:
    with db.transaction() as conn:
        adjustments.adjust(
            conn,
            shop.id,
            member,
            unit="points",
            amount=points,
            reason="grant",
            actor="t",
            now=now,
            **kw,
        )


def donate(
    client: TestClient, shop: Shop, member: int, cause_id: int, points: int, **headers: str
) -> Any:
    return client.post(
        f"{API}/members/{member}/donations",
        json={"cause_id": cause_id, "points": points},
        headers=shop.auth("staff") | headers,
    )


def balance(client: TestClient, shop: Shop, member: int) -> int:
    resp = client.get(f"{API}/members/{member}/balance", headers=shop.auth())
    assert resp.status_code == 200, resp.text
    return int(resp.json()["points"])


def cause(client: TestClient, shop: Shop, cause_id: int) -> dict[str, Any]:
    resp = client.get(f"{API}/causes/{cause_id}", headers=shop.auth("staff"))
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def ledger_is_clean(db: Database, shop: Shop) -> bool:
    with db.read() as conn:
        return verify(conn, shop.id) == []


def test_donating_moves_points_out_of_the_balance_and_into_the_cause_total(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    member = shop.members[0]
    grant(db, shop, member, 100, clock.now())
    made = create_cause(client, shop)
    assert (made["total_points"], made["donors"], made["active"]) == (0, 0, True)

    resp = donate(client, shop, member, made["id"], 30)
    assert resp.status_code == 201, resp.text
    answer = resp.json()
    assert answer["cause_id"] == made["id"]
    assert answer["cause_name"] == {"es": "Banco de alimentos", "en": "Food bank"}
    assert (answer["member_id"], answer["points"]) == (member, 30)
    assert answer["balances"]["points"] == 70
    assert balance(client, shop, member) == 70
    after = cause(client, shop, made["id"])
    assert (after["total_points"], after["donors"], after["donations"]) == (30, 1, 1)

    # One entry of kind "donate" whose reason names the cause, to the "donated" account.
    history = client.get(f"{API}/members/{member}/history", headers=shop.auth()).json()
    entry = next(e for e in history if e["entry_id"] == answer["entry_id"])
    assert entry["kind"] == "donate"
    assert "Banco de alimentos" in entry["reason"]
    assert entry["changes"] == {"points": -30}
    with db.read() as conn:
        assert (
            conn.execute(
                select(func.count()).where(
                    entries.c.business_id == shop.id, entries.c.kind == "donate"
                )
            ).scalar_one()
            == 1
        )
    assert ledger_is_clean(db, shop)

    listed = client.get(f"{API}/members/{member}/donations", headers=shop.auth("staff")).json()
    assert [(d["id"], d["points"], d["cause_id"]) for d in listed] == [
        (answer["id"], 30, made["id"])
    ]


def test_cause_totals_and_donor_counts_add_up_per_cause(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    first, second = shop.members
    for member in (first, second):
        grant(db, shop, member, 50, clock.now())
    food = create_cause(client, shop)
    trees = create_cause(
        client,
        shop,
        name={"es": "Árboles", "en": "Trees"},
        description={"es": "Bosque", "en": "Forest"},
    )
    for member, target, points in [
        (first, food, 10),
        (first, food, 5),
        (second, food, 7),
        (second, trees, 3),
    ]:
        assert donate(client, shop, member, target["id"], points).status_code == 201

    listed = {c["id"]: c for c in client.get(f"{API}/causes", headers=shop.auth("staff")).json()}
    assert set(listed) == {food["id"], trees["id"]}
    assert (listed[food["id"]]["total_points"], listed[food["id"]]["donors"]) == (22, 2)
    assert listed[food["id"]]["donations"] == 3
    assert (listed[trees["id"]]["total_points"], listed[trees["id"]]["donors"]) == (3, 1)
    assert cause(client, shop, food["id"]) == listed[food["id"]]
    assert (balance(client, shop, first), balance(client, shop, second)) == (35, 40)

    newest_first = client.get(f"{API}/members/{second}/donations", headers=shop.auth()).json()
    assert [(d["cause_id"], d["points"]) for d in newest_first] == [
        (trees["id"], 3),
        (food["id"], 7),
    ]
    assert ledger_is_clean(db, shop)


def test_a_donation_takes_the_soonest_expiring_points_first_and_the_ledger_verifies_clean(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    member = shop.members[0]
    now = clock.now()
    grant(db, shop, member, 10, now)  # never expires
    grant(db, shop, member, 10, now, expires_at=now + timedelta(days=30))
    grant(db, shop, member, 10, now, expires_at=now + timedelta(days=10))
    made = create_cause(client, shop)

    assert donate(client, shop, member, made["id"], 15).status_code == 201

    with db.read() as conn:
        remaining = {
            row.expires_at: row.remaining
            for row in conn.execute(
                select(lots.c.expires_at, lots.c.remaining).where(lots.c.business_id == shop.id)
            )
        }
        assert verify(conn, shop.id) == []
    in_days = {days: naive_utc(now + timedelta(days=days)) for days in (10, 30)}
    assert remaining == {in_days[10]: 0, in_days[30]: 5, None: 10}


def test_a_donation_over_the_balance_is_a_409_and_changes_nothing(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    member = shop.members[0]
    grant(db, shop, member, 10, clock.now())
    made = create_cause(client, shop)

    resp = donate(client, shop, member, made["id"], 11, **{"Idempotency-Key": "too-much"})
    assert resp.status_code == 409, resp.text
    assert resp.json()["error"]["code"] == "insufficient_balance"

    assert balance(client, shop, member) == 10
    assert cause(client, shop, made["id"])["total_points"] == 0
    assert client.get(f"{API}/members/{member}/donations", headers=shop.auth()).json() == []
    with db.read() as conn:
        assert (
            conn.execute(
                select(func.count()).where(
                    entries.c.business_id == shop.id, entries.c.kind == "donate"
                )
            ).scalar_one()
            == 0
        )
    assert ledger_is_clean(db, shop)

    # The refused call did not use up its key: once the balance covers it, the same call goes.
    grant(db, shop, member, 1, clock.now())
    resp = donate(client, shop, member, made["id"], 11, **{"Idempotency-Key": "too-much"})
    assert resp.status_code == 201, resp.text
    assert balance(client, shop, member) == 0


def test_twenty_concurrent_donations_against_a_balance_that_covers_five_succeed_exactly_five_times(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    member = shop.members[0]
    grant(db, shop, member, 20, clock.now())  # two lots, so donations cross a lot boundary
    grant(db, shop, member, 30, clock.now())
    made = create_cause(client, shop)
    start = threading.Barrier(20)

    def give(_i: int) -> bool:
        start.wait()
        try:
            with db.transaction() as conn:
                donations.donate(
                    conn,
                    shop.principal(),
                    member,
                    donations.DonationIn(cause_id=made["id"], points=10),
                    clock.now(),
                )
            return True
        except InsufficientBalance:
            return False

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(give, range(20)))

    assert results.count(True) == 5, f"{results.count(True)} donations succeeded, expected 5"
    with db.read() as conn:
        assert ledger.balances(conn, shop.id, member)["points"] == 0
        assert (
            conn.execute(
                select(func.count()).where(donation_rows.c.business_id == shop.id)
            ).scalar_one()
            == 5
        )
        assert verify(conn, shop.id) == []
    after = cause(client, shop, made["id"])
    assert (after["total_points"], after["donors"], after["donations"]) == (50, 1, 5)


def test_an_inactive_or_unknown_cause_refuses_donations(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    member = shop.members[0]
    grant(db, shop, member, 100, clock.now())
    made = create_cause(client, shop)
    resp = client.patch(
        f"{API}/causes/{made['id']}", json={"active": False}, headers=shop.auth("manager")
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["active"] is False

    resp = donate(client, shop, member, made["id"], 10)
    assert resp.status_code == 409, resp.text
    assert resp.json()["error"]["code"] == "cause_inactive"
    resp = donate(client, shop, member, made["id"] + 1000, 10)
    assert resp.status_code == 404, resp.text
    assert resp.json()["error"]["code"] == "cause_not_found"
    resp = donate(client, shop, 10**12, made["id"], 10)
    assert resp.status_code == 404, resp.text
    assert resp.json()["error"]["code"] == "member_not_found"
    assert balance(client, shop, member) == 100

    # Switched back on, it takes donations again.
    client.patch(f"{API}/causes/{made['id']}", json={"active": True}, headers=shop.auth())
    assert donate(client, shop, member, made["id"], 10).status_code == 201


def test_a_cause_needs_its_name_and_description_in_spanish_and_english(
    client: TestClient, shop: Shop
) -> None:
    def refused(resp: Any) -> list[list[Any]]:
        assert resp.status_code == 422, resp.text
        assert resp.json()["error"]["code"] == "invalid_request"
        return [e["loc"] for e in resp.json()["error"]["details"]]

    post = lambda body: client.post(f"{API}/causes", json=body, headers=shop.auth())  # noqa: E731
    assert ["body", "name", "en"] in refused(post(cause_body(name={"es": "Solo español"})))
    assert ["body", "description", "es"] in refused(
        post(cause_body(description={"en": "English only"}))
    )
    assert ["body", "name", "es"] in refused(post(cause_body(name={"es": "   ", "en": "Blank"})))
    assert ["body", "description"] in refused(post({"name": cause_body()["name"]}))

    made = create_cause(client, shop)
    patch = lambda body: client.patch(  # noqa: E731
        f"{API}/causes/{made['id']}", json=body, headers=shop.auth()
    )
    assert ["body", "name", "en"] in refused(patch({"name": {"es": "Nuevo"}}))
    assert refused(patch({"name": None}))
    renamed = patch({"name": {"es": "Comedor", "en": "Soup kitchen"}})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == {"es": "Comedor", "en": "Soup kitchen"}
    assert renamed.json()["description"] == cause_body()["description"]


def test_a_donation_is_at_least_one_point(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    member = shop.members[0]
    grant(db, shop, member, 10, clock.now())
    made = create_cause(client, shop)
    for points in (0, -5):
        resp = donate(client, shop, member, made["id"], points)
        assert resp.status_code == 422, resp.text
        assert ["body", "points"] in [e["loc"] for e in resp.json()["error"]["details"]]
    assert balance(client, shop, member) == 10


def test_a_staff_key_cannot_create_or_change_causes_but_can_list_them_and_donate(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    resp = client.post(f"{API}/causes", json=cause_body(), headers=shop.auth("staff"))
    assert resp.status_code == 403, resp.text
    assert resp.json()["error"]["code"] == "role_required"
    made = create_cause(client, shop)
    resp = client.patch(
        f"{API}/causes/{made['id']}", json={"active": False}, headers=shop.auth("staff")
    )
    assert resp.status_code == 403, resp.text
    assert cause(client, shop, made["id"])["active"] is True

    grant(db, shop, shop.members[0], 5, clock.now())
    assert donate(client, shop, shop.members[0], made["id"], 5).status_code == 201


def test_creating_and_changing_a_cause_is_in_the_audit_log(client: TestClient, shop: Shop) -> None:
    made = create_cause(client, shop)
    client.patch(f"{API}/causes/{made['id']}", json={"active": False}, headers=shop.auth())
    log = client.get(f"{API}/audit-log", headers=shop.auth()).json()
    mine = [(e["action"], e["details"]) for e in log if e["target"] == f"cause:{made['id']}"]
    assert ("cause.update", {"active": {"before": True, "after": False}}) in mine
    assert ("cause.create", {"name": cause_body()["name"]}) in mine


def test_an_idempotent_replay_returns_the_same_answer_and_donates_once(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    member = shop.members[0]
    grant(db, shop, member, 100, clock.now())
    made = create_cause(client, shop)
    key = {"Idempotency-Key": "kiosk-42"}

    first = donate(client, shop, member, made["id"], 25, **key)
    again = donate(client, shop, member, made["id"], 25, **key)
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.json() == first.json()
    assert balance(client, shop, member) == 75
    assert cause(client, shop, made["id"])["donations"] == 1

    other = donate(client, shop, member, made["id"], 30, **key)
    assert other.status_code == 409, other.text
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    other_member = donate(client, shop, shop.members[1], made["id"], 25, **key)
    assert other_member.status_code == 409, other_member.text
    assert balance(client, shop, member) == 75
    assert ledger_is_clean(db, shop)


def test_a_key_of_another_business_gets_404_for_causes_and_members_of_this_one(
    client: TestClient, db: Database, shop: Shop, other_shop: Shop, clock: FixedClock
) -> None:
    member = shop.members[0]
    grant(db, shop, member, 100, clock.now())
    grant(db, other_shop, other_shop.members[0], 100, clock.now())
    made = create_cause(client, shop)
    theirs = other_shop.auth("owner")

    for resp in (
        client.get(f"{API}/causes/{made['id']}", headers=theirs),
        client.patch(f"{API}/causes/{made['id']}", json={"active": False}, headers=theirs),
        # Their own member cannot give to our cause...
        donate(client, other_shop, other_shop.members[0], made["id"], 10),
    ):
        assert resp.status_code == 404, resp.text
        assert resp.json()["error"]["code"] == "cause_not_found"
    for resp in (
        # ...nor can they spend our member's points, or read their donations.
        donate(client, other_shop, member, made["id"], 10),
        client.get(f"{API}/members/{member}/donations", headers=theirs),
    ):
        assert resp.status_code == 404, resp.text
        assert resp.json()["error"]["code"] == "member_not_found"

    assert client.get(f"{API}/causes", headers=theirs).json() == []
    assert cause(client, shop, made["id"])["active"] is True
    assert balance(client, shop, member) == 100
    assert balance(client, other_shop, other_shop.members[0]) == 100
