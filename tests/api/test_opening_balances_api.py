"""POST /api/v1/imports/balances and /api/v1/imports/{run}/undo: the balances file's rows in a
request, checked all first, loaded through the ledger, undone as a whole."""

from __future__ import annotations

from fastapi.testclient import TestClient

from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.members import service as members
from tests.conftest import SECRET
from tests.support import make_shop


def test_rows_load_through_the_ledger_and_the_run_is_undone_as_a_whole(
    db: Database, client: TestClient, clock: FixedClock
) -> None:
    shop = make_shop(db, clock.now(), members_count=2)
    ana, ben = shop.members
    with db.read() as conn:
        card = members.find(conn, shop.id, SECRET, member_id=ben).card_number
    rows = [
        {"member_id": ana, "points": 120, "earned_at": "2025-01-10", "expires_at": "2027-01-10"},
        {"card_number": card, "cashback": 450},
    ]
    manager = shop.auth("manager")

    made = client.post("/api/v1/imports/balances", json={"rows": rows}, headers=manager)

    assert made.status_code == 201, made.text
    run = made.json()
    assert (run["kind"], run["status"], run["rows"], run["loaded"]) == ("balances", "done", 2, 2)
    balance = client.get(f"/api/v1/members/{ana}/balance", headers=manager).json()
    assert (balance["points"], balance["next_expiry"]) == (120, "2027-01-09T23:00:00Z")
    history = client.get(f"/api/v1/members/{ana}/history", headers=manager).json()
    assert history[0]["kind"] == "opening"
    assert history[0]["actor"] == f"import:{run['run_id']}"
    again = client.post("/api/v1/imports/balances", json={"rows": rows}, headers=manager)
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "import_repeated"

    undone = client.post(f"/api/v1/imports/{run['run_id']}/undo", headers=manager)

    assert undone.status_code == 200, undone.text
    assert undone.json() == {"run_id": run["run_id"], "entries_reversed": 2}
    assert client.get(f"/api/v1/members/{ben}/balance", headers=manager).json()["cashback"] == 0
    status = client.get(f"/api/v1/imports/{run['run_id']}", headers=manager).json()["status"]
    assert status == "undone"
    twice = client.post(f"/api/v1/imports/{run['run_id']}/undo", headers=manager)
    assert twice.status_code == 409
    assert twice.json()["error"]["code"] == "import_run_undone"


def test_bad_rows_are_named_with_their_reason_and_nothing_is_loaded(
    db: Database, client: TestClient, clock: FixedClock
) -> None:
    shop = make_shop(db, clock.now(), members_count=1)
    (ana,) = shop.members
    rows = [
        {"member_id": ana, "points": 10},
        {"member_id": ana, "points": 10, "earned_at": "10/01/2025"},
        {"member_id": 987654, "points": 10},
        {"member_id": ana, "cashback": -3},
        {"member_id": ana, "stamps": 2, "stamp_card": "nope"},
        {"member_id": ana, "points": 5, "earned_at": "2025-06-01", "expires_at": "2025-01-01"},
    ]

    refused = client.post(
        "/api/v1/imports/balances", json={"rows": rows}, headers=shop.auth("manager")
    )

    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "import_rows_invalid"
    reasons = {d["row"]: d["reason"] for d in error["details"]}
    assert sorted(reasons) == [2, 3, 4, 5, 6]
    assert "earned_at must be a date" in reasons[2]
    assert "unknown member" in reasons[3]
    assert "cashback is negative" in reasons[4]
    assert "unknown stamp card 'nope'" in reasons[5]
    assert "not after the earning date" in reasons[6]
    balance = client.get(f"/api/v1/members/{ana}/balance", headers=shop.auth("manager")).json()
    assert balance["points"] == 0


def test_undo_is_refused_once_points_were_spent_and_staff_cannot_import(
    db: Database, client: TestClient, clock: FixedClock
) -> None:
    shop = make_shop(db, clock.now(), members_count=1)
    (ana,) = shop.members
    manager = shop.auth("manager")
    rows = [{"member_id": ana, "points": 100, "earned_at": "2025-01-10"}]
    staff = client.post("/api/v1/imports/balances", json={"rows": rows}, headers=shop.auth("staff"))
    assert staff.status_code == 403
    run = client.post("/api/v1/imports/balances", json={"rows": rows}, headers=manager).json()
    spent = client.post(
        f"/api/v1/members/{ana}/adjustments",
        json={"unit": "points", "amount": -40, "reason": "paid at the old till"},
        headers=manager,
    )
    assert spent.status_code == 201, spent.text

    refused = client.post(f"/api/v1/imports/{run['run_id']}/undo", headers=manager)

    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "opening_balance_used"
    assert f"member {ana}: 40 of 100 points (adjust 40)" in error["message"]
    assert client.get(f"/api/v1/members/{ana}/balance", headers=manager).json()["points"] == 60


def test_the_wallet_history_names_a_brought_balance_in_the_members_language(
    db: Database, client: TestClient, clock: FixedClock
) -> None:
    from tests.support import wallet_login

    shop = make_shop(db, clock.now(), members_count=1)
    (ana,) = shop.members
    rows = [{"member_id": ana, "points": 75, "earned_at": "2025-01-10"}]
    made = client.post(
        "/api/v1/imports/balances", json={"rows": rows}, headers=shop.auth("manager")
    )
    assert made.status_code == 201, made.text
    wallet_login(client, db, shop, ana)

    english = client.get(f"/w/{shop.slug}/history?lang=en")
    spanish = client.get(f"/w/{shop.slug}/history?lang=es")

    assert english.status_code == 200
    assert "Balance brought from the previous program" in english.text
    assert "Saldo traído del programa anterior" in spanish.text
