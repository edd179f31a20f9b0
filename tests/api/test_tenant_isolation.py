"""Tenant isolation over HTTP: a key of business A gets 404 for every resource of business B.

The sweep is generated from the application's route table, so a route added later is covered
without touching this file; a route with a path parameter this file cannot fill makes it fail."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from lealtad.api import create_app
from lealtad.config import Settings
from tests.security.routes import (
    API,
    PATH_PARAM,
    Resources,
    api_operations,
    call,
    create_resources,
    is_error_envelope,
    minimal_body,
    tenant_operations,
)
from tests.support import Shop, purchase_body


@pytest.fixture
def b_resources(client: TestClient, other_shop: Shop) -> Resources:
    return create_resources(client, other_shop)


def test_the_route_table_this_file_sweeps_holds_every_api_operation_of_the_openapi_document(
    settings: Settings,
) -> None:
    """If the route enumeration missed routers (as app.routes alone does on newer FastAPI),
    the isolation sweep would pass while testing nothing."""
    app = create_app(settings)
    swept = {(op.method, op.path) for op in api_operations(app)}
    documented = {
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        for method in item
        if path.startswith(API + "/")
    }
    assert documented, "the OpenAPI document lists no /api/v1 operations"
    assert documented <= swept, f"operations missing from the sweep: {sorted(documented - swept)}"
    assert ("GET", f"{API}/members/{{member_id}}") in {
        (op.method, op.path) for op in tenant_operations(app)
    }


def test_a_key_of_business_a_gets_404_for_every_resource_of_business_b_on_every_route(
    client: TestClient, shop: Shop, other_shop: Shop, b_resources: Resources
) -> None:
    operations = tenant_operations(client.app)
    assert operations, "no /api/v1 route with a path parameter was found to sweep"

    unmapped = sorted(
        f"{op}: path parameter {name!r} has no business-B id in this test"
        for op in operations
        for name in PATH_PARAM.findall(op.path)
        if name not in b_resources.ids
    )
    unbodied = sorted(
        f"{op}: {problem}" for op in operations if (problem := minimal_body(op.route)[1])
    )
    assert not unmapped, "routes this test cannot fill in:\n" + "\n".join(unmapped)
    assert not unbodied, "routes this test cannot send a body to:\n" + "\n".join(unbodied)

    leaks = []
    for op in operations:
        resp = call(client, op, b_resources.ids, shop.auth("owner"))
        body = (
            resp.json()
            if resp.headers.get("content-type", "").startswith("application/json")
            else resp.text
        )
        if resp.status_code != 404 or not is_error_envelope(body):
            leaks.append(f"{op} with A's owner key -> {resp.status_code}: {str(body)[:200]}")
    assert not leaks, "business A reached business B:\n" + "\n".join(leaks)

    # Nothing A tried changed B: the key A tried to revoke still works, the member keeps its name.
    resp = client.get(f"{API}/business", headers={"Authorization": f"Bearer {b_resources.api_key}"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["id"] == other_shop.id
    member = client.get(
        f"{API}/members/{b_resources.ids['member_id']}", headers=other_shop.auth("owner")
    ).json()
    assert member["name"] == b_resources.member["name"]
    assert member["balances"] == b_resources.member["balances"]

    # The same calls with B's own key reach the resource, so the 404s above are not broken
    # routes or ids. A state answer (a voucher validated by the sweep cannot be cancelled next:
    # 409) still shows the route found B's resource.
    refused = []
    for op in operations:
        resp = call(client, op, b_resources.ids, other_shop.auth("owner"))
        if resp.status_code == 404 or resp.status_code >= 500:
            refused.append(f"{op} with B's owner key -> {resp.status_code}: {resp.text[:200]}")
    assert not refused, "business B cannot use its own resources:\n" + "\n".join(refused)


def not_found_problem(resp: Any, what: str) -> str | None:
    """A problem description, or None when the answer is a 404 in the error envelope."""
    if resp.status_code != 404 or not is_error_envelope(resp.json()):
        return f"{what}: {resp.status_code} {resp.text[:200]}"
    return None


def test_a_purchase_with_a_key_of_business_a_cannot_name_a_member_or_location_of_business_b(
    client: TestClient, shop: Shop, other_shop: Shop, b_resources: Resources
) -> None:
    member = b_resources.member
    references = {
        "member_id": member["id"],
        "card_number": member["card_number"],
        "qr_token": member["qr_token"],
        "location_id": b_resources.ids["location_id"],
    }
    problems = []
    for field, value in references.items():
        resp = client.post(
            f"{API}/purchases", json=purchase_body(**{field: value}), headers=shop.auth("owner")
        )
        problems.append(not_found_problem(resp, f"A's purchase naming B's {field}"))
        # The same reference works for B, so the 404 is about the tenant, not the reference.
        resp = client.post(
            f"{API}/purchases",
            json=purchase_body(**{field: value}),
            headers=other_shop.auth("owner"),
        )
        if resp.status_code != 201:
            problems.append(f"B's purchase naming its own {field}: {resp.status_code} {resp.text}")
    failed = [p for p in problems if p]
    assert not failed, "\n".join(failed)

    history = client.get(
        f"{API}/members/{member['id']}/purchases", headers=other_shop.auth("owner")
    ).json()
    assert len(history) == 4  # the set-up purchase and B's three by reference, none of A's


def test_a_key_of_business_a_cannot_refund_a_receipt_of_business_b(
    client: TestClient, shop: Shop, other_shop: Shop, b_resources: Resources
) -> None:
    body = {"refund_id": "RF-cross", "receipt_id": b_resources.receipt_id, "amount": 100}
    resp = client.post(f"{API}/refunds", json=body, headers=shop.auth("owner"))
    assert resp.status_code == 404, resp.text
    assert is_error_envelope(resp.json()), resp.text
    assert resp.json()["error"]["code"] == "purchase_not_found"

    # B's purchase was not touched, and B itself can still refund it.
    purchase = client.get(
        f"{API}/purchases/{b_resources.ids['purchase_id']}", headers=other_shop.auth("owner")
    ).json()
    assert purchase["refunded_amount"] == 500
    resp = client.post(f"{API}/refunds", json=body, headers=other_shop.auth("owner"))
    assert resp.status_code == 201, resp.text


def test_a_key_of_business_a_cannot_look_up_a_member_of_business_b_by_any_identifier(
    client: TestClient, shop: Shop, other_shop: Shop, b_resources: Resources
) -> None:
    problems = []
    for by in ("email", "phone", "card_number", "qr_token"):
        params = {by: b_resources.member[by]}
        assert params[by], f"B's member has no {by} to look up"
        resp = client.get(f"{API}/members/lookup", params=params, headers=shop.auth("owner"))
        problems.append(not_found_problem(resp, f"A's lookup of B's member by {by}"))
        resp = client.get(f"{API}/members/lookup", params=params, headers=other_shop.auth("owner"))
        if resp.status_code != 200 or resp.json()["id"] != b_resources.ids["member_id"]:
            problems.append(f"B's lookup of its own member by {by}: {resp.status_code} {resp.text}")
    failed = [p for p in problems if p]
    assert not failed, "\n".join(failed)


def test_the_member_list_of_business_a_holds_none_of_business_b_s_members(
    client: TestClient, shop: Shop, other_shop: Shop, b_resources: Resources
) -> None:
    def listed(who: Shop) -> set[int]:
        ids: set[int] = set()
        after = None
        while True:
            params = {"limit": 200} | ({"after": after} if after else {})
            resp = client.get(f"{API}/members", params=params, headers=who.auth("owner"))
            assert resp.status_code == 200, resp.text
            page = [m["id"] for m in resp.json()]
            ids.update(page)
            if len(page) < 200:
                return ids
            after = page[-1]

    b_members = {*other_shop.members, b_resources.ids["member_id"]}
    assert listed(other_shop) == b_members
    assert listed(shop) == set(shop.members)


def test_a_key_of_business_a_cannot_attach_a_new_record_to_a_location_or_cashier_of_business_b(
    client: TestClient, shop: Shop, b_resources: Resources
) -> None:
    attempts = [
        (f"{API}/members", {"name": "Cross-tenant"}, "location_id"),
        (f"{API}/members", {"name": "Cross-tenant"}, "staff_id"),
        (
            f"{API}/staff",
            {"email": "x@a.example", "name": "X", "password": "long enough password"},
            "location_id",
        ),
        (f"{API}/api-keys", {"name": "cross"}, "location_id"),
    ]
    problems = []
    for path, body, field in attempts:
        resp = client.post(
            path, json=body | {field: b_resources.ids[field]}, headers=shop.auth("owner")
        )
        problems.append(not_found_problem(resp, f"POST {path} naming B's {field}"))
    failed = [p for p in problems if p]
    assert not failed, "\n".join(failed)
