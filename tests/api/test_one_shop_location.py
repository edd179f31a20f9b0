"""A sale in a business with one shop happened at that shop, whoever recorded it: a key or a
staff member set to "any location" records it there; with two shops, an unplaced sale stays
unplaced rather than being guessed."""

from __future__ import annotations

from sqlalchemy import delete, select

from lealtad.purchases.tables import purchases
from lealtad.tenancy import service as tenancy
from lealtad.tenancy.model import Role
from lealtad.tenancy.tables import locations
from tests.support import make_shop, purchase_body


def _unplaced_key(db, shop, now) -> dict[str, str]:
    with db.transaction() as conn:
        _, key = tenancy.create_api_key(
            conn, shop.id, name="till", role=Role.staff, location_id=None, now=now
        )
    return {"Authorization": f"Bearer {key}"}


def _location_of(db, shop, receipt: str):
    with db.read() as conn:
        return conn.execute(
            select(purchases.c.location_id).where(
                purchases.c.business_id == shop.id, purchases.c.receipt_id == receipt
            )
        ).scalar_one()


def test_a_one_shop_business_places_an_unplaced_sale_at_its_shop(client, db, clock) -> None:
    shop = make_shop(db, clock.now())
    with db.transaction() as conn:
        conn.execute(delete(locations).where(locations.c.id == shop.locations[1]))
    body = purchase_body(member_id=shop.members[0], receipt_id="one-shop-1")
    answer = client.post(
        "/api/v1/purchases", json=body, headers=_unplaced_key(db, shop, clock.now())
    )
    assert answer.status_code == 201, answer.text
    assert _location_of(db, shop, "one-shop-1") == shop.locations[0]


def test_with_two_shops_an_unplaced_sale_stays_unplaced(client, db, clock) -> None:
    shop = make_shop(db, clock.now())
    body = purchase_body(member_id=shop.members[0], receipt_id="two-shops-1")
    answer = client.post(
        "/api/v1/purchases", json=body, headers=_unplaced_key(db, shop, clock.now())
    )
    assert answer.status_code == 201, answer.text
    assert _location_of(db, shop, "two-shops-1") is None
