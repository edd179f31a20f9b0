"""Business B's ticket resources for the security sweeps (tests/security/routes.py): a signing
key of its location and an accepted claim of its member, so every ticket route is swept."""

from __future__ import annotations

import base64
from typing import Any

from fastapi.testclient import TestClient

from lealtad.tickets import model
from lealtad.tickets.schemas import ClaimIn
from tests.security.routes import SAMPLE_BODIES


def ticket_resources(
    client: TestClient, owner: dict[str, str], location_id: int, member_id: int
) -> dict[str, Any]:
    api = "/api/v1"
    made = client.post(f"{api}/locations/{location_id}/ticket-keys", headers=owner)
    assert made.status_code == 201, made.text
    key = made.json()
    secret = base64.urlsafe_b64decode(key["secret"] + "=")
    code = model.sign(
        secret,
        key_id=key["key_id"],
        location_id=location_id,
        receipt_id="B-ticket-1",
        amount=100,
        currency="EUR",
        issued_at=client.app.state.clock.now(),  # type: ignore[attr-defined]
    )
    claimed = client.post(
        f"{api}/members/{member_id}/ticket-claims", json={"code": code}, headers=owner
    )
    assert claimed.status_code == 201, claimed.text
    SAMPLE_BODIES[ClaimIn] = {"code": "LT1.probe.probe"}
    return {"key_id": key["key_id"], "claim_id": claimed.json()["id"]}
