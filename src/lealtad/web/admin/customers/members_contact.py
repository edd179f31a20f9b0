"""Changing a member's e-mail or phone from their console page: a manager's or owner's form
(the counter has none, decisions D47), since the e-mail receives the codes that open the
member's wallet. The change goes through the same service as PATCH /api/v1/members/{id}: the
member is told at their old address, and the audit log keeps the old and new values
(encrypted at rest, readable on the audit page)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from lealtad.deps import Db, Now
from lealtad.errors import LealtadError, NotFound
from lealtad.kit.ids import IdPath
from lealtad.members import contact, model
from lealtad.members import service as members
from lealtad.members.schemas import MemberPatch
from lealtad.tenancy import audit_context
from lealtad.tenancy import service as tenancy
from lealtad.web.admin.customers.members_forms import Csrf, FormLang, MemberForm, fresh, open_form
from lealtad.web.refusals import said
from lealtad.web.sessions import CurrentManager

router = APIRouter(include_in_schema=False)


@router.post("/admin/members/{member_id}/contact", response_model=None)
def change_contact(
    request: Request,
    member_id: IdPath,
    staff: CurrentManager,
    db: Db,
    now: Now,
    csrf: Csrf = "",
    email: Annotated[str, Form(max_length=320)] = "",
    phone: Annotated[str, Form(max_length=32)] = "",
    lang: FormLang = "",
) -> Response:
    """Sets both fields as typed; an empty one removes it."""
    form = open_form(request, staff, db, now, member_id, csrf, lang)
    typed = {"email": email, "phone": phone}
    try:
        with db.transaction() as conn:
            row = members.get(conn, staff.business_id, member_id)
            if row.status != model.ACTIVE:
                return form.refused(form._("This member has been erased."), "contact")
            before = {field: getattr(row, field) for field in contact.FIELDS}
            patch = MemberPatch(email=email.strip() or None, phone=phone.strip() or None)
            members.update(conn, staff.business_id, member_id, patch, now, may_change_contact=True)
            after = members.get(conn, staff.business_id, member_id)
            changes = audit_context.diff(
                before, {field: getattr(after, field) for field in contact.FIELDS}
            )
            if changes:
                target = f"member:{member_id}"
                tenancy.audit(conn, staff.principal, "member.update", target, now, **changes)
    except NotFound:
        return form.page()
    except LealtadError as exc:
        return form.refused(_refusal(form, exc), "contact", fresh(typed), exc.http_status)
    return form.back("contact", "contact")


def _refusal(form: MemberForm, exc: LealtadError) -> str:
    _ = form._
    messages = {
        "invalid_email": _("That e-mail address does not look right."),
        "invalid_phone": _("That phone number does not look right."),
        "duplicate_email": _("Another member already has this e-mail."),
        "duplicate_phone": _("Another member already has this phone number."),
    }
    return messages.get(exc.code) or said(exc, _)
