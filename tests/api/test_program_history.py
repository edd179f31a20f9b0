"""A business's program in time (D65): nothing is earned under a program that was not in force,
and a business bringing its history dates its program back to the start of that history, which
supersedes the versions that had earned nothing yet."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lealtad.comms.tables import outbox
from lealtad.db.engine import Database
from lealtad.imports import service as imports
from lealtad.kit.clock import FixedClock
from lealtad.purchases.tables import purchases
from lealtad.rules.definition import points_per_currency_unit
from tests.conftest import SECRET
from tests.support import Shop, make_shop


def per_unit(rate: str) -> dict[str, Any]:
    return {
        "rules": [
            {"id": "base", "name": "Base", "action": {"type": "points_per_unit", "rate": rate}}
        ]
    }


def put_program(client: TestClient, shop: Shop, definition: dict[str, Any], at: datetime | None):  # type: ignore[no-untyped-def]
    body: dict[str, Any] = {"definition": definition, "reason": "history"}
    if at is not None:
        body["effective_from"] = at.isoformat()
    return client.put("/api/v1/program", json=body, headers=shop.auth("manager"))


def sale(client: TestClient, shop: Shop, receipt: str, at: datetime, member: int | None):  # type: ignore[no-untyped-def]
    body: dict[str, Any] = {
        "receipt_id": receipt,
        "amount": 1000,
        "currency": "EUR",
        "occurred_at": at.isoformat(),
    }
    if member is not None:
        body["member_id"] = member
    return client.post("/api/v1/purchases", json=body, headers=shop.auth())


def new_shop(db: Database, clock: FixedClock) -> Shop:
    # Its program (1 point per euro) starts now, as for a business created today.
    return make_shop(db, clock.now(), program_from=clock.now())


def test_a_sale_dated_before_the_first_program_version_is_refused_naming_the_date_and_version(
    client: TestClient, db: Database, clock: FixedClock
) -> None:
    shop = new_shop(db, clock)
    before = clock.now() - timedelta(days=30)
    refused = sale(client, shop, "OLD-1", before, shop.members[0])
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "before_first_program"
    assert before.date().isoformat() in error["message"]
    assert "first version (1)" in error["message"]
    assert clock.now().date().isoformat() in error["message"]
    # Nothing of it was kept: the same receipt is refused the same way, not replayed.
    again = sale(client, shop, "OLD-1", before, shop.members[0])
    assert again.json()["error"]["code"] == "before_first_program"
    # A sale without a member earns under no program: it is kept (the dashboards' baseline).
    anonymous = sale(client, shop, "OLD-2", before, None)
    assert anonymous.status_code == 201, anonymous.text
    assert anonymous.json()["awards"] == []
    preview = client.post(
        "/api/v1/purchases/preview",
        json={
            "receipt_id": "P",
            "amount": 100,
            "currency": "EUR",
            "member_id": shop.members[0],
            "occurred_at": before.isoformat(),
        },
        headers=shop.auth(),
    )
    assert preview.json()["error"]["code"] == "before_first_program"
    event = client.post(
        "/api/v1/events",
        json={"event_id": "E-old", "name": "review_written", "member_id": shop.members[0],
              "occurred_at": before.isoformat()},
        headers=shop.auth(),
    )  # fmt: skip
    assert event.status_code == 422, event.text
    assert event.json()["error"]["code"] == "before_first_program"


def test_a_version_dated_back_to_the_history_supersedes_the_unused_ones_and_earns_the_past(
    client: TestClient, db: Database, clock: FixedClock
) -> None:
    shop = new_shop(db, clock)
    start = clock.now() - timedelta(days=730)
    # A catalog program of 2 points per euro, in force since two years ago.
    backdated = put_program(client, shop, per_unit("2"), start)
    assert backdated.status_code == 200, backdated.text
    assert backdated.json()["version"] == 2
    versions = client.get("/api/v1/program/versions", headers=shop.auth()).json()
    assert [(v["version"], v["superseded_by"]) for v in versions] == [(2, None), (1, 2)]
    assert client.get("/api/v1/program", headers=shop.auth()).json()["version"] == 2
    # History and today alike earn under it: version 1, dated today, is no longer in force.
    year_ago = sale(client, shop, "H-1", clock.now() - timedelta(days=365), shop.members[0])
    assert year_ago.status_code == 201, year_ago.text
    assert [a["amount"] for a in year_ago.json()["awards"]] == [20]
    today = sale(client, shop, "H-2", clock.now(), shop.members[0])
    assert [a["amount"] for a in today.json()["awards"]] == [20]
    # Members hear of changes that take effect now, not of history being brought in.
    with db.read() as conn:
        told = conn.execute(
            select(func.count()).where(
                outbox.c.business_id == shop.id, outbox.c.topic == "program.changed"
            )
        ).scalar_one()
    assert told == 0
    # Now that sales have earned, dating a version back would judge them again: refused,
    # naming the last sale that earned.
    again = put_program(client, shop, per_unit("3"), start - timedelta(days=1))
    assert again.status_code == 422
    assert again.json()["error"]["code"] == "effective_in_past"
    assert clock.now().date().isoformat() in again.json()["error"]["message"]


def test_the_same_rules_dated_back_are_a_version_of_their_own(
    client: TestClient, db: Database, clock: FixedClock
) -> None:
    shop = new_shop(db, clock)
    same = points_per_currency_unit(Decimal(1)).as_json()
    assert put_program(client, shop, same, None).json()["error"]["code"] == "program_unchanged"
    back = put_program(client, shop, same, clock.now() - timedelta(days=90))
    assert back.status_code == 200, back.text
    old = sale(client, shop, "S-1", clock.now() - timedelta(days=60), shop.members[0])
    assert [a["amount"] for a in old.json()["awards"]] == [10]


def test_an_import_refuses_members_rows_dated_before_the_program_and_keeps_anonymous_ones(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    shop = new_shop(db, clock)
    old = (clock.now() - timedelta(days=10)).isoformat()
    new = clock.now().isoformat()
    path = tmp_path / "sales.csv"
    path.write_text(
        "receipt_id,amount,currency,occurred_at,member_id\n"
        f"I-1,1000,EUR,{old},{shop.members[0]}\n"
        f"I-2,1000,EUR,{old},\n"
        f"I-3,1000,EUR,{new},{shop.members[0]}\n"
    )
    done = imports.import_purchases(db, shop.id, path, secret_key=SECRET, clock=clock)
    assert (done.loaded, done.rejected) == (2, 1)
    reasons = (tmp_path / "sales.csv.rejects.csv").read_text()
    assert "before_first_program" in reasons
    assert "I-1" in reasons
    with db.read() as conn:
        kept = conn.execute(
            select(purchases.c.receipt_id).where(purchases.c.business_id == shop.id)
        ).scalars()
        assert sorted(kept) == ["I-2", "I-3"]
