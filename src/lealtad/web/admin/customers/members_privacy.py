"""Personal-data requests on a member's page, for a request received by phone, e-mail or at the
counter: a copy of all the member's data (the wallet's JSON document) and erasure. Erasure
cannot be undone, so the manager types the member's card number to confirm it, the way hosted
consoles ask for a resource's name before deleting it; a tick box is too easy to click through."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from lealtad.deps import AppSettings, Db, Now
from lealtad.errors import NotFound
from lealtad.kit.ids import IdPath
from lealtad.members import service as members
from lealtad.privacy import erasure, export
from lealtad.tenancy import service as tenancy
from lealtad.web.admin.customers.members_forms import Csrf, FormLang, fresh, open_form
from lealtad.web.sessions import CurrentManager

router = APIRouter(include_in_schema=False)


@router.post("/admin/members/{member_id}/data-export", response_model=None)
def download(
    request: Request,
    member_id: IdPath,
    staff: CurrentManager,
    db: Db,
    now: Now,
    settings: AppSettings,
    csrf: Csrf = "",
    lang: FormLang = "",
) -> Response:
    """The member's data as a JSON file, the same document as GET
    /api/v1/members/{id}/data-export; a POST with the session's token, so that no other site
    can make a manager's browser take (and the log record) a copy."""
    form = open_form(request, staff, db, now, member_id, csrf, lang)
    try:
        with db.transaction() as conn:
            data = export.member_data(
                conn, staff.business_id, member_id, settings.effective_secret_key, now
            )
            tenancy.audit(conn, staff.principal, "member.export", f"member:{member_id}", now)
    except NotFound:
        return form.page()
    return Response(
        export.to_json(data), media_type="application/json", headers=export.download_headers(data)
    )


def _typed(text: str) -> str:
    return "".join(text.split()).upper()


@router.post("/admin/members/{member_id}/erasure", response_model=None)
def erase(
    request: Request,
    member_id: IdPath,
    staff: CurrentManager,
    db: Db,
    now: Now,
    csrf: Csrf = "",
    confirm: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    lang: FormLang = "",
) -> Response:
    """Erases the member once the manager has typed their card number; back on the member's
    page, which then shows the pseudonymised member."""
    form = open_form(request, staff, db, now, member_id, csrf, lang)
    with db.read() as conn:
        try:
            card_number = members.get(conn, staff.business_id, member_id).card_number
        except NotFound:
            card_number = None
    if card_number is None:
        return form.page()
    if not confirm.strip() or _typed(confirm) != _typed(card_number):
        error = form._("Type the member's card number exactly to confirm the erasure.")
        return form.refused(error, "erase", fresh({"erase_reason": reason}))
    with db.transaction() as conn:
        erasure.erase(conn, staff.principal, member_id, now, reason=reason.strip() or None)
    return form.back("erased")
