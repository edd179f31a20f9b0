"""JSON routes of surveys: managers write them, integrators answer for members, anyone with a key
of the business reads the results."""

from __future__ import annotations

from fastapi import APIRouter

from lealtad.deps import CurrentPrincipal, Db, Manager, Now
from lealtad.http import ERROR_RESPONSES
from lealtad.kit.ids import IdPath
from lealtad.surveys import service
from lealtad.surveys.schemas import (
    ResponseIn,
    ResponseOut,
    ResultsOut,
    SurveyIn,
    SurveyOut,
    SurveyPatch,
)
from lealtad.tenancy import service as tenancy

router = APIRouter(prefix="/api/v1", tags=["surveys"], responses=ERROR_RESPONSES)


@router.post("/surveys", response_model=SurveyOut, status_code=201)
def create_survey(body: SurveyIn, principal: Manager, db: Db, now: Now) -> SurveyOut:
    """A title and 1 to 10 questions in Spanish and English; at most one NPS question."""
    with db.transaction() as conn:
        survey_id = service.create(conn, principal.business_id, body, principal.actor, now)
        tenancy.audit(conn, principal, "survey.create", f"survey:{survey_id}", now, name=body.name)
        return service.one(conn, principal.business_id, survey_id, now)


@router.get("/surveys", response_model=list[SurveyOut])
def list_surveys(principal: CurrentPrincipal, db: Db, now: Now) -> list[SurveyOut]:
    with db.read() as conn:
        return service.listing(conn, principal.business_id, now)


@router.get("/surveys/{survey_id}", response_model=SurveyOut)
def survey(survey_id: IdPath, principal: CurrentPrincipal, db: Db, now: Now) -> SurveyOut:
    with db.read() as conn:
        return service.one(conn, principal.business_id, survey_id, now)


@router.patch("/surveys/{survey_id}", response_model=SurveyOut)
def update_survey(
    survey_id: IdPath, body: SurveyPatch, principal: Manager, db: Db, now: Now
) -> SurveyOut:
    """Open or close it, offer it in the wallet, fix its texts. Once members have answered, the
    questions keep their ids, kinds and options, and it cannot go back to draft."""
    with db.transaction() as conn:
        before = service.one(conn, principal.business_id, survey_id, now)
        service.update(conn, principal.business_id, survey_id, body)
        after = service.one(conn, principal.business_id, survey_id, now)
        tenancy.audit_change(
            conn, principal, "survey.update", f"survey:{survey_id}", now, before, after
        )
        return after


@router.get("/surveys/{survey_id}/results", response_model=ResultsOut)
def survey_results(survey_id: IdPath, principal: CurrentPrincipal, db: Db) -> ResultsOut:
    """NPS (score, promoters, passives, detractors, 0-10 distribution), rating averages and
    distributions, choice counts and the latest comments, computed from the answers now."""
    with db.read() as conn:
        return service.results(conn, principal.business_id, survey_id)


@router.post("/surveys/{survey_id}/responses", response_model=ResponseOut, status_code=201)
def answer_survey(
    survey_id: IdPath, body: ResponseIn, principal: CurrentPrincipal, db: Db, now: Now
) -> ResponseOut:
    """A member's answer, sent by an integrator; it earns the program's `survey_answered` bonus.
    A member answers once: a second answer is a 409 `survey_already_answered` and earns nothing."""
    with db.transaction() as conn:
        return service.answer(
            conn,
            principal.business_id,
            survey_id,
            body.member_id,
            dict(body.answers),
            "api",
            now,
            by=principal,
        )
