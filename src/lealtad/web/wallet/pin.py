"""The member sets, changes or removes their card PIN on their own page (members/pin.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from lealtad.db.engine import Database
from lealtad.deps import AppSettings, Db, Now
from lealtad.members import pin
from lealtad.tenancy import service as tenancy
from lealtad.web.wallet.common import Visit, expired_form, to_login, visit

router = APIRouter(include_in_schema=False)

Pin = Annotated[str, Form(max_length=20)]


def has_pin(db: Database, found: Visit) -> bool:
    with db.read() as conn:
        return pin.has_pin(conn, found.business.id, found.member.id)


@router.post("/w/{slug}/me/pin", response_class=Response)
def save_pin(
    request: Request,
    slug: str,
    db: Db,
    settings: AppSettings,
    now: Now,
    pin_value: Annotated[str, Form(alias="pin", max_length=20)] = "",
    pin_again: Pin = "",
    remove: Annotated[str, Form(max_length=5)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
    lang: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Needs the member's session and its CSRF token; the PIN is kept only as an argon2 hash."""
    found = visit(request, db, settings, slug, lang)
    if found is None:
        return to_login(slug)
    _ = found._

    from lealtad.web.wallet import account as wallet_account  # which shows this module's section

    def again(status: int, error: str) -> Response:
        return wallet_account.me_page(request, db, settings, found, now, status, error)

    if not found.csrf_ok(csrf):
        return again(403, expired_form(_))
    bid, mid = found.business.id, found.member.id
    if remove == "yes":
        with db.transaction() as conn:
            pin.remove_pin(conn, bid, mid)
            tenancy.audit(conn, found.principal, "member.card_pin_removed", f"member:{mid}", now)
    else:
        value = pin_value.strip()
        if not pin.valid_pin(value):
            return again(422, _("A card PIN is 4 to 6 digits."))
        if value != pin_again.strip():
            return again(422, _("The two PINs are not the same."))
        with db.transaction() as conn:
            pin.set_pin(conn, bid, mid, value, now)
            tenancy.audit(conn, found.principal, "member.card_pin_set", f"member:{mid}", now)
    return RedirectResponse(f"/w/{slug}/me?lang={found.lang}#card-pin", status_code=303)
