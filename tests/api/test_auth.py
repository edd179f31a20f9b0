"""Credentials, roles and the audit trail over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support import PASSWORD, Shop

KEYS = "/api/v1/api-keys"
LOGIN = "/api/v1/auth/staff-token"


def assert_error(resp: Any, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    assert error["code"] == code
    assert error["message"]


def staff_email(client: TestClient, shop: Shop, role: str) -> str:
    resp = client.get(f"/api/v1/staff/{shop.staff[role]}", headers=shop.auth("manager"))
    assert resp.status_code == 200, resp.text
    return str(resp.json()["email"])


def login(client: TestClient, shop: Shop, role: str) -> dict[str, str]:
    body = {"business": shop.slug, "email": staff_email(client, shop, role), "password": PASSWORD}
    resp = client.post(LOGIN, json=body)
    assert resp.status_code == 200, resp.text
    assert resp.json()["staff"]["id"] == shop.staff[role]
    return {"Authorization": f"Bearer {resp.json()['token']}"}


def key_id(client: TestClient, shop: Shop, name: str) -> int:
    keys = client.get(KEYS, headers=shop.auth("owner")).json()
    return next(k["id"] for k in keys if k["name"] == name)


def test_a_request_without_credentials_is_a_401(client: TestClient) -> None:
    assert_error(client.get("/api/v1/business"), 401, "missing_credentials")
    assert_error(
        client.get("/api/v1/business", headers={"Authorization": "Bearer "}),
        401,
        "missing_credentials",
    )


@pytest.mark.parametrize(
    "key",
    [
        "lk_",
        "lk_short_secret",
        "lk_abcdefghij_" + "A" * 43,
        "lk_ABCDEFGHIJ_" + "A" * 43,
    ],
)
def test_a_malformed_or_unknown_api_key_is_a_401(client: TestClient, shop: Shop, key: str) -> None:
    for headers in ({"Authorization": f"Bearer {key}"}, {"X-API-Key": key}):
        assert_error(client.get("/api/v1/business", headers=headers), 401, "invalid_api_key")


def test_a_real_key_with_a_wrong_secret_is_a_401(client: TestClient, shop: Shop) -> None:
    real = shop.keys["owner"]
    wrong = real[:-1] + ("A" if real[-1] != "A" else "B")
    resp = client.get("/api/v1/business", headers={"Authorization": f"Bearer {wrong}"})
    assert_error(resp, 401, "invalid_api_key")
    ok = client.get("/api/v1/business", headers={"X-API-Key": real})
    assert ok.status_code == 200
    assert ok.json()["id"] == shop.id


def test_a_revoked_key_is_refused_afterwards(client: TestClient, shop: Shop) -> None:
    staff_key = key_id(client, shop, "staff")
    assert client.get("/api/v1/business", headers=shop.auth("staff")).status_code == 200
    resp = client.delete(f"{KEYS}/{staff_key}", headers=shop.auth("owner"))
    assert resp.status_code == 204
    assert_error(client.get("/api/v1/business", headers=shop.auth("staff")), 401, "invalid_api_key")
    listed = {k["id"]: k for k in client.get(KEYS, headers=shop.auth("owner")).json()}
    assert listed[staff_key]["revoked_at"] is not None


def test_an_owner_cannot_revoke_a_key_of_another_business(
    client: TestClient, shop: Shop, other_shop: Shop
) -> None:
    theirs = key_id(client, other_shop, "staff")
    assert_error(
        client.delete(f"{KEYS}/{theirs}", headers=shop.auth("owner")), 404, "api_key_not_found"
    )
    assert client.get("/api/v1/business", headers=other_shop.auth("staff")).status_code == 200


def test_only_a_manager_or_owner_may_adjust_a_balance(client: TestClient, shop: Shop) -> None:
    url = f"/api/v1/members/{shop.members[0]}/adjustments"
    body = {"unit": "points", "amount": 50, "reason": "welcome gift"}
    assert_error(client.post(url, json=body, headers=shop.auth("staff")), 403, "role_required")
    assert_error(
        client.post(url, json=body, headers=login(client, shop, "staff")), 403, "role_required"
    )
    resp = client.post(url, json=body, headers=shop.auth("manager"))
    assert resp.status_code == 201, resp.text
    assert resp.json()["balances"]["points"] == 50


def test_only_an_owner_may_create_api_keys_and_sees_the_key_once(
    client: TestClient, shop: Shop
) -> None:
    body = {"name": "Till 3", "role": "staff", "location_id": shop.locations[1]}
    for role in ("staff", "manager"):
        assert_error(client.post(KEYS, json=body, headers=shop.auth(role)), 403, "role_required")
        assert_error(client.get(KEYS, headers=shop.auth(role)), 403, "role_required")
    resp = client.post(KEYS, json=body, headers=shop.auth("owner"))
    assert resp.status_code == 201, resp.text
    created = resp.json()
    key = created["key"]
    assert key.startswith(f"lk_{created['prefix']}_")
    assert created["role"] == "staff"
    assert created["location_id"] == shop.locations[1]
    works = client.get("/api/v1/business", headers={"Authorization": f"Bearer {key}"})
    assert works.status_code == 200
    listing = client.get(KEYS, headers=shop.auth("owner"))
    assert created["id"] in [k["id"] for k in listing.json()]
    assert all("key" not in k for k in listing.json())
    assert key.split("_", 2)[2] not in listing.text


def test_a_manager_cannot_create_an_owner_account_but_an_owner_can(
    client: TestClient, shop: Shop
) -> None:
    body = {"email": "boss@x.example", "name": "Boss", "role": "owner", "password": PASSWORD}
    assert_error(
        client.post("/api/v1/staff", json=body, headers=shop.auth("manager")), 403, "role_required"
    )
    assert_error(
        client.post("/api/v1/staff", json=body, headers=login(client, shop, "manager")),
        403,
        "role_required",
    )
    as_manager = {**body, "email": "till@x.example", "role": "manager"}
    assert (
        client.post("/api/v1/staff", json=as_manager, headers=shop.auth("manager")).status_code
        == 201
    )
    resp = client.post("/api/v1/staff", json=body, headers=shop.auth("owner"))
    assert resp.status_code == 201, resp.text
    assert resp.json()["role"] == "owner"
    assert "password" not in resp.text


def test_a_wrong_password_unknown_email_or_unknown_business_are_one_401(
    client: TestClient, shop: Shop, other_shop: Shop
) -> None:
    email = staff_email(client, shop, "staff")
    attempts = [
        {"business": shop.slug, "email": email, "password": PASSWORD + "!"},
        {"business": shop.slug, "email": "ghost@x.example", "password": PASSWORD},
        {"business": "no-such-business", "email": email, "password": PASSWORD},
        {"business": other_shop.slug, "email": email, "password": PASSWORD},
    ]
    messages = set()
    for body in attempts:
        resp = client.post(LOGIN, json=body)
        assert_error(resp, 401, "invalid_credentials")
        assert "token" not in resp.json()
        messages.add(resp.json()["error"]["message"])
    assert len(messages) == 1


def test_a_staff_token_works_until_it_is_garbage_or_tampered_with(
    client: TestClient, shop: Shop
) -> None:
    headers = login(client, shop, "manager")
    resp = client.get("/api/v1/business", headers=headers)
    assert resp.status_code == 200
    assert resp.json()["id"] == shop.id
    token = headers["Authorization"].removeprefix("Bearer ")
    payload, stamp, signature = token.split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    for bad in ("garbage", "a.b.c", f"{payload}.{stamp}.{flipped}", f"x{token}", token[:-4]):
        resp = client.get("/api/v1/business", headers={"Authorization": f"Bearer {bad}"})
        assert_error(resp, 401, "invalid_token")


def test_every_answer_carries_a_request_id_and_echoes_the_callers(
    client: TestClient, shop: Shop
) -> None:
    ok = client.get("/api/v1/business", headers=shop.auth("staff"))
    refused = client.get("/api/v1/business")
    assert ok.headers["X-Request-ID"]
    assert refused.headers["X-Request-ID"]
    assert ok.headers["X-Request-ID"] != refused.headers["X-Request-ID"]
    for resp in (
        client.get(
            "/api/v1/business", headers={**shop.auth("staff"), "X-Request-ID": "pos-42-abc"}
        ),
        client.get("/api/v1/business", headers={"X-Request-ID": "pos-42-abc"}),
        client.get("/api/v1/nowhere", headers={"X-Request-ID": "pos-42-abc"}),
    ):
        assert resp.headers["X-Request-ID"] == "pos-42-abc"
        assert resp.headers.get_list("X-Request-ID") == ["pos-42-abc"]


def test_the_audit_log_records_keys_adjustments_and_staff_with_their_actor(
    client: TestClient, shop: Shop, other_shop: Shop
) -> None:
    owner = login(client, shop, "owner")
    created = client.post(KEYS, json={"name": "Kiosk"}, headers=owner).json()
    assert client.delete(f"{KEYS}/{created['id']}", headers=owner).status_code == 204
    member = shop.members[1]
    adjust = {"amount": 5, "reason": "missed stamp"}
    assert (
        client.post(
            f"/api/v1/members/{member}/adjustments", json=adjust, headers=shop.auth("manager")
        ).status_code
        == 201
    )
    staff = {"email": "new@x.example", "name": "New", "role": "staff", "password": PASSWORD}
    staff_id = client.post("/api/v1/staff", json=staff, headers=shop.auth("owner")).json()["id"]
    resp = client.get("/api/v1/audit-log", headers=shop.auth("manager"))
    assert resp.status_code == 200, resp.text
    log = {e["action"]: e for e in resp.json()}
    assert log["api_key.create"]["actor"] == f"staff:{shop.staff['owner']}"
    assert log["api_key.create"]["target"] == f"api_key:{created['id']}"
    assert log["api_key.revoke"]["actor"] == f"staff:{shop.staff['owner']}"
    assert log["api_key.revoke"]["target"] == f"api_key:{created['id']}"
    assert log["ledger.adjust"]["actor"] == f"api_key:{key_id(client, shop, 'manager')}"
    assert log["ledger.adjust"]["target"] == f"member:{member}"
    assert log["ledger.adjust"]["details"]["reason"] == "missed stamp"
    assert log["staff.create"]["actor"] == f"api_key:{key_id(client, shop, 'owner')}"
    assert log["staff.create"]["target"] == f"staff:{staff_id}"
    assert [e["id"] for e in resp.json()] == sorted((e["id"] for e in resp.json()), reverse=True)
    assert client.get("/api/v1/audit-log", headers=other_shop.auth("manager")).json() == []
    assert_error(client.get("/api/v1/audit-log", headers=shop.auth("staff")), 403, "role_required")
