"""The application's route table, and what the security tests need to call every route: a
value for each path parameter, a minimal body for each request model, and one of each resource
of a business to name. Shared by the tenant-isolation sweeps and the route x role matrix, so a
route added later is swept by all of them without touching this file."""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass
from typing import Any

import fastapi.routing
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel

from lealtad.members.schemas import MemberPatch
from lealtad.purchases.schemas import AdjustmentIn
from tests.support import Shop, purchase_body

API = "/api/v1"
PUBLIC = "/api/v1/public"
# Catalogue data that is the same for every business: there is nothing of B's to leak.
SHARED = {"/api/v1/program/templates/{name}"}
# Named by a vendor of the shared list (standard, square, shopify), not by an id: each business
# reaches only its own connector under that name (tests/connectors), so B has none to name.
SHARED |= {"/api/v1/connectors/{vendor_name}", "/api/v1/connectors/{vendor_name}/deliveries"}
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
    # An optional body (`Model | None = None`) is still that model.
    candidates = [model, *typing.get_args(model)]
    found = [m for m in candidates if isinstance(m, type) and issubclass(m, BaseModel)]
    return found[0] if found else None


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

    # SMS and WhatsApp settings (port 9 refuses at once if a worker ever sends through them).
    sms = {"base_url": "http://127.0.0.1:9", "account_sid": "AC1", "auth_token": "t", "sender": "B"}
    resp = client.put(f"{API}/channels/sms", json=sms, headers=owner)
    assert resp.status_code == 200, resp.text
    whatsapp = {
        "base_url": "http://127.0.0.1:9",
        "phone_number_id": "1",
        "access_token": "t",
        "app_secret": "s",
        "verify_token": "verify-b-1",
    }
    resp = client.put(f"{API}/channels/whatsapp", json=whatsapp, headers=owner)
    assert resp.status_code == 200, resp.text

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

    # An import run of opening balances, so the import run routes are swept.
    rows = [{"member_id": member["id"], "points": 5}]
    resp = client.post(f"{API}/imports/balances", json={"rows": rows}, headers=owner)
    assert resp.status_code == 201, resp.text
    run_id = resp.json()["run_id"]

    # A connector, so its configuration and delivery log are swept.
    connector = {"secret": "whsec_c3dlZXAtdGhlLWNvbm5lY3Rvci1yb3V0ZXM="}
    resp = client.put(f"{API}/connectors/standard", json=connector, headers=owner)
    assert resp.status_code == 200, resp.text
    from tests.tickets.sweep import ticket_resources

    # Claimed by a member of B's set-up, so that `member` keeps the history other tests count.
    tickets = ticket_resources(client, owner, location["id"], b.members[0])

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
            "run_id": run_id,
            # The Apple pass web service's names (passes/api.py): no pass of B's has them.
            "device": "d" * 32,
            "pass_type": "pass.example.none",
            "serial": "0" * 32,
            "vendor_name": "standard",  # type: ignore[dict-item]
            **tickets,
        },
        member=resp.json(),
        receipt_id=receipt["receipt_id"],
        api_key=api_key["key"],
    )
