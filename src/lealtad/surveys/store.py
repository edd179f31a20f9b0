"""All SQL of surveys. Every query names the business."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, exists, func, insert, or_, select, update

from lealtad.db.inserts import insert_if_new
from lealtad.surveys.tables import survey_responses, surveys

s = surveys.c
r = survey_responses.c


def insert_survey(conn: Connection, **values: Any) -> int:
    return int(conn.execute(insert(surveys).values(**values).returning(s.id)).scalar_one())


def survey(conn: Connection, business_id: int, survey_id: int) -> Any:
    return conn.execute(
        select(surveys).where(s.business_id == business_id, s.id == survey_id)
    ).first()


def all_surveys(conn: Connection, business_id: int) -> list[Any]:
    return list(
        conn.execute(select(surveys).where(s.business_id == business_id).order_by(s.id.desc()))
    )


def update_survey(conn: Connection, business_id: int, survey_id: int, **values: Any) -> None:
    conn.execute(
        update(surveys).where(s.business_id == business_id, s.id == survey_id).values(**values)
    )


def response_counts(conn: Connection, business_id: int) -> dict[int, int]:
    rows = conn.execute(
        select(r.survey_id, func.count()).where(r.business_id == business_id).group_by(r.survey_id)
    )
    return {int(sid): int(n) for sid, n in rows}


def response_count(conn: Connection, business_id: int, survey_id: int) -> int:
    return int(
        conn.execute(
            select(func.count()).where(r.business_id == business_id, r.survey_id == survey_id)
        ).scalar_one()
    )


def add_response(conn: Connection, **values: Any) -> bool:
    """False when the member already answered: the unique index decides, so two answers racing
    each other leave exactly one row (PostgreSQL makes the second wait for the first's commit)."""
    return insert_if_new(conn, survey_responses, **values)


def response(conn: Connection, business_id: int, survey_id: int, member_id: int) -> Any:
    return conn.execute(
        select(survey_responses).where(
            r.business_id == business_id, r.survey_id == survey_id, r.member_id == member_id
        )
    ).first()


def nps_counts(conn: Connection, business_id: int, survey_id: int) -> dict[int, int]:
    rows = conn.execute(
        select(r.nps, func.count())
        .where(r.business_id == business_id, r.survey_id == survey_id, r.nps.is_not(None))
        .group_by(r.nps)
    )
    return {int(score): int(n) for score, n in rows}


def answers_newest_first(
    conn: Connection, business_id: int, survey_id: int
) -> Iterator[tuple[int, dict[str, Any], datetime]]:
    rows = conn.execution_options(yield_per=1000).execute(
        select(r.member_id, r.answers, r.created_at)
        .where(r.business_id == business_id, r.survey_id == survey_id)
        .order_by(r.id.desc())
    )
    for member_id, answers, at in rows:
        yield int(member_id), dict(answers), at


def open_unanswered(
    conn: Connection, business_id: int, member_id: int, at: datetime, *, in_wallet: bool
) -> list[Any]:
    """Open surveys (as of `at`, naive UTC) the member has not answered, oldest first."""
    answered = exists().where(
        r.business_id == business_id, r.survey_id == s.id, r.member_id == member_id
    )
    query = select(surveys).where(
        s.business_id == business_id,
        s.status == "open",
        or_(s.opens_at.is_(None), s.opens_at <= at),
        or_(s.closes_at.is_(None), s.closes_at > at),
        ~answered,
    )
    if in_wallet:
        query = query.where(s.in_wallet.is_(True))
    return list(conn.execute(query.order_by(s.id)))


def forget_free_text(conn: Connection, business_id: int, member_id: int) -> int:
    """Removes the member's written answers (the only string values: scores, ratings and
    choices are numbers), keeping the numbers so that a survey's results stay as they were.
    Returns how many answers were removed."""
    removed = 0
    rows = conn.execute(
        select(r.id, r.answers).where(r.business_id == business_id, r.member_id == member_id)
    ).all()
    for row in rows:
        kept = {key: value for key, value in row.answers.items() if not isinstance(value, str)}
        if len(kept) != len(row.answers):
            removed += len(row.answers) - len(kept)
            conn.execute(
                update(survey_responses)
                .where(r.business_id == business_id, r.id == row.id)
                .values(answers=kept)
            )
    return removed


def member_responses(conn: Connection, business_id: int, member_id: int) -> list[Any]:
    """The member's answers with their survey's title, oldest first (the data export)."""
    return list(
        conn.execute(
            select(survey_responses, s.title)
            .join(surveys, (s.id == r.survey_id) & (s.business_id == business_id))
            .where(r.business_id == business_id, r.member_id == member_id)
            .order_by(r.id)
        )
    )
