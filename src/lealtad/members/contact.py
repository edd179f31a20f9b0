"""A member's contact details, e-mail and phone, are the keys to their wallet: the e-mail gets
the codes that open it. Changing them is therefore a manager's or owner's act, never the
counter's (decisions D47): a clerk could otherwise put their own address on a member, sign in
as them and spend their points. The route that makes a change audits it with the old and new
values (the audit log's details are encrypted, D28, and erasure scrubs them, D32), and the
member is told at the address they had, by a transactional notice that carries no link."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from lealtad.comms import queue_store
from lealtad.comms.catalog import CONTACT_CHANGED
from lealtad.errors import Forbidden
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.members import model
from lealtad.tenancy import store as tenancy_store

FIELDS = ("email", "phone")


def refused() -> Forbidden:
    return Forbidden(
        "a member's e-mail and phone can only be changed by a manager or an owner",
        code="role_required",
        details={"fields": list(FIELDS)},
    )


def _normal(field: str, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    normalise = model.normalise_email if field == "email" else model.normalise_phone
    # A value that does not read is a change too: the caller may not make it either way.
    return normalise(value) or value


def touched(row: Any, given: dict[str, str | None]) -> set[str]:
    """The contact fields among `given` (field -> value as sent) that would change the member's,
    read before any validation, so that who may not change them learns nothing more."""
    return {
        field
        for field in FIELDS
        if field in given and _normal(field, given[field]) != getattr(row, field)
    }


def notify(
    conn: Connection, business_id: int, before: Any, after: dict[str, Any], now: datetime
) -> int | None:
    """Queues the notice to the e-mail the member had before the change; None when they had
    none (phone is not a channel yet). `after` holds the new values of the fields changed."""
    address = before.email
    if not address:
        return None
    business = tenancy_store.business(conn, business_id)
    day = as_utc(now).astimezone(ZoneInfo(business.timezone)).date().isoformat()
    context = {
        # The address the notice goes to (comms/messages.py); encrypted like the whole context.
        "notify_address": address,
        "changed_on": day,
        "email_changed": "email" in after,
        "new_email": model.mask_email(after.get("email")),
        "phone_changed": "phone" in after,
        "new_phone": model.mask_phone(after.get("phone")),
    }
    return queue_store.queue_email(
        conn, business_id, before.id, CONTACT_CHANGED, before.locale, context, naive_utc(now)
    )
