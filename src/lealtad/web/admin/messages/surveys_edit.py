"""Editing a survey in the console: the builder filled with the survey as it is. Texts, dates and
the wallet offer change at any time; questions are added, removed or retyped only while nobody
has answered (the service refuses otherwise, as PATCH /api/v1/surveys/{id} does). Saved through
surveys.service and audited with before and after, like the API."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lealtad.deps import Db, Now
from lealtad.errors import LealtadError, NotFound
from lealtad.kit.ids import IdPath
from lealtad.surveys import service, store
from lealtad.surveys.schemas import SurveyIn, SurveyPatch
from lealtad.tenancy import service as tenancy
from lealtad.web import sessions
from lealtad.web.admin.console import AcceptLanguage, console
from lealtad.web.admin.messages.surveys import builder, list_page
from lealtad.web.admin.messages.surveys_forms import read, refusal, values_of
from lealtad.web.admin.program.fields import PostedForm
from lealtad.web.i18n import translator
from lealtad.web.pages import Lang
from lealtad.web.sessions import CurrentManager

router = APIRouter(include_in_schema=False)


def _patch(data: SurveyIn, was_draft: bool) -> SurveyPatch:
    """The builder's reading as a change: everything it shows; the status only from a draft
    (an open or closed survey is opened and closed with its own buttons)."""
    fields = data.model_dump(include={"name", "title", "questions", "in_wallet"})
    fields["opens_at"] = data.opens_at.isoformat() if data.opens_at else None
    fields["closes_at"] = data.closes_at.isoformat() if data.closes_at else None
    if was_draft:
        fields["status"] = data.status
    return SurveyPatch.model_validate(fields)


@router.get("/admin/surveys/{survey_id}/edit", response_class=HTMLResponse)
def edit_survey(
    request: Request,
    survey_id: IdPath,
    staff: CurrentManager,
    db: Db,
    now: Now,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    with db.read() as conn:
        business, _me, language = console(conn, staff, lang, accept_language)
        try:
            row = service.get(conn, staff.business_id, survey_id)
        except NotFound:
            return list_page(request, conn, staff, now, language, business, 404)
        answered = store.response_count(conn, staff.business_id, survey_id) > 0
    values = values_of(row, business.timezone)
    return builder(request, staff, business, language, values, [], survey=row, answered=answered)


@router.post("/admin/surveys/{survey_id}/edit", response_class=HTMLResponse)
def save_survey(
    request: Request,
    survey_id: IdPath,
    staff: CurrentManager,
    db: Db,
    now: Now,
    form: PostedForm,
) -> Response:
    sessions.require_csrf(staff.csrf, form.get("csrf"))
    with db.read() as conn:
        business, _me, language = console(conn, staff, form.get("lang") or None, None)
        try:
            row = service.get(conn, staff.business_id, survey_id)
        except NotFound:
            return list_page(request, conn, staff, now, language, business, 404)
        answered = store.response_count(conn, staff.business_id, survey_id) > 0
    shown = {"survey": row, "answered": answered}
    if form.get("more"):
        return builder(request, staff, business, language, form.values, [], more=True, **shown)
    _ = translator(language)
    data, errors = read(form, business.timezone, _)
    status = 422
    if data is not None:
        try:
            with db.transaction() as conn:
                before = service.one(conn, staff.business_id, survey_id, now)
                service.update(
                    conn, staff.business_id, survey_id, _patch(data, row.status == "draft")
                )
                after = service.one(conn, staff.business_id, survey_id, now)
                tenancy.audit_change(
                    conn,
                    staff.principal,
                    "survey.update",
                    f"survey:{survey_id}",
                    now,
                    before,
                    after,
                )
            return RedirectResponse(
                f"/admin/surveys/{survey_id}?saved=1&lang={language}", status_code=303
            )
        except LealtadError as exc:
            errors, status = refusal(exc, _), exc.http_status
    return builder(request, staff, business, language, form.values, errors, status, **shown)
