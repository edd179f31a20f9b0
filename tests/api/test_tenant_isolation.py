"""Tenant isolation over HTTP: a key of business A gets 404 for every resource of business B.

The sweep is generated from the application's route table, so a route added later is covered
without touching this file; a route with a path parameter this file cannot fill makes it fail."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import fastapi.routing
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel

from lealtad.api import create_app
from lealtad.config import Settings
from lealtad.members.schemas import MemberPatch
from lealtad.purchases.schemas import AdjustmentIn
from tests.support import Shop, purchase_body

API = "/api/v1"
PUBLIC = "/api/v1/public"
# Catalogue data that is the same for every business: there is nothing of B's to leak.
SHARED = {"/api/v1/program/templates/{name}"}
PATH_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")

# A minimal valid body per request model, for routes that take one and whose model has required
# fields. The body must pass validation, so that what answers is the tenancy check, not a 422.
SAMPLE_BODIES: dict[type[BaseModel], dict[str, Any]] = {
    MemberPatch: {"name": "Renamed by someone else"},
    AdjustmentIn: {"unit": "points", "amount": 5, "reason": "isolation probe"},
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    route: APIRoute

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def api_operations(app: FastAPI) -> list[Operation]:
    """Every (method, path) the app serves through an APIRoute. FastAPI versions that include
    routers lazily keep them behind `iter_route_contexts`; older ones list them in app.routes."""
    iter_contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    if iter_contexts is None:
        found = [(route.path, route) for route in app.routes if isinstance(route, APIRoute)]
    else:
        found = [
            (context.path, context.original_route)
            for context in iter_contexts(app.routes)
            if isinstance(context.original_route, APIRoute)
        ]
    return [
        Operation(method, path, route)
        for path, route in found
        for method in sorted(route.methods or ())
        if method != "HEAD"
    ]


def tenant_operations(app: FastAPI) -> list[Operation]:
    """Authenticated API operations that name a resource in their path."""
    return [
        op
        for op in api_operations(app)
        if op.path.startswith(API + "/")
        and not op.path.startswith(PUBLIC + "/")
        and op.path not in SHARED
        and PATH_PARAM.search(op.path)
    ]


def body_model(route: APIRoute) -> type[BaseModel] | None:
    field = route.body_field
    if field is None:
        return None
    info = getattr(field, "field_info", None)
    model = getattr(info, "annotation", None) or getattr(field, "type_", None)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def minimal_body(route: APIRoute) -> tuple[dict[str, Any] | None, str | None]:
    """(JSON body or None, problem or None)."""
    if route.body_field is None:
        return None, None
    model = body_model(route)
    if model is None:
        return None, "takes a body that is not a pydantic model; add a sample to this test"
    if model in SAMPLE_BODIES:
        return SAMPLE_BODIES[model], None
    if not any(f.is_required() for f in model.model_fields.values()):
        return {}, None
    return None, f"takes a {model.__name__} body with required fields; add it to SAMPLE_BODIES"


def fill(path: str, ids: dict[str, int]) -> str:
    return PATH_PARAM.sub(lambda m: str(ids[m.group(1)]), path)


def is_error_envelope(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and set(body) == {"error"}
        and isinstance(body["error"], dict)
        and set(body["error"]) == {"code", "message", "details"}
        and isinstance(body["error"]["code"], str)
        and bool(body["error"]["message"])
    )


def call(client: TestClient, op: Operation, ids: dict[str, int], headers: dict[str, str]) -> Any:
    body, _ = minimal_body(op.route)
    return client.request(op.method, fill(op.path, ids), json=body, headers=headers)


@dataclass
class Resources:
    """One of each resource of business B, created through the API with B's owner key."""

    ids: dict[str, int]
    member: dict[str, Any]
    receipt_id: str
    api_key: str


def create_resources(client: TestClient, b: Shop) -> Resources:
    owner = b.auth("owner")

    resp = client.post(
        f"{API}/members",
        json={"name": "B's regular", "email": "regular@b.example", "phone": "+34 600 111 222"},
        headers=owner,
    )
    assert resp.status_code == 201, resp.text
    member = resp.json()

    receipt = purchase_body(member_id=member["id"], amount=2500)
    resp = client.post(f"{API}/purchases", json=receipt, headers=owner)
    assert resp.status_code == 201, resp.text
    purchase = resp.json()
    assert purchase["member_id"] == member["id"]

    resp = client.post(
        f"{API}/refunds",
        json={
            "refund_id": f"RF-{receipt['receipt_id']}",
            "receipt_id": receipt["receipt_id"],
            "amount": 500,
        },
        headers=owner,
    )
    assert resp.status_code == 201, resp.text

    resp = client.post(f"{API}/locations", json={"name": "B's annex"}, headers=owner)
    assert resp.status_code == 201, resp.text
    location = resp.json()

    resp = client.post(
        f"{API}/staff",
        json={
            "email": "cashier@b.example",
            "name": "B's cashier",
            "role": "staff",
            "password": "long enough password",
            "location_id": location["id"],
        },
        headers=owner,
    )
    assert resp.status_code == 201, resp.text
    staff = resp.json()

    resp = client.post(
        f"{API}/api-keys",
        json={"name": "B's till", "role": "manager", "location_id": location["id"]},
        headers=owner,
    )
    assert resp.status_code == 201, resp.text
    api_key = resp.json()

    # Two program changes, so B has a version 3 that A (at version 1) does not.
    for rate in ("2", "3"):
        definition = {
            "rules": [
                {"id": "base", "name": "Base", "action": {"type": "points_per_unit", "rate": rate}}
            ]
        }
        resp = client.put(
            f"{API}/program",
            json={"definition": definition, "reason": "isolation probe"},
            headers=owner,
        )
        assert resp.status_code == 200, resp.text
    version = resp.json()["version"]

    challenge = {
        "slug": "b-weekly",
        "title": {"es": "Reto de B", "en": "B's challenge"},
        "metric": "purchases",
        "target": 5,
        "period": "week",
        "bonus_points": 10,
    }
    resp = client.post(f"{API}/challenges", json=challenge, headers=owner)
    assert resp.status_code == 201, resp.text
    challenge_id = resp.json()["id"]

    from lealtad.rewards.donations import DonationIn

    cause = {
        "name": {"es": "Causa de B", "en": "B's cause"},
        "description": {"es": "Solo de B", "en": "B's only"},
    }
    resp = client.post(f"{API}/causes", json=cause, headers=owner)
    assert resp.status_code == 201, resp.text
    cause_id = resp.json()["id"]
    # A donation names its cause in the body, so its sample can only be made once B's exists.
    SAMPLE_BODIES[DonationIn] = {"cause_id": cause_id, "points": 1}

    resp = client.post(
        f"{API}/campaigns",
        json={
            "name": "B news",
            "subject": {"es": "Hola", "en": "Hi"},
            "body": {"es": "Hola", "en": "Hi"},
            "send_at": "2099-01-01T00:00:00Z",
        },
        headers=owner,
    )
    assert resp.status_code == 201, resp.text
    campaign_id = resp.json()["id"]

    # A reward, a voucher for it and a rating, so reward, voucher and rating routes are swept.
    resp = client.post(
        f"{API}/rewards",
        json={
            "slug": "b-gift",
            "kind": "physical_gift",
            "title": {"es": "Regalo", "en": "Gift"},
            "cost": 10,
        },
        headers=owner,
    )
    assert resp.status_code == 201, resp.text
    reward_id = resp.json()["id"]
    resp = client.post(
        f"{API}/members/{member['id']}/adjustments",
        json={"amount": 100, "reason": "isolation probe"},
        headers=owner,
    )
    assert resp.status_code == 201, resp.text
    resp = client.post(
        f"{API}/members/{member['id']}/redemptions", json={"reward_id": reward_id}, headers=owner
    )
    assert resp.status_code == 201, resp.text
    voucher_code = resp.json()["code"]
    resp = client.post(
        f"{API}/members/{member['id']}/ratings",
        json={"reward_id": reward_id, "stars": 5},
        headers=owner,
    )
    assert resp.status_code == 201, resp.text
    rating_id = resp.json()["id"]
    from lealtad.rewards.ratings import ModerationIn, RatingIn
    from lealtad.rewards.schemas import FulfilmentIn, RedeemIn

    SAMPLE_BODIES[RedeemIn] = {"reward_id": reward_id}
    SAMPLE_BODIES[RatingIn] = {"reward_id": reward_id, "stars": 4}
    SAMPLE_BODIES[ModerationIn] = {"hidden": False}
    SAMPLE_BODIES[FulfilmentIn] = {"fulfilment": "shipped"}

    # A webhook endpoint; port 9 (discard) refuses at once if a worker ever tries to deliver.
    resp = client.post(
        f"{API}/webhooks",
        json={"url": "http://127.0.0.1:9/b-hooks", "topics": ["tier.changed"]},
        headers=owner,
    )
    assert resp.status_code == 201, resp.text
    webhook_endpoint_id = resp.json()["id"]

    # An open survey; the sweep's answer with B's key is B's member answering it once.
    survey = {
        "name": "B's survey",
        "title": {"es": "Encuesta de B", "en": "B's survey"},
        "status": "open",
        "questions": [{"id": "score", "kind": "rating", "text": {"es": "Nota", "en": "Score"}}],
    }
    resp = client.post(f"{API}/surveys", json=survey, headers=owner)
    assert resp.status_code == 201, resp.text
    survey_id = resp.json()["id"]
    from lealtad.surveys.schemas import ResponseIn

    SAMPLE_BODIES[ResponseIn] = {"member_id": member["id"], "answers": {"score": 4}}

    experiment = {
        "slug": "b-test",
        "name": "B's test",
        "arms": [{"name": "control"}, {"name": "b"}],
    }
    resp = client.post(f"{API}/experiments", json=experiment, headers=owner)
    assert resp.status_code == 201, resp.text
    experiment_id = resp.json()["id"]

    resp = client.get(f"{API}/members/{member['id']}", headers=owner)
    assert resp.status_code == 200, resp.text
    return Resources(
        ids={
            "member_id": member["id"],
            "purchase_id": purchase["id"],
            "location_id": location["id"],
            "staff_id": staff["id"],
            "api_key_id": api_key["id"],
            "version": version,
            "cause_id": cause_id,
            "challenge_id": challenge_id,
            "reward_id": reward_id,
            "code": voucher_code,  # type: ignore[dict-item]
            "rating_id": rating_id,
            "campaign_id": campaign_id,
            "webhook_endpoint_id": webhook_endpoint_id,
            "survey_id": survey_id,
            "experiment_id": experiment_id,
        },
        member=resp.json(),
        receipt_id=receipt["receipt_id"],
        api_key=api_key["key"],
    )


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
