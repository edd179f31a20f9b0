"""A business's time zone decides what "a day" is on its dashboard: a change is seen by the very
next read, in this process or another, not after a cache has run out."""

from __future__ import annotations

from datetime import UTC, datetime

from lealtad.analytics import zone_store
from lealtad.tenancy import service as tenancy
from lealtad.tenancy.model import Role
from tests.support import Shop, make_shop


def _owner_sets_zone(db, clock, shop: Shop, zone: str) -> None:
    with db.transaction() as conn:
        business = tenancy.get_business(conn, shop.id)
        tenancy.update_business(
            conn,
            shop.principal(Role.owner),
            clock.now(),
            name=business.name,
            locale=business.locale,
            timezone=zone,
            two_step_required=False,
        )


def test_a_changed_time_zone_moves_the_day_at_once(db, clock) -> None:
    shop = make_shop(db, clock.now())
    late_evening = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)
    for zone, day in (("UTC", "2026-03-10"), ("Asia/Tokyo", "2026-03-11")):
        _owner_sets_zone(db, clock, shop, zone)
        with db.read() as conn:
            assert zone_store.local_day(conn, shop.id, late_evening).isoformat() == day, zone
