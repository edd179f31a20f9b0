"""The member card: its QR image, and reissuing it."""

from __future__ import annotations

import io
from datetime import datetime

from sqlalchemy import Connection

from lealtad.errors import NotFound
from lealtad.members import store
from lealtad.tenancy import service as tenancy
from lealtad.tenancy.model import Principal


def qr_image(token: str, kind: str, scale: int) -> bytes:
    import segno  # here: an API worker never draws one (P6 memory)

    code = segno.make(token, error="m", micro=False)
    buffer = io.BytesIO()
    code.save(buffer, kind=kind, scale=scale, border=4)
    return buffer.getvalue()


def qr_svg(text: str) -> str:
    """The code as SVG for a page: a viewBox and no fixed size, so that it fills and stays
    centred in whatever box the page gives it, on a white quiet zone."""
    import segno

    code = segno.make(text, error="m", micro=False)
    buffer = io.BytesIO()
    code.save(
        buffer, kind="svg", border=4, omitsize=True, xmldecl=False, svgclass="qr", light="#fff"
    )
    return buffer.getvalue().decode()


def reissue(conn: Connection, principal: Principal, member_id: int, now: datetime) -> None:
    """A lost or shared card: every QR token and wallet session signed for the old card stops
    working; the card number, balances and history stay."""
    row = store.member(conn, principal.business_id, member_id)
    if row is None:
        raise NotFound(f"no member {member_id} in this business", code="member_not_found")
    store.update_member(conn, principal.business_id, member_id, card_version=row.card_version + 1)
    tenancy.audit(
        conn,
        principal,
        "member.card_reissued",
        f"member:{member_id}",
        now,
        card_version=row.card_version + 1,
    )
