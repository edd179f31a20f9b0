"""Survey use cases: write and change a survey, answer it once, read its results. Never commits.

An answer earns through the one earning path there is: it is recorded as the member event
`survey_answered` (events.service.record), which applies the program's rules, posts the awards to
the ledger and counts towards challenges, all in the caller's transaction."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from lealtad.comms.outbox import emit
from lealtad.errors import Conflict, Invalid, NotFound
from lealtad.events import service as events
from lealtad.events.schemas import EventIn
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.members import service as members
from lealtad.purchases.schemas import AwardOut
from lealtad.surveys import model, store
from lealtad.surveys.schemas import (
    Comment,
    NpsOut,
    OptionCount,
    QuestionResult,
    ResponseOut,
    ResultsOut,
    SurveyIn,
    SurveyOut,
    SurveyPatch,
)
from lealtad.tenancy.model import Principal, Role

CLOSED_MESSAGES = {
    "draft": "this survey is not open yet",
    "not_yet_open": "this survey is not open yet",
    "closed": "this survey is closed",
}


def _stored_time(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return naive_utc(value)
    except OverflowError as exc:
        raise Invalid(f"{name} is out of range", code="survey_dates") from exc


def _check_dates(opens_at: datetime | None, closes_at: datetime | None) -> None:
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        raise Invalid("closes_at must come after opens_at", code="survey_dates")


def create(conn: Connection, business_id: int, data: SurveyIn, actor: str, now: datetime) -> int:
    opens_at = _stored_time(data.opens_at, "opens_at")
    closes_at = _stored_time(data.closes_at, "closes_at")
    _check_dates(opens_at, closes_at)
    return store.insert_survey(
        conn,
        business_id=business_id,
        name=data.name.strip(),
        title=data.title.model_dump(),
        questions=[q.model_dump() for q in data.questions],
        status=data.status,
        in_wallet=data.in_wallet,
        opens_at=opens_at,
        closes_at=closes_at,
        created_by=actor,
        created_at=naive_utc(now),
    )


def get(conn: Connection, business_id: int, survey_id: int) -> Any:
    row = store.survey(conn, business_id, survey_id)
    if row is None:
        raise NotFound(f"no survey {survey_id} in this business", code="survey_not_found")
    return row


def availability(row: Any, now: datetime) -> model.Availability:
    return model.availability(row.status, row.opens_at, row.closes_at, naive_utc(now))


def out(row: Any, responses: int, now: datetime) -> SurveyOut:
    return SurveyOut(
        id=row.id,
        name=row.name,
        title=row.title,
        questions=row.questions,
        status=row.status,
        availability=availability(row, now),
        in_wallet=row.in_wallet,
        opens_at=as_utc(row.opens_at) if row.opens_at else None,
        closes_at=as_utc(row.closes_at) if row.closes_at else None,
        responses=responses,
        created_at=as_utc(row.created_at),
    )


def one(conn: Connection, business_id: int, survey_id: int, now: datetime) -> SurveyOut:
    row = get(conn, business_id, survey_id)
    return out(row, store.response_count(conn, business_id, survey_id), now)


def listing(conn: Connection, business_id: int, now: datetime) -> list[SurveyOut]:
    counts = store.response_counts(conn, business_id)
    return [out(r, counts.get(r.id, 0), now) for r in store.all_surveys(conn, business_id)]


def update(conn: Connection, business_id: int, survey_id: int, patch: SurveyPatch) -> None:
    row = get(conn, business_id, survey_id)
    changes: dict[str, Any] = {}
    answered = store.response_count(conn, business_id, survey_id) > 0
    sent = patch.model_fields_set
    if patch.name is not None:
        changes["name"] = patch.name.strip()
    if patch.title is not None:
        changes["title"] = patch.title.model_dump()
    if patch.questions is not None:
        questions = [q.model_dump() for q in patch.questions]
        if answered and model.shape(questions) != model.shape(row.questions):
            raise Conflict(
                "members have answered: only the texts of the questions can change now",
                code="survey_has_responses",
            )
        changes["questions"] = questions
    if patch.status is not None:
        if patch.status == "draft" and answered:
            raise Conflict(
                "an answered survey cannot go back to draft", code="survey_has_responses"
            )
        changes["status"] = patch.status
    if patch.in_wallet is not None:
        changes["in_wallet"] = patch.in_wallet
    for name in ("opens_at", "closes_at"):
        if name in sent:
            changes[name] = _stored_time(getattr(patch, name), name)
    _check_dates(changes.get("opens_at", row.opens_at), changes.get("closes_at", row.closes_at))
    if changes:
        store.update_survey(conn, business_id, survey_id, **changes)


def answer(
    conn: Connection,
    business_id: int,
    survey_id: int,
    member_id: int,
    answers: dict[str, object],
    channel: str,
    now: datetime,
    *,
    by: Principal | None = None,
) -> ResponseOut:
    """Records the member's one answer and awards what the program's `survey_answered` rules
    give, in the caller's transaction: the bonus comes with the answer or not at all."""
    survey = get(conn, business_id, survey_id)
    state = availability(survey, now)
    if state != "open":
        raise Conflict(
            CLOSED_MESSAGES[state], code="survey_closed", details={"availability": state}
        )
    member = members.get(conn, business_id, member_id)
    if member.status != "active":
        raise Conflict("this member's card is not active", code="member_not_active")
    if store.response(conn, business_id, survey_id, member_id) is not None:
        raise Conflict("this member has already answered", code="survey_already_answered")
    clean, problems = model.check_answers(survey.questions, answers)
    if problems:
        first = problems[0]
        where = f"question {first.question!r}: " if first.question else ""
        raise Invalid(
            f"{where}{first.message}",
            code="survey_answer_invalid",
            details=[p.as_dict() for p in problems],
        )
    nps = model.nps_of(survey.questions, clean)
    if not store.add_response(
        conn,
        business_id=business_id,
        survey_id=survey_id,
        member_id=member_id,
        answers=clean,
        nps=nps,
        channel=channel,
        created_at=naive_utc(now),
    ):
        # Another answer of the same member won the race between the check above and here.
        raise Conflict("this member has already answered", code="survey_already_answered")
    row = store.response(conn, business_id, survey_id, member_id)
    properties = {"survey_id": survey_id, "response_id": row.id, "channel": channel}
    event = EventIn(
        event_id=f"survey-{survey_id}-{member_id}",
        name="survey_answered",
        member_id=member_id,
        properties=properties | ({"nps": nps} if nps is not None else {}),
        occurred_at=now,
    )
    # The member is named by id, so no card token is read and no secret is needed.
    _, earned = events.record(
        conn, by or Principal(business_id, Role.owner), event, secret_key="", now=now
    )
    emit(
        conn,
        business_id,
        "survey.answered",
        {
            "survey_id": survey_id,
            "response_id": row.id,
            "member_id": member_id,
            "channel": channel,
            "answers": clean,
            "nps": nps,
            "awards": earned["awards"],
        },
        now,
    )
    return ResponseOut(
        id=row.id,
        survey_id=survey_id,
        member_id=member_id,
        channel=channel,
        answers=clean,
        awards=[AwardOut.model_validate(a) for a in earned["awards"]],
        balances=earned["balances"],
        created_at=as_utc(row.created_at),
    )


def _question_result(question: dict[str, Any], t: model.QuestionTally) -> QuestionResult:
    result = QuestionResult(
        id=t.id, kind=t.kind, text=question["text"], answered=t.answered, average=t.average
    )
    if t.kind in ("rating", "nps"):
        result.distribution = t.counts
    elif t.kind == "choice":
        result.average = None  # the mean of option positions means nothing
        result.options = [
            OptionCount(text=o, count=n) for o, n in zip(question["options"], t.counts, strict=True)
        ]
    else:
        result.comments = [Comment(member_id=m, text=x, at=as_utc(at)) for m, x, at in t.comments]
    return result


def results(conn: Connection, business_id: int, survey_id: int) -> ResultsOut:
    survey = get(conn, business_id, survey_id)
    questions = survey.questions
    tallies = model.tally(questions, store.answers_newest_first(conn, business_id, survey_id))
    nps_question = next((q for q in questions if q["kind"] == "nps"), None)
    nps = None
    if nps_question is not None:
        score = model.nps(store.nps_counts(conn, business_id, survey_id))
        nps = NpsOut(question_id=nps_question["id"], **asdict(score))
    return ResultsOut(
        survey_id=survey_id,
        responses=store.response_count(conn, business_id, survey_id),
        nps=nps,
        questions=[_question_result(q, t) for q, t in zip(questions, tallies, strict=True)],
    )


def open_for_member(
    conn: Connection, business_id: int, member_id: int, now: datetime
) -> list[SurveyOut]:
    """Open surveys offered in the wallet that the member has not answered yet."""
    rows = store.open_unanswered(conn, business_id, member_id, naive_utc(now), in_wallet=True)
    counts = store.response_counts(conn, business_id) if rows else {}
    return [out(r, counts.get(r.id, 0), now) for r in rows]
