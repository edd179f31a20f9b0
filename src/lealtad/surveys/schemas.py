"""Survey I/O: what a manager writes, what an integrator sends for a member, what comes back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator

from lealtad.kit.dates import IsoDateTime
from lealtad.kit.ids import MAX_ID
from lealtad.purchases.schemas import AwardOut
from lealtad.surveys import model

QuestionId = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9](?:[a-z0-9_-]{0,38}[a-z0-9])?$",
        description="a slug, unique in the survey: the key of its answer",
    ),
]
Kind = Literal["nps", "rating", "choice", "text"]
Status = Literal["draft", "open", "closed"]


# PostgreSQL refuses a NUL character in text where SQLite keeps it; refusing it here gives both
# databases the same answer.
NO_NUL = r"^[^\x00]*$"


class Texts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    es: str = Field(min_length=1, max_length=500, pattern=NO_NUL)
    en: str = Field(min_length=1, max_length=500, pattern=NO_NUL)


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: QuestionId
    kind: Kind = Field(description="nps (0-10), rating (1-5), choice (one option), text")
    text: Texts
    required: bool = True
    options: list[Texts] = Field(
        default_factory=list, max_length=model.MAX_OPTIONS, description="choice only: 2 to 20"
    )


def _checked(questions: list[Question]) -> list[Question]:
    problems = model.survey_problems([q.model_dump() for q in questions])
    if problems:
        raise ValueError("; ".join(f"{p.question or 'survey'}: {p.message}" for p in problems))
    return questions


Questions = Annotated[list[Question], Field(min_length=1, max_length=model.MAX_QUESTIONS)]


class SurveyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1, max_length=200, pattern=NO_NUL, description="for the business, not shown"
    )
    title: Texts
    questions: Questions
    status: Status = "draft"
    in_wallet: bool = Field(default=False, description="offered in the member wallet")
    opens_at: IsoDateTime | None = None
    closes_at: IsoDateTime | None = None

    @field_validator("questions")
    @classmethod
    def _questions(cls, value: list[Question]) -> list[Question]:
        return _checked(value)


class SurveyPatch(BaseModel):
    """Only the fields sent change. Question texts may change at any time; adding, removing or
    retyping questions only while nobody has answered."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=NO_NUL)
    title: Texts | None = None
    questions: Questions | None = None
    status: Status | None = None
    in_wallet: bool | None = None
    opens_at: IsoDateTime | None = None
    closes_at: IsoDateTime | None = None

    @field_validator("name", "title", "questions", "status", "in_wallet", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Absent means "keep"; an explicit null would mean "erase", which these cannot be.
        if value is None:
            raise ValueError("cannot be null; leave the field out to keep it")
        return value

    @field_validator("questions")
    @classmethod
    def _questions(cls, value: list[Question] | None) -> list[Question] | None:
        return None if value is None else _checked(value)


class SurveyOut(BaseModel):
    id: int
    name: str
    title: dict[str, str]
    questions: list[dict[str, Any]]
    status: str
    availability: str = Field(description="open, draft, not_yet_open or closed, as of now")
    in_wallet: bool
    opens_at: datetime | None
    closes_at: datetime | None
    responses: int
    created_at: datetime


Answer = Annotated[StrictInt | StrictStr, Field(union_mode="left_to_right")]


class ResponseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: int = Field(ge=1, le=MAX_ID)
    answers: dict[Annotated[str, Field(max_length=50)], Answer] = Field(
        max_length=model.MAX_QUESTIONS * 2,
        description="question id -> a number (nps 0-10, rating 1-5, choice: the option's "
        "position from 0) or a text (at most 1,000 characters)",
    )


class ResponseOut(BaseModel):
    id: int
    survey_id: int
    member_id: int
    channel: str
    answers: dict[str, int | str]
    awards: list[AwardOut]
    balances: dict[str, int]
    created_at: datetime


class NpsOut(BaseModel):
    question_id: str
    answered: int
    promoters: int
    passives: int
    detractors: int
    score: float | None = Field(description="% promoters (9-10) - % detractors (0-6)")
    distribution: list[int] = Field(description="how many answered 0, 1, ... 10")


class OptionCount(BaseModel):
    text: dict[str, str]
    count: int


class Comment(BaseModel):
    member_id: int
    text: str
    at: datetime


class QuestionResult(BaseModel):
    id: str
    kind: str
    text: dict[str, str]
    answered: int
    average: float | None = None
    distribution: list[int] | None = Field(
        default=None, description="rating: how many gave 1, 2, ... 5"
    )
    options: list[OptionCount] | None = None
    comments: list[Comment] | None = Field(default=None, description="the latest, newest first")


class ResultsOut(BaseModel):
    survey_id: int
    responses: int
    nps: NpsOut | None
    questions: list[QuestionResult]
