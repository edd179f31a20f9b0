"""The generic signed webhook (Standard Webhooks v1 signatures; the body documented in
src/lealtad/connectors/standard.py) posted to a running server."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from typing import Any

import httpx

from lealtad.connectors import standard
from tests.connectors.conftest import Till, envelope

SECRET = "whsec_" + "c2VjcmV0LWtleS1vZi10aGUtdGlsbC0xMjM0NTY3OA=="
HOOK = "/hooks/standard/{slug}"


def _sale(sale_id: str, amount: int, **data: Any) -> dict[str, Any]:
    body = {
        "id": sale_id,
        "amount": amount,
        "currency": "EUR",
        "occurred_at": "2026-03-02T10:00:00Z",
    }
    return {"type": "sale.completed", "data": body | data}


def post(
    till: Till,
    payload: dict[str, Any],
    *,
    message_id: str | None = None,
    age: int = 0,
    secret: str = SECRET,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    body = json.dumps(payload).encode()
    stamp = int(till.clock.now().timestamp()) - age
    msg = message_id or f"msg_{random.randrange(10**12)}"
    sent = {
        "content-type": "application/json",
        "webhook-id": msg,
        "webhook-timestamp": str(stamp),
        "webhook-signature": standard.sign(secret, msg, stamp, body),
    }
    if headers is not None:
        sent = {k: v for k, v in sent.items() if k == "content-type"} | headers
    return till.http.post(HOOK.format(slug=till.shop.slug), content=body, headers=sent)


def test_a_sale_earns_once_however_many_times_it_is_delivered(till: Till) -> None:
    till.connect("standard", secret=SECRET)
    member = till.enrol("ana@example.com")
    payload = _sale("T-1", 1250, customer={"email": "Ana@Example.com"})
    before = till.points(member)
    first = post(till, payload, message_id="msg_1")
    assert first.status_code == 200, first.text
    assert first.json()["outcome"] == "recorded"
    earned = till.points(member) - before
    assert earned > 0
    # The same message retried, and the same sale sent again as a new message.
    for again in (
        post(till, payload, message_id="msg_1"),
        post(till, payload),
        post(till, payload),
    ):
        assert again.status_code == 200, again.text
        assert again.json()["outcome"] == "duplicate"
    assert till.points(member) - before == earned
    outcomes = [d["outcome"] for d in till.deliveries("standard")]
    assert outcomes == ["duplicate", "duplicate", "duplicate", "recorded"]
