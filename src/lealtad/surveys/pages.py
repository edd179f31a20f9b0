"""Survey pages. The member's page, reached from a signed per-member link (`/s/{token}`) in a
campaign e-mail or the wallet: the form in the member's language, and a thanks page with the
points the answer earned; a forged link, a closed survey or a second answer each get a page that
says so. The console's survey screens are web/admin/messages/surveys.py."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.deps import AppSettings, Db, Now
from lealtad.errors import LealtadError
from lealtad.members import store as member_store
from lealtad.surveys import links, model, service, store
from lealtad.tenancy import store as tenancy_store
from lealtad.web.i18n import pick_language, translator
from lealtad.web.pages import Lang, render_page

router = APIRouter(include_in_schema=False)
AcceptLanguage = Annotated[str | None, Header(max_length=200)]
MAX_TOKEN = 500


def _notice(request: Request, lang: str, status: int, state: str, **extra: Any) -> HTMLResponse:
    return render_page(request, "survey_thanks.html", lang, status, state=state, **extra)


def _load(db: Database, settings: Settings, token: str) -> tuple[Any, Any, Any] | None:
    """(business, member, survey) the link names, or None for a forged or stale link."""
    try:
        business_id, member_id, survey_id = links.read_token(
            settings.effective_secret_key, token[:MAX_TOKEN]
        )
    except LealtadError:
        return None
    with db.read() as conn:
        business = tenancy_store.business(conn, business_id)
        member = member_store.member(conn, business_id, member_id)
        survey = store.survey(conn, business_id, survey_id)
    if business is None or member is None or survey is None:
        return None
    return business, member, survey


def _problem_texts(lang: str) -> dict[str, str]:
    _ = translator(lang)
    return {
        "required": _("Please answer this question."),
        "out_of_range": _("Please choose one of the answers offered."),
        "unknown_question": _("Please choose one of the answers offered."),
    }


def _form_page(
    request: Request,
    lang: str,
    status: int,
    token: str,
    business: Any,
    survey: Any,
    answers: dict[str, object] | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    return render_page(
        request,
        "survey.html",
        lang,
        status,
        token=token,
        business=business,
        survey=survey,
        title=survey.title.get(lang) or survey.title.get("en", ""),
        questions=survey.questions,
        answers=answers or {},
        errors=errors or {},
    )


def _state_page(
    request: Request, lang: str, state: str, business: Any, survey: Any
) -> HTMLResponse:
    status = 409 if state in ("answered", "closed", "not_yet_open") else 200
    return _notice(request, lang, status, state, business=business, survey=survey, points=0)


@router.get("/s/{token}", response_class=HTMLResponse)
def survey_form(
    request: Request, token: str, db: Db, settings: AppSettings, now: Now, lang: Lang = None
) -> HTMLResponse:
    found = _load(db, settings, token)
    if found is None:
        return _notice(request, pick_language(lang, None, "es"), 404, "invalid")
    business, member, survey = found
    language = pick_language(lang, None, member.locale)
    state = service.availability(survey, now)
    if state == "draft":
        state = "not_yet_open"
    if state != "open":
        return _state_page(request, language, state, business, survey)
    with db.read() as conn:
        if store.response(conn, business.id, survey.id, member.id) is not None:
            return _state_page(request, language, "answered", business, survey)
    return _form_page(request, language, 200, token, business, survey)


def _record(
    db: Database, found: tuple[Any, Any, Any], answers: dict[str, object], now: datetime
) -> int:
    """The points the answer earned; raises the service's refusals unchanged."""
    business, member, survey = found
    with db.transaction() as conn:
        done = service.answer(conn, business.id, survey.id, member.id, answers, "link", now)
    return sum(a.amount for a in done.awards if a.unit == "points")


@router.post("/s/{token}", response_class=HTMLResponse)
async def survey_answer(
    request: Request, token: str, db: Db, settings: AppSettings, now: Now
) -> HTMLResponse:
    found = await run_in_threadpool(_load, db, settings, token)
    # A form has one field per question and a language; anything larger is not our form.
    form = await request.form(max_files=0, max_fields=model.MAX_QUESTIONS + 5)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    asked = fields.get("lang")
    if found is None:
        return _notice(request, pick_language(asked, None, "es"), 404, "invalid")
    business, member, survey = found
    language = pick_language(asked, None, member.locale)
    answers = model.from_form(survey.questions, fields)
    try:
        points = await run_in_threadpool(_record, db, found, answers, now)
    except LealtadError as exc:
        if exc.code == "survey_answer_invalid":
            texts = _problem_texts(language)
            errors = {
                p["question"]: texts.get(p["code"], p["message"])
                for p in exc.details
                if p["question"]
            }
            return _form_page(request, language, 422, token, business, survey, answers, errors)
        states = {"survey_already_answered": "answered", "survey_closed": "closed"}
        state = states.get(exc.code, "invalid")
        if state == "closed" and (exc.details or {}).get("availability") != "closed":
            state = "not_yet_open"
        return _notice(request, language, exc.http_status, state, business=business, survey=survey)
    return _notice(
        request, language, 201, "thanks", business=business, survey=survey, points=points
    )
