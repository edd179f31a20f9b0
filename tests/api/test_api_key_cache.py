"""The per-process cache of checked API keys: revocation still takes effect, and how fast."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock, naive_utc
from lealtad.tenancy import service as tenancy
from lealtad.tenancy import store as tenancy_store
from tests.support import Shop


def _staff_key_id(db: Database, shop: Shop) -> int:
    with db.read() as conn:
        keys = tenancy_store.business_api_keys(conn, shop.id)
    return next(k.id for k in keys if k.role == "staff")


def test_a_key_revoked_by_another_process_is_refused_once_the_cache_window_passes(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tenancy, "KEY_CACHE_SECONDS", 0.3)
    assert client.get("/api/v1/business", headers=shop.auth("staff")).status_code == 200
    # Written straight to the database, as another worker or the CLI would: this process's cache
    # is not told.
    with db.transaction() as conn:
        tenancy_store.revoke_api_key(conn, shop.id, _staff_key_id(db, shop), naive_utc(clock.now()))
    time.sleep(0.35)
    resp = client.get("/api/v1/business", headers=shop.auth("staff"))
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "invalid_api_key"


def test_an_unknown_key_is_never_remembered(client: TestClient, shop: Shop) -> None:
    fake = shop.keys["staff"][:-4] + "AAAA"
    for _ in range(2):
        assert client.get("/api/v1/business", headers={"X-API-Key": fake}).status_code == 401
    assert client.get("/api/v1/business", headers=shop.auth("staff")).status_code == 200
