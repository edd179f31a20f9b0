"""Lifetime figures from the previous system through POST /api/v1/imports/balances: the member's
JSON answers them as `previous_system`, the personal-data export holds them, erasure removes
them, and the dashboard does not count them (D68)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.members.tables import member_previous_figures
from tests.support import Shop, make_shop, purchase_body

FIGURES = {
    "lifetime_spend": 1_234_567,
    "lifetime_visits": 48,
    "lifetime_points": 5_200,
    "lifetime_as_of": "2025-12-31",
}


def kept(db: Database, shop: Shop) -> int:
    c = member_previous_figures.c
    with db.read() as conn:
        return int(conn.scalar(select(func.count()).where(c.business_id == shop.id)) or 0)


def dashboard(client: TestClient, shop: Shop) -> dict[str, Any]:
    answer = client.get(
        "/api/v1/analytics/dashboard", params={"period": "12m"}, headers=shop.auth("manager")
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_the_member_answers_its_previous_system_figures_apart_from_its_own(
    db: Database, client: TestClient, clock: FixedClock
) -> None:
    shop = make_shop(db, clock.now(), members_count=2)
    ana, ben = shop.members
    manager = shop.auth("manager")
    bought = client.post(
        "/api/v1/purchases", json=purchase_body(member_id=ana, amount=2_000), headers=manager
    )
    assert bought.status_code in (200, 201), bought.text
    board = dashboard(client, shop)
    rows = [
        {"member_id": ana, "points": 40, **FIGURES},
        {"member_id": ben, "lifetime_visits": 2},
    ]

    made = client.post("/api/v1/imports/balances", json={"rows": rows}, headers=manager)

    assert made.status_code == 201, made.text
    run_id = made.json()["run_id"]
    member = client.get(f"/api/v1/members/{ana}", headers=manager).json()
    assert member["previous_system"] == {
        "as_of": "2025-12-31",
        "visits": 48,
        "spend": 1_234_567,
        "points": 5_200,
        "import_run_id": run_id,
    }
    assert member["balances"]["points"] == 20 + 40
    other = client.get(f"/api/v1/members/{ben}", headers=manager).json()["previous_system"]
    assert other == {
        "as_of": "2026-03-02",
        "visits": 2,
        "spend": None,
        "points": None,
        "import_run_id": run_id,
    }
    # Visits, spend, members and the value figures of the dashboard are Lealtad's alone; only
    # the points brought in as lots show, as migrated value (D68).
    after = dashboard(client, shop)
    for name, kpi in board["kpis"].items():
        if name != "flow":
            assert after["kpis"][name] == kpi, name

    export = client.get(f"/api/v1/members/{ana}/data-export", headers=manager)
    assert export.status_code == 200, export.text
    assert export.json()["previous_system"] == [member["previous_system"]]
    assert "previous_system" not in export.json()["profile"]

    erased = client.post(f"/api/v1/members/{ana}/erasure", headers=manager)

    assert erased.status_code == 200, erased.text
    assert erased.json()["previous_system"] is None
    assert kept(db, shop) == 1  # ben's
    export = client.get(f"/api/v1/members/{ana}/data-export", headers=manager).json()
    assert export["previous_system"] == []


def test_bad_or_disagreeing_lifetime_figures_are_a_422_with_nothing_loaded(
    db: Database, client: TestClient, clock: FixedClock
) -> None:
    shop = make_shop(db, clock.now(), members_count=2)
    ana, ben = shop.members
    manager = shop.auth("manager")
    rows = [
        {"member_id": ana, "points": 10, **FIGURES},
        {"member_id": ben, "lifetime_spend": -1},
        {"member_id": ben, "lifetime_as_of": "2025-01-01"},
        {"member_id": ben, "lifetime_visits": 3, "lifetime_as_of": "31/12/2025"},
        {"member_id": ana, **FIGURES, "lifetime_points": 5_201},
    ]

    refused = client.post("/api/v1/imports/balances", json={"rows": rows}, headers=manager)

    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "import_rows_invalid"
    reasons = {d["row"]: d["reason"] for d in error["details"]}
    assert sorted(reasons) == [2, 3, 4, 5]
    assert "lifetime_spend is negative" in reasons[2]
    assert "lifetime_as_of without" in reasons[3]
    assert "lifetime_as_of must be a date" in reasons[4]
    assert f"member {ana} has other lifetime figures on line 1" in reasons[5]
    assert kept(db, shop) == 0
    assert client.get(f"/api/v1/members/{ana}", headers=manager).json()["balances"]["points"] == 0
    typed = client.post(
        "/api/v1/imports/balances",
        json={"rows": [{"member_id": ana, "lifetime_visits": "many"}]},
        headers=manager,
    )
    assert typed.status_code == 422, typed.text
    assert kept(db, shop) == 0


def _list_statements(
    db: Database, client: TestClient, shop: Shop, limit: int
) -> tuple[list[Any], int]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        page = client.get("/api/v1/members", params={"limit": limit}, headers=shop.auth("manager"))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert page.status_code == 200, page.text
    return page.json(), len(seen)


def test_a_page_of_members_answers_each_as_alone_with_reads_that_do_not_grow_with_it(
    db: Database, client: TestClient, clock: FixedClock
) -> None:
    shop = make_shop(db, clock.now(), members_count=12)
    manager = shop.auth("manager")
    for member in shop.members[:5]:
        bought = client.post(
            "/api/v1/purchases", json=purchase_body(member_id=member, amount=1_500), headers=manager
        )
        assert bought.status_code == 201, bought.text
    rows = [{"member_id": m, "lifetime_visits": 3 + n} for n, m in enumerate(shop.members[::3])]
    made = client.post("/api/v1/imports/balances", json={"rows": rows}, headers=manager)
    assert made.status_code == 201, made.text

    small, small_reads = _list_statements(db, client, shop, 3)
    page, page_reads = _list_statements(db, client, shop, 12)

    assert len(small) == 3
    assert len(page) == 12
    for member in page:
        alone = client.get(f"/api/v1/members/{member['id']}", headers=manager).json()
        assert member == alone
    assert sum(m["previous_system"] is not None for m in page) == len(rows)
    # Tiers, balances and lifetime figures read once for the page, not once per member.
    assert page_reads == small_reads
