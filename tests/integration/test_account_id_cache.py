"""Ledger account ids are kept by the process only once the transaction that learned them has
committed: a rolled-back account creation, or one in a rolled-back savepoint, leaves no id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from lealtad.db.engine import Database
from lealtad.kit import process_cache
from lealtad.kit.clock import FixedClock
from lealtad.ledger import store as ledger_store
from lealtad.ledger.tables import accounts
from lealtad.members import service as members
from lealtad.members.schemas import MemberIn
from lealtad.purchases import service as purchases
from lealtad.purchases.schemas import PurchaseIn
from lealtad.tenancy.model import Principal
from tests.conftest import SECRET
from tests.support import Shop, purchase_body


def _record(conn: Any, principal: Principal, now: datetime, member: int) -> dict[str, Any]:
    status, answer = purchases.record(
        conn, principal, PurchaseIn(**purchase_body(member_id=member)), secret_key=SECRET, now=now
    )
    assert status == 201
    return answer


def _keys_of(db: Database, business_id: int, member: int) -> dict[str, int]:
    with db.read() as conn:
        rows = conn.execute(
            select(accounts.c.key, accounts.c.id).where(
                accounts.c.business_id == business_id, accounts.c.member_id == member
            )
        )
        return {str(key): int(id_) for key, id_ in rows}


def _cached_ids_exist(db: Database, business_id: int) -> None:
    """Every id the process keeps for this business names that very row."""
    database = str(db.engine.url)
    kept = {
        key: id_
        for (where, bid, key), id_ in list(process_cache._account_ids.items())
        if where == database and bid == business_id
    }
    with db.read() as conn:
        rows = dict(
            conn.execute(
                select(accounts.c.key, accounts.c.id).where(accounts.c.business_id == business_id)
            ).all()
        )
    assert {key: rows.get(key) for key in kept} == kept


def test_an_account_created_in_a_rolled_back_transaction_is_not_kept(
    db: Database, shop: Shop, clock: FixedClock
) -> None:
    """The member (and its accounts) of a rolled-back transaction are gone; the next member may
    get the same id and so the same account keys, which must not find the old ids."""
    now, principal = clock.now(), shop.principal()
    # A first transaction watches the engine: later ones keep what they learn.
    with db.transaction() as conn:
        _record(conn, principal, now, shop.members[0])
    member = 0

    def enrol_buy_and_fail() -> None:
        nonlocal member
        with db.transaction() as conn:
            member = members.enrol(conn, shop.id, MemberIn(name="Rosa"), channel="api", now=now)
            _record(conn, principal, now, member)
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        enrol_buy_and_fail()
    assert _keys_of(db, shop.id, member) == {}
    _cached_ids_exist(db, shop.id)
    with db.transaction() as conn:
        again = members.enrol(conn, shop.id, MemberIn(name="Rosa"), channel="api", now=now)
        answer = _record(conn, principal, now, again)
    assert answer["balances"]["points"] == 10
    kept = _keys_of(db, shop.id, again)
    assert kept
    with db.read() as conn:
        known = process_cache.known_account_ids(conn, shop.id, kept)
    assert known
    assert known.items() <= kept.items()
    _cached_ids_exist(db, shop.id)


def test_an_account_created_in_a_rolled_back_savepoint_is_not_kept(
    db: Database, shop: Shop, clock: FixedClock
) -> None:
    """The group commit's shape: purchases in savepoints of one transaction, one of them failing
    after it created its member's accounts."""
    now, principal = clock.now(), shop.principal()
    with db.transaction() as conn:
        _record(conn, principal, now, shop.members[0])
    with db.transaction() as conn:
        with conn.begin_nested():
            _record(conn, principal, now, shop.members[1])
        savepoint = conn.begin_nested()
        fresh = members.enrol(conn, shop.id, MemberIn(name="Luz"), channel="api", now=now)
        _record(conn, principal, now, fresh)
        savepoint.rollback()
    assert _keys_of(db, shop.id, fresh) == {}
    kept = _keys_of(db, shop.id, shop.members[1])
    assert kept
    _cached_ids_exist(db, shop.id)
    with db.read() as conn:
        known = process_cache.known_account_ids(conn, shop.id, kept)
    assert known
    assert known.items() <= kept.items()
    with db.transaction() as conn:
        again = members.enrol(conn, shop.id, MemberIn(name="Luz"), channel="api", now=now)
        answer = _record(conn, principal, now, again)
    assert answer["balances"]["points"] == 10
    _cached_ids_exist(db, shop.id)


def test_an_id_learned_in_a_transaction_serves_that_transaction(
    db: Database, shop: Shop, clock: FixedClock
) -> None:
    now = clock.now()
    with db.transaction() as conn:
        _record(conn, shop.principal(), now, shop.members[0])
    with db.transaction() as conn:
        wanted = {"test:float": ("float", "points", None)}
        first = ledger_store.account_ids(conn, shop.id, wanted, naive(now))
        assert process_cache.known_account_ids(conn, shop.id, wanted) == first
        assert ledger_store.account_ids(conn, shop.id, wanted, naive(now)) == first


def naive(now: datetime) -> datetime:
    return now.replace(tzinfo=None)


def test_an_account_of_a_released_savepoint_inside_a_rolled_back_one_is_not_kept(
    db: Database, shop: Shop, clock: FixedClock
) -> None:
    now, principal = clock.now(), shop.principal()
    with db.transaction() as conn:
        _record(conn, principal, now, shop.members[0])
    with db.transaction() as conn:
        outer = conn.begin_nested()
        with conn.begin_nested():
            inner = members.enrol(conn, shop.id, MemberIn(name="Sol"), channel="api", now=now)
            _record(conn, principal, now, inner)
        outer.rollback()
        _record(conn, principal, now, shop.members[1])
    assert _keys_of(db, shop.id, inner) == {}
    _cached_ids_exist(db, shop.id)
    with db.transaction() as conn:
        again = members.enrol(conn, shop.id, MemberIn(name="Sol"), channel="api", now=now)
        assert _record(conn, principal, now, again)["balances"]["points"] == 10
    _cached_ids_exist(db, shop.id)


def test_an_account_of_a_transaction_whose_commit_fails_is_not_kept(
    db: Database, shop: Shop, clock: FixedClock
) -> None:
    """SQLAlchemy says "commit" before the database has committed: a COMMIT that then fails
    must not leave the ids of accounts that never existed."""
    if db.dialect != "sqlite":
        pytest.skip("the failing COMMIT is made with SQLite's deferred foreign keys")
    now, principal = clock.now(), shop.principal()
    with db.transaction() as conn:
        _record(conn, principal, now, shop.members[0])
    fresh = 0

    def fail_at_commit() -> None:
        nonlocal fresh
        with db.transaction() as conn:
            conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
            fresh = members.enrol(conn, shop.id, MemberIn(name="Mar"), channel="api", now=now)
            _record(conn, principal, now, fresh)
            # A member referred by nobody that exists: checked only when the COMMIT is sent.
            conn.exec_driver_sql(
                f"UPDATE members SET referred_by_member_id = 987654321 WHERE id = {fresh}"
            )

    with pytest.raises(Exception, match="FOREIGN KEY"):
        fail_at_commit()
    assert _keys_of(db, shop.id, fresh) == {}
    _cached_ids_exist(db, shop.id)
    with db.transaction() as conn:
        again = members.enrol(conn, shop.id, MemberIn(name="Mar"), channel="api", now=now)
        assert _record(conn, principal, now, again)["balances"]["points"] == 10
    _cached_ids_exist(db, shop.id)
