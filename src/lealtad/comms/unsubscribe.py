"""Signed one-click unsubscribe links: the link names the member and channel, and only this
server can make one, so no login is needed to use it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Connection

from lealtad.comms import message_store
from lealtad.errors import NotFound
from lealtad.members import store as member_store


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="lealtad.unsubscribe")


def token(
    secret: str, business_id: int, member_id: int, channel: str, message_id: int | None
) -> str:
    return str(_serializer(secret).dumps([business_id, member_id, channel, message_id]))


def read(secret: str, value: str) -> tuple[int, int, str, int | None]:
    try:
        business_id, member_id, channel, message_id = _serializer(secret).loads(value)
        return int(business_id), int(member_id), str(channel), message_id
    except (BadSignature, ValueError, TypeError) as exc:
        raise NotFound(
            "this unsubscribe link is not valid", code="invalid_unsubscribe_link"
        ) from exc


def unsubscribe(conn: Connection, secret: str, value: str, now: datetime) -> Any:
    """Withdraws the member's consent for the link's channel and records it; safe to repeat."""
    business_id, member_id, channel, message_id = read(secret, value)
    member = member_store.member(conn, business_id, member_id)
    if member is None:
        raise NotFound("this unsubscribe link is not valid", code="invalid_unsubscribe_link")
    consent = dict(member.consent)
    consent[channel] = {"granted": False, "at": now.isoformat(), "source": "unsubscribe"}
    member_store.update_member(conn, business_id, member_id, consent=consent)
    message_store.record_unsubscribe(
        conn, business_id, member_id, channel, message_id, now, "one-click link"
    )
    return member
