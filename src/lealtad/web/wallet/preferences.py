"""The wallet's message preferences: the member's own consent per channel (e-mail, push, and
SMS and WhatsApp where the business has switched them on), and the mobile number those two need
when the member has none. Each channel's consent keeps when and how it last changed, as for
every other way of giving it (members/service.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from lealtad.comms import channel_store
from lealtad.errors import Invalid, LealtadError
from lealtad.members import model, service
from lealtad.members.schemas import Consent, MemberPatch
from lealtad.web.i18n import translator
from lealtad.web.refusals import said


def offered(conn: Connection, business_id: int) -> list[str]:
    """The phone channels a member may choose: those the business has switched on."""
    return channel_store.enabled(conn, business_id)


def shown(conn: Connection, business_id: int, member: Any) -> dict[str, Any]:
    return {
        "phone_channels": offered(conn, business_id),
        # The member's own number, masked as on every page a passer-by could read.
        "phone_on_file": model.mask_phone(member.phone),
    }


def save(
    conn: Connection,
    business_id: int,
    member_id: int,
    chosen: dict[str, bool],
    phone: str,
    now: datetime,
) -> None:
    """Consent as ticked for e-mail, push and the phone channels offered; a channel the business
    does not offer keeps what the member said before (a reply of STOP, the counter's tick). A
    number is taken only from a member who has none: changing one is the counter's (D47)."""
    member = service.get(conn, business_id, member_id)
    channels = offered(conn, business_id)
    granted = {c: bool(member.consent.get(c, {}).get("granted")) for c in model.CHANNELS}
    granted |= {c: chosen.get(c, False) for c in ("email", "push", *channels)}
    fields: dict[str, Any] = {"consent": Consent(**granted)}
    if not member.phone and phone.strip():
        fields["phone"] = phone.strip()
    elif not member.phone and any(granted[c] for c in channels):
        raise Invalid("SMS and WhatsApp need a mobile number", code="phone_needed")
    service.update(
        conn, business_id, member_id, MemberPatch(**fields), now, may_change_contact=True
    )


def refusal(language: str, exc: LealtadError) -> str:
    _ = translator(language)
    known = {
        "phone_needed": _("To get messages by SMS or WhatsApp, give your mobile number."),
        "invalid_phone": _("That phone number does not look right."),
        # Whether the number is another member's is not said (the sign-up does not say it).
        "duplicate_phone": _("That number cannot be added here. Ask at the counter."),
    }
    return known.get(exc.code) or said(exc, _)
