"""Surveys in the console: the list, the builder (title and questions in both languages, who is
asked and when), opening, closing and offering a survey in the wallet, and each survey's results
(NPS, averages, choices, comments). Writes go through surveys.service and are audited as the
JSON API's are; members answer at /s/<token> (surveys/pages.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection

from lealtad.db.engine import Database
from lealtad.deps import Db, Now
from lealtad.errors import LealtadError, NotFound
from lealtad.kit.ids import IdPath
from lealtad.members import store as member_store
from lealtad.surveys import charts, model, service, store
from lealtad.surveys.schemas import SurveyPatch
from lealtad.tenancy import service as tenancy
from lealtad.web import sessions
from lealtad.web.admin.console import AcceptLanguage, console
from lealtad.web.admin.messages.surveys_forms import (
    DEFAULTS,
    Values,
    all_labels,
    kinds,
    read,
    refusal,
    slots,
)
from lealtad.web.admin.program.fields import FieldError, PostedForm
from lealtad.web.admin.reports.analytics_tables import Fmt
from lealtad.web.i18n import translator
from lealtad.web.pages import Lang, render_page
from lealtad.web.sessions import CurrentManager, StaffSession

router = APIRouter(include_in_schema=False)


def list_page(
    request: Request,
    conn: Connection,
    staff: StaffSession,
    now: datetime,
    language: str,
    business: Any,
    status: int = 200,
) -> HTMLResponse:
    listed = service.listing(conn, staff.business_id, now)
    # One aggregate per survey over the kept-apart NPS column; cheap beside the page itself.
    scores = {
        s.id: model.nps(store.nps_counts(conn, staff.business_id, s.id)).score for s in listed
    }
    error = translator(language)("There is no such survey.") if status == 404 else None
    return render_page(
        request,
        "surveys_admin.html",
        language,
        status,
        business=business,
        staff=staff,
        surveys=listed,
        scores=scores,
        fmt=Fmt(business, language),
        error=error,
    )


@router.get("/admin/surveys", response_class=HTMLResponse)
def admin_surveys(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    """Every survey with its status, responses and NPS score."""
    with db.read() as conn:
        business, _me, language = console(conn, staff, lang, accept_language)
        return list_page(request, conn, staff, now, language, business)


def builder(
    request: Request,
    staff: StaffSession,
    business: Any,
    lang: str,
    values: Values,
    errors: list[FieldError],
    status: int = 200,
    more: bool = False,
    survey: Any = None,
    answered: bool = False,
) -> HTMLResponse:
    """The builder, for a new survey or (`survey`) for one being edited."""
    _ = translator(lang)
    return render_page(
        request,
        "admin_survey_new.html",
        lang,
        status,
        business=business,
        staff=staff,
        values=values,
        errors=errors,
        labels=all_labels(_),
        kinds=kinds(_),
        slots=slots(values, more=more),
        most=model.MAX_QUESTIONS,
        zone=business.timezone,
        survey=survey,
        answered=answered,
    )


@router.get("/admin/surveys/new", response_class=HTMLResponse)
def new_survey(
    request: Request,
    staff: CurrentManager,
    db: Db,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    with db.read() as conn:
        business, _me, language = console(conn, staff, lang, accept_language)
    return builder(request, staff, business, language, dict(DEFAULTS), [])


@router.post("/admin/surveys/new", response_class=HTMLResponse)
def create_survey(
    request: Request, staff: CurrentManager, db: Db, now: Now, form: PostedForm
) -> Response:
    """Saves the survey; "add a question" shows the form again with one more empty question."""
    sessions.require_csrf(staff.csrf, form.get("csrf"))
    with db.read() as conn:
        business, _me, language = console(conn, staff, form.get("lang") or None, None)
    values = form.values
    if form.get("more"):
        return builder(request, staff, business, language, values, [], more=True)
    _ = translator(language)
    data, errors = read(form, business.timezone, _)
    status = 422
    if data is not None:
        try:
            with db.transaction() as conn:
                survey_id = service.create(
                    conn, staff.business_id, data, staff.principal.actor, now
                )
                tenancy.audit(
                    conn,
                    staff.principal,
                    "survey.create",
                    f"survey:{survey_id}",
                    now,
                    name=data.name,
                )
            return RedirectResponse(
                f"/admin/surveys/{survey_id}?saved=1&lang={language}", status_code=303
            )
        except LealtadError as exc:
            errors, status = refusal(exc, _), exc.http_status
    return builder(request, staff, business, language, values, errors, status)


def _results_page(
    request: Request,
    db: Database,
    staff: StaffSession,
    survey_id: int,
    now: datetime,
    lang: str | None,
    accept_language: str | None,
    notice: str | None = None,
) -> HTMLResponse:
    with db.read() as conn:
        business, _me, language = console(conn, staff, lang, accept_language)
        try:
            context = charts.results_page_context(conn, staff.business_id, survey_id)
        except NotFound:
            return list_page(request, conn, staff, now, language, business, 404)
        shown = service.out(context["survey"], context["results"].responses, now)
        commenters = {c.member_id for q in context["text_questions"] for c in q.comments or []}
        names = member_store.display_names(conn, staff.business_id, commenters)
    return render_page(
        request,
        "survey_results.html",
        language,
        business=business,
        staff=staff,
        shown=shown,
        names=names,
        fmt=Fmt(business, language),
        notice=notice,
        **context,
    )


@router.get("/admin/surveys/{survey_id}", response_class=HTMLResponse)
def admin_survey_results(
    request: Request,
    survey_id: IdPath,
    staff: CurrentManager,
    db: Db,
    now: Now,
    saved: Annotated[str, Query(max_length=10)] = "",
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    """The survey's results: NPS with its 0-10 distribution, rating and choice charts, comments;
    and the buttons that open, close or offer it in the wallet."""
    with db.read() as conn:
        _business, _me, language = console(conn, staff, lang, accept_language)
    _ = translator(language)
    notice = {"1": _("The survey is saved."), "status": _("The change is saved.")}.get(saved)
    return _results_page(request, db, staff, survey_id, now, lang, accept_language, notice)


@router.post("/admin/surveys/{survey_id}/status")
def survey_status(
    survey_id: IdPath, staff: CurrentManager, db: Db, now: Now, form: PostedForm
) -> Response:
    """Open or close the survey, or offer it in the wallet (or stop), through the same service
    and audit entry as PATCH /api/v1/surveys/{id}."""
    sessions.require_csrf(staff.csrf, form.get("csrf"))
    status = form.get("status")
    wallet = form.get("in_wallet")
    patch = SurveyPatch.model_validate(
        ({"status": status} if status in ("open", "closed") else {})
        | ({"in_wallet": wallet == "1"} if wallet in ("0", "1") else {})
    )
    with db.transaction() as conn:
        before = service.one(conn, staff.business_id, survey_id, now)
        service.update(conn, staff.business_id, survey_id, patch)
        after = service.one(conn, staff.business_id, survey_id, now)
        tenancy.audit_change(
            conn, staff.principal, "survey.update", f"survey:{survey_id}", now, before, after
        )
    lang = form.get("lang") if form.get("lang") in ("es", "en") else ""
    return RedirectResponse(f"/admin/surveys/{survey_id}?saved=status&lang={lang}", status_code=303)
