"""Recording a member's event and applying the program's rules for it."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from lealtad.comms.outbox import emit
from lealtad.errors import Invalid
from lealtad.events import store
from lealtad.events.schemas import EventIn, EventOut
from lealtad.kit.clock import naive_utc
from lealtad.ledger import idempotency
from lealtad.ledger import service as ledger
from lealtad.members import service as members
from lealtad.purchases.service import award_out, occurred
from lealtad.rules import lifecycle
from lealtad.rules.compile import EVENT_TRIGGERS
from lealtad.tenancy.model import Principal

# Names the platform raises itself; an integrator cannot send them.
RESERVED = frozenset({"purchase", "refund", "enrolment", "referral", "profile_completed"})


def record(
    conn: Connection, principal: Principal, data: EventIn, *, secret_key: str, now: datetime
) -> tuple[int, dict[str, Any]]:
    bid = principal.business_id
    key = f"event:{data.event_id}"
    replay = idempotency.begin(conn, bid, key, data.model_dump(mode="json"), now)
    if replay is not None:
        return replay.status_code, replay.body
    if data.name in RESERVED:
        raise Invalid(
            f"{data.name!r} events are raised by the platform itself", code="reserved_event"
        )
    member = members.find(
        conn,
        bid,
        secret_key,
        member_id=data.member_id,
        card_number=data.card_number,
        email=data.email,
    )
    at = occurred(data.occurred_at, now)
    recorded_id = store.insert_event(
        conn,
        bid,
        event_id=data.event_id,
        member_id=member.id,
        name=data.name,
        value=data.value,
        properties=json.loads(json.dumps(data.properties, default=str)),
        occurred_at=naive_utc(at),
        recorded_at=naive_utc(now),
    )
    trigger, event = (data.name, None) if data.name in EVENT_TRIGGERS else ("custom", data.name)
    if data.name in ("birthday", "anniversary"):
        # The greeting e-mail; the program's rules decide any points separately.
        emit(conn, bid, data.name, {"member_id": member.id}, now)
    outcome = lifecycle.fire(
        conn,
        bid,
        member,
        trigger,
        at=at,
        now=now,
        actor=principal.actor,
        value=data.value,
        event=event,
        properties=data.properties,
    )
    body = EventOut(
        id=recorded_id,
        event_id=data.event_id,
        name=data.name,
        member_id=member.id,
        awards=[award_out(g) for g in outcome.granted],
        balances=ledger.balances(conn, bid, member.id),
    ).model_dump(mode="json")
    idempotency.finish(conn, bid, key, 201, body)
    return 201, body
