"""The per-process caches of a business's configuration (kit/process_cache.py, D64): every change
renews the business's config version, whatever writes it, and the next purchase sees it, also
when the change comes through another Database object (another process's view)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert, text, update

from lealtad.db.engine import Database
from lealtad.errors import Invalid, NotFound
from lealtad.kit.clock import FixedClock, naive_utc
from lealtad.members import service as members
from lealtad.members.schemas import MemberIn
from lealtad.purchases import service as purchases
from lealtad.purchases.schemas import PurchaseIn
from lealtad.rewards.tables import challenges
from lealtad.rules import service as rules
from lealtad.rules.definition import points_per_currency_unit
from lealtad.tenancy import config
from lealtad.tenancy import service as tenancy
from lealtad.tenancy import store as tenancy_store
from lealtad.tenancy.model import Principal, Role
from lealtad.tenancy.tables import locations
from tests.conftest import SECRET
from tests.support import Shop, purchase_body


@pytest.fixture
def elsewhere(db: Database) -> Iterator[Database]:
    """A second Database on the same database: what another process writes."""
    other = Database(db.url, keys=db.keys)
    yield other
    other.dispose()


def _buy(db: Database, principal: Principal, now: datetime, **body: Any) -> dict[str, Any]:
    with db.transaction() as conn:
        status, answer = purchases.record(
            conn, principal, PurchaseIn(**purchase_body(**body)), secret_key=SECRET, now=now
        )
    assert status == 201
    return answer


def _points(answer: dict[str, Any]) -> int:
    return sum(a["amount"] for a in answer["awards"] if a["unit"] == "points")


def _stamp(db: Database, business_id: int) -> int | None:
    with db.read() as conn:
        return tenancy_store.config_version(conn, business_id)


def test_a_new_currency_is_seen_by_the_next_purchase(
    db: Database, elsewhere: Database, shop: Shop, clock: FixedClock
) -> None:
    principal, member = shop.principal(), shop.members[0]
    _buy(db, principal, clock.now(), member_id=member)
    before = _stamp(db, shop.id)
    with elsewhere.transaction() as conn:  # no service: the trigger is what renews the stamp
        conn.execute(text("UPDATE businesses SET currency = 'USD' WHERE id = :b"), {"b": shop.id})
    assert _stamp(db, shop.id) != before
    with pytest.raises(Invalid) as refused:
        _buy(db, principal, clock.now(), member_id=member)
    assert refused.value.code == "currency_mismatch"
    assert _buy(db, principal, clock.now(), member_id=member, currency="USD")["currency"] == "USD"


def test_a_new_timezone_and_a_renamed_location_are_seen(
    db: Database, elsewhere: Database, shop: Shop, clock: FixedClock
) -> None:
    _buy(db, shop.principal(), clock.now(), member_id=shop.members[0])
    with elsewhere.transaction() as conn:
        tenancy_store.update_business(conn, shop.id, timezone="America/Lima")
        tenancy_store.update_location(conn, shop.id, shop.locations[0], timezone="Asia/Tokyo")
    with db.transaction() as conn, config.pinned(conn, shop.id):
        assert config.business(conn, shop.id).timezone == "America/Lima"
        assert config.location(conn, shop.id, shop.locations[0]).timezone == "Asia/Tokyo"


def test_a_one_shop_business_gains_a_second_shop(
    db: Database, elsewhere: Database, clock: FixedClock
) -> None:
    now = clock.now()
    with db.transaction() as conn:
        bid = tenancy.create_business(
            conn,
            name="One shop",
            currency="EUR",
            timezone="Europe/Madrid",
            locale="es",
            now=now,
            program=points_per_currency_unit(Decimal(1)),
        )
        only = tenancy.create_location(conn, bid, name="Only", timezone=None, now=now)
        member = members.enrol(conn, bid, MemberIn(name="Ana"), channel="api", now=now)
    anywhere = Principal(bid, Role.manager, None)
    assert _buy(db, anywhere, now, member_id=member)["location_id"] == only
    assert _buy(db, anywhere, now, member_id=member)["location_id"] == only  # from the cache
    with elsewhere.transaction() as conn:
        second = tenancy.create_location(conn, bid, name="Second", timezone=None, now=now)
        closed = tenancy.create_location(conn, bid, name="Closed", timezone=None, now=now)
    assert _buy(db, anywhere, now, member_id=member)["location_id"] is None
    assert _buy(db, anywhere, now, member_id=member, location_id=closed)["location_id"] == closed
    with elsewhere.transaction() as conn:
        conn.execute(locations.delete().where(locations.c.id == second))
    with pytest.raises(NotFound):
        _buy(db, anywhere, now, member_id=member, location_id=second)


def test_a_published_program_version_earns_from_the_next_purchase(
    db: Database, elsewhere: Database, shop: Shop, clock: FixedClock
) -> None:
    principal, member = shop.principal(), shop.members[0]
    assert _points(_buy(db, principal, clock.now(), member_id=member, amount=1000)) == 10
    with elsewhere.transaction() as conn:
        rules.change(
            conn,
            shop.id,
            points_per_currency_unit(Decimal(3)),
            author="test",
            reason="triple",
            now=clock.now(),
        )
    assert _points(_buy(db, principal, clock.now(), member_id=member, amount=1000)) == 30


def test_a_version_dated_later_takes_over_at_its_date_with_no_write(
    db: Database, shop: Shop, clock: FixedClock
) -> None:
    principal, member = shop.principal(), shop.members[0]
    start = clock.now() + timedelta(days=1)
    with db.transaction() as conn:
        rules.change(
            conn,
            shop.id,
            points_per_currency_unit(Decimal(5)),
            author="test",
            reason="from tomorrow",
            now=clock.now(),
            effective_from=start,
        )
    stamp = _stamp(db, shop.id)
    assert _points(_buy(db, principal, clock.now(), member_id=member)) == 10
    assert _points(_buy(db, principal, clock.now(), member_id=member)) == 10  # cached, still 1x
    later = start + timedelta(minutes=1)
    assert _points(_buy(db, principal, later, member_id=member)) == 50
    # A sale dated before the change, recorded after it, keeps the version of its own time.
    before = (start - timedelta(hours=1)).isoformat()
    assert _points(_buy(db, principal, later, member_id=member, occurred_at=before)) == 10
    assert _stamp(db, shop.id) == stamp


def _challenge(conn: Any, business_id: int, now: datetime) -> int:
    return int(
        conn.execute(
            insert(challenges)
            .values(
                business_id=business_id,
                slug="first",
                title={"en": "First", "es": "Primera"},
                metric="purchases",
                target=1,
                period="lifetime",
                bonus_points=7,
                badge="first",
                active=True,
                created_at=naive_utc(now),
            )
            .returning(challenges.c.id)
        ).scalar_one()
    )


def test_a_challenge_created_and_ended_elsewhere(
    db: Database, elsewhere: Database, shop: Shop, clock: FixedClock
) -> None:
    principal, now = shop.principal(), clock.now()
    first, second = shop.members
    assert _buy(db, principal, now, member_id=first)["badges"] == []
    with elsewhere.transaction() as conn:
        challenge = _challenge(conn, shop.id, now)
    assert [b["badge"] for b in _buy(db, principal, now, member_id=first)["badges"]] == ["first"]
    with elsewhere.transaction() as conn:
        conn.execute(update(challenges).where(challenges.c.id == challenge).values(active=False))
    assert _buy(db, principal, now, member_id=second)["badges"] == []


def test_a_stamp_renewed_inside_a_rolled_back_transaction_leaves_nothing_behind(
    db: Database, shop: Shop, clock: FixedClock
) -> None:
    """A purchase recorded after a change in the same transaction reads the new stamp; when the
    transaction rolls back, that stamp never comes back (it is random), so what was cached for
    it is never served."""
    principal, member = shop.principal(), shop.members[0]
    before = _stamp(db, shop.id)

    def change_buy_and_fail() -> None:
        with db.transaction() as conn:
            rules.change(
                conn,
                shop.id,
                points_per_currency_unit(Decimal(9)),
                author="test",
                reason="never",
                now=clock.now(),
            )
            body = PurchaseIn(**purchase_body(member_id=member))
            answer = purchases.record(conn, principal, body, secret_key=SECRET, now=clock.now())
            assert _points(answer[1]) == 90
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        change_buy_and_fail()
    assert _stamp(db, shop.id) == before
    assert _points(_buy(db, principal, clock.now(), member_id=member)) == 10


def test_a_batch_pinned_once_reads_the_stamp_once(
    db: Database, shop: Shop, clock: FixedClock
) -> None:
    """A writer that pins the business around a batch of purchases pays one read of the stamp
    for the whole batch; each purchase alone pays one."""
    from sqlalchemy import event

    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append(statement)

    principal = shop.principal()
    _buy(db, principal, clock.now(), member_id=shop.members[0])  # the cache of this stamp filled
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with db.transaction() as conn, config.pinned(conn, shop.id):
            for member in shop.members * 2:
                with conn.begin_nested():
                    body = PurchaseIn(**purchase_body(member_id=member))
                    purchases.record(conn, principal, body, secret_key=SECRET, now=clock.now())
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert sum(s.startswith("SELECT businesses.config_version \nFROM") for s in seen) == 1
    assert not [s for s in seen if "FROM businesses" in s and "businesses.slug" in s]
    assert not [s for s in seen if "FROM locations" in s or "FROM program_versions" in s]
    assert not [s for s in seen if "FROM challenges" in s]


def test_threads_buying_while_the_program_changes(
    db: Database, shop: Shop, clock: FixedClock
) -> None:
    """The server's threads share the cache: every purchase begun after the change committed
    earns by the new version, none by a mix."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    principal, now = shop.principal(), clock.now()
    changed = threading.Event()

    def buy(i: int) -> tuple[bool, int]:
        after = changed.is_set()
        answer = _buy(db, principal, now, member_id=shop.members[i % 2], amount=1000)
        return after, _points(answer)

    def change() -> None:
        with db.transaction() as conn:
            rules.change(
                conn,
                shop.id,
                points_per_currency_unit(Decimal(2)),
                author="test",
                reason="double",
                now=now,
            )
        changed.set()

    with ThreadPoolExecutor(4) as pool:
        early = [pool.submit(buy, i) for i in range(12)]
        pool.submit(change).result()
        late = [pool.submit(buy, i) for i in range(12)]
        results = [f.result() for f in early + late]
    assert {points for _after, points in results} <= {10, 20}
    assert all(points == 20 for after, points in results if after)
