"""What a manager changes on a member's page: tags, a manual adjustment with its reason,
reissuing a lost card, (admin_members_contact.py) the e-mail and phone, and
(admin_members_privacy.py) a copy of the member's data and erasure.
Each form carries the session's CSRF token; errors come back on the page next to the form, in
the page's language."""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from lealtad.deps import Db, Now
from lealtad.errors import Conflict, InsufficientBalance, LealtadError
from lealtad.kit.ids import IdPath
from lealtad.kit.money import minor_exponent
from lealtad.ledger import idempotency, manual
from lealtad.ledger import service as ledger
from lealtad.members import cards, model
from lealtad.members import service as members
from lealtad.members.schemas import MemberPatch
from lealtad.tenancy import service as tenancy
from lealtad.web import sessions
from lealtad.web.admin.customers import members_contact as admin_members_contact
from lealtad.web.admin.customers import members_privacy as admin_members_privacy
from lealtad.web.admin.customers.members_forms import Csrf, FormLang, fresh, open_form
from lealtad.web.admin.customers.members_view import Formats
from lealtad.web.i18n import pick_language
from lealtad.web.refusals import said
from lealtad.web.sessions import CurrentManager

router = APIRouter(include_in_schema=False)
# Data requests (a copy, erasure) and contact details live in their own modules and come in
# with these forms.
router.include_router(admin_members_privacy.router)
router.include_router(admin_members_contact.router)
MAX_TAGS = 50
MAX_UNITS = 10**9


@router.post("/admin/members/{member_id}/tags", response_model=None)
def change_tags(
    request: Request,
    member_id: IdPath,
    staff: CurrentManager,
    db: Db,
    now: Now,
    csrf: Csrf = "",
    tag: Annotated[str, Form(max_length=100)] = "",
    action: Annotated[str, Form(max_length=10)] = "add",
    lang: FormLang = "",
) -> Response:
    """Adds or removes one tag."""
    form = open_form(request, staff, db, now, member_id, csrf, lang)
    _ = form._
    normal = model.normalise_tag(tag)
    error = None
    with db.transaction() as conn:
        try:
            row = members.get(conn, staff.business_id, member_id)
        except LealtadError:
            row = None
        if row is not None and normal is None:
            error = _(
                "A tag is 1 to 40 letters, digits, spaces or - _ : . and starts with a letter "
                "or a digit."
            )
        elif row is not None and normal is not None:
            tags = list(row.tags)
            if action == "remove":
                tags = [t for t in tags if t != normal]
            elif normal not in tags:
                tags.append(normal)
            if len(tags) > MAX_TAGS:
                error = _("A member can have at most 50 tags.")
            elif tags != list(row.tags):
                members.update(conn, staff.business_id, member_id, MemberPatch(tags=tags), now)
                tenancy.audit(
                    conn,
                    staff.principal,
                    "member.tags",
                    f"member:{member_id}",
                    now,
                    added=normal if action != "remove" else None,
                    removed=normal if action == "remove" else None,
                )
    if row is None or error is not None:
        return form.refused(error, "tags", fresh({"tag": tag}))
    return form.back("tags", "tags")


def _amount(text: str, unit: str, currency: str) -> int | None:
    """Signed units: whole points, or money in the business's currency ("2,50" or "-2.50")."""
    cleaned = text.strip().replace(" ", "").replace("\u2212", "-").replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    exponent = minor_exponent(currency) if unit == "cashback" else 0
    scaled = value.scaleb(exponent)
    if scaled != scaled.to_integral_value() or abs(scaled) > MAX_UNITS:
        return None
    return int(scaled)


def _adjust(
    db: Db,
    staff: sessions.StaffSession,
    member_id: int,
    unit: str,
    amount: int,
    reason: str,
    key: str,
    now: datetime,
) -> None:
    """The same use case as POST /api/v1/members/{id}/adjustments, with the manager as actor,
    once per form (the form's key makes a double tap a replay)."""
    bid = staff.business_id
    with db.transaction() as conn:
        members.get(conn, bid, member_id)
        payload = {"member_id": member_id, "unit": unit, "amount": amount, "reason": reason}
        stored_key = f"admin-adjust:{staff.staff_id}:{key}"
        if idempotency.begin(conn, bid, stored_key, payload, now) is not None:
            return
        entry_id = manual.adjust(
            conn, staff.principal, member_id, unit=unit, amount=amount, reason=reason, now=now
        )
        idempotency.finish(conn, bid, stored_key, 201, {"entry_id": entry_id})


@router.post("/admin/members/{member_id}/adjustments", response_model=None)
def adjust(
    request: Request,
    member_id: IdPath,
    staff: CurrentManager,
    db: Db,
    now: Now,
    csrf: Csrf = "",
    unit: Annotated[str, Form(max_length=10)] = "points",
    amount: Annotated[str, Form(max_length=30)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    key: Annotated[str, Form(max_length=40)] = "",
    lang: FormLang = "",
) -> Response:
    """A manual correction of points or cashback; the reason is required and shows in the
    member's ledger and the audit log."""
    page = open_form(request, staff, db, now, member_id, csrf, lang)
    _ = page._
    form = {"unit": unit, "amount": amount, "reason": reason, "key": key}
    with db.read() as conn:
        business = tenancy.get_business(conn, staff.business_id)
    fmt = Formats(business, pick_language(lang, None, business.locale))
    value = _amount(amount, unit, business.currency) if unit in ("points", "cashback") else None
    error, status_code = None, 422
    if unit not in ("points", "cashback"):
        error = _("Choose points or cashback.")
    elif value is None:
        error = (
            _("Give the amount in money, like 2.50, with a minus sign to take it away.")
            if unit == "cashback"
            else _("Give a whole number of points, with a minus sign to take points away.")
        )
    elif value == 0:
        error = _("An adjustment moves a non-zero amount.")
    elif len(reason.strip()) < 3:
        error = _("Say why: a reason of at least 3 characters is required.")
    if error is None and value is not None:
        try:
            _adjust(
                db,
                staff,
                member_id,
                unit,
                value,
                reason.strip(),
                key or secrets.token_urlsafe(12),
                now,
            )
        except InsufficientBalance:
            with db.read() as conn:
                held = ledger.balances(conn, staff.business_id, member_id)
            have = fmt.amount(unit, held.get(unit, 0))
            status_code = 409
            error = _(
                "Not done: the member has %(held)s, and an adjustment cannot take a balance "
                "below zero."
            ) % {"held": have}
        except Conflict as exc:
            error = (
                _(
                    "This form was already sent with other values; reload the page to make "
                    "another adjustment."
                )
                if exc.code == "idempotency_key_reused"
                else said(exc, _)
            )
            if exc.code == "idempotency_key_reused":
                form["key"] = secrets.token_urlsafe(12)
        except LealtadError as exc:
            error = said(exc, _) if exc.code != "member_not_found" else None
            if error is None:
                return page.page()
    if error is not None:
        return page.refused(error, "adjust", form, status_code)
    return page.back("adjusted", "ledger")


@router.post("/admin/members/{member_id}/card/reissue", response_model=None)
def reissue(
    request: Request,
    member_id: IdPath,
    staff: CurrentManager,
    db: Db,
    now: Now,
    csrf: Csrf = "",
    confirm: Annotated[bool, Form()] = False,
    lang: FormLang = "",
) -> Response:
    """A new card for a lost or shared one, once the manager confirms: the old QR codes and the
    member's wallet sessions stop working; the card number and balances stay."""
    form = open_form(request, staff, db, now, member_id, csrf, lang)
    if not confirm:
        error = form._("Tick the box to confirm that the old card should stop working.")
        return form.refused(error, "card")
    try:
        with db.transaction() as conn:
            cards.reissue(conn, staff.principal, member_id, now)
    except LealtadError:
        return form.page()
    return form.back("reissued", "card")
