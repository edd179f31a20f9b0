"""The per-process cache of checked API keys: revocation still takes effect, and how fast."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi.testclient import TestClient

from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock, naive_utc
from lealtad.tenancy import key_asker, key_cache
from lealtad.tenancy import store as tenancy_store
from lealtad.tenancy.model import Principal, Role
from tests.conftest import sqlite_database
from tests.support import Shop, make_shop


def _staff_key_id(db: Database, shop: Shop) -> int:
    with db.read() as conn:
        keys = tenancy_store.business_api_keys(conn, shop.id)
    return next(k.id for k in keys if k.role == "staff")


def test_a_key_revoked_by_another_process_is_refused_by_the_next_request(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    assert client.get("/api/v1/business", headers=shop.auth("staff")).status_code == 200
    assert key_cache.remembered(db, shop.keys["staff"]) is not None
    # Written straight to the database, as another worker or the CLI would: this process's cache
    # is not told, and no time passes.
    with db.transaction() as conn:
        tenancy_store.revoke_api_key(conn, shop.id, _staff_key_id(db, shop), naive_utc(clock.now()))
    resp = client.get("/api/v1/business", headers=shop.auth("staff"))
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "invalid_api_key"
    assert key_cache.remembered(db, shop.keys["staff"]) is None


def test_a_key_revoked_on_another_database_object_is_refused_at_once(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    """Another process's view of the same database: its own engine and connections."""
    assert client.get("/api/v1/business", headers=shop.auth("staff")).status_code == 200
    other = Database(db.url)
    try:
        with other.transaction() as conn:
            tenancy_store.revoke_api_key(
                conn, shop.id, _staff_key_id(other, shop), naive_utc(clock.now())
            )
    finally:
        other.dispose()
    for _ in range(2):
        resp = client.get("/api/v1/business", headers=shop.auth("staff"))
        assert resp.status_code == 401
        assert resp.json()["error"]["code"] == "invalid_api_key"


def test_a_remembered_key_is_confirmed_without_a_thread(
    client: TestClient, db: Database, shop: Shop
) -> None:
    assert client.get("/api/v1/business", headers=shop.auth("staff")).status_code == 200
    assert key_cache.describe(db)["driver"] is (db.dialect == "sqlite")
    assert key_cache.describe(db)["on_the_loop"] is (db.dialect == "postgresql")


def test_on_postgresql_one_statement_answers_every_question_waiting_and_sees_a_revocation(
    postgres_db: Database, clock: FixedClock
) -> None:
    shop = make_shop(postgres_db, clock.now())
    key_id = _staff_key_id(postgres_db, shop)
    asker = key_asker.Askers(postgres_db.url)
    statements: list[list[int]] = []

    async def ask() -> tuple[list[bool], bool]:
        one = asker.for_this_loop()
        counted = one._in_force

        async def counting(key_ids: list[int]) -> set[int]:
            statements.append(sorted(key_ids))
            return await counted(key_ids)

        one._in_force = counting  # type: ignore[method-assign]
        together = await asyncio.gather(*(one.in_force(key_id) for _ in range(20)))
        with postgres_db.transaction() as conn:
            tenancy_store.revoke_api_key(conn, shop.id, key_id, naive_utc(clock.now()))
        return list(together), await one.in_force(key_id)

    together, after = asyncio.run(ask())
    assert together == [True] * 20
    assert after is False, "a question asked after the revocation was answered from before it"
    # Twenty questions asked at once: one statement; the one after the revocation: its own.
    assert statements == [[key_id], [key_id]]


def test_an_unknown_key_is_never_remembered(client: TestClient, shop: Shop) -> None:
    fake = shop.keys["staff"][:-4] + "AAAA"
    for _ in range(2):
        assert client.get("/api/v1/business", headers={"X-API-Key": fake}).status_code == 401
    assert client.get("/api/v1/business", headers=shop.auth("staff")).status_code == 200


def test_only_a_few_driver_connections_stay_open(sqlite_template: Path, tmp_path: Path) -> None:
    """Tests and tools open many databases in one process; each keeps its driver connection only
    while it is among the last few asked, and asks again after."""
    databases = []
    for i in range(6):
        folder = tmp_path / f"db{i}"
        folder.mkdir()
        databases.append(sqlite_database(sqlite_template, folder))
    nobody = Principal(business_id=1, role=Role.staff, location_id=None, api_key_id=999_999)
    try:
        for database in databases:
            assert key_cache.confirmed_here(database, nobody) is False
        assert len(key_cache._open) <= key_cache._OPEN_LIMIT
        assert key_cache.confirmed_here(databases[0], nobody) is False
    finally:
        for database in databases:
            database.dispose()
