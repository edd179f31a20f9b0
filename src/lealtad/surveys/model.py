"""Survey policy without a database: what a well-formed survey is, which answers it accepts,
whether it is open, and how answers add up to results (NPS, averages, counts).

Questions are plain mappings here, the shape stored in the `surveys.questions` JSON column, so the
same functions serve the API models, the stored rows and the member's form."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeGuard

KINDS = ("nps", "rating", "choice", "text")
STATUSES = ("draft", "open", "closed")
MAX_QUESTIONS = 10
MAX_TEXT = 1000
MAX_OPTIONS = 20
RATING_RANGE = range(1, 6)
NPS_RANGE = range(0, 11)
COMMENTS_SHOWN = 20

Availability = Literal["open", "draft", "not_yet_open", "closed"]
Band = Literal["detractor", "passive", "promoter"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a survey or an answer; `question` is None for the survey as a whole."""

    question: str | None
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"question": self.question, "code": self.code, "message": self.message}


def survey_problems(questions: Sequence[Mapping[str, Any]]) -> list[Problem]:
    """The rules that span questions; each question's own fields are checked by its schema."""
    problems = []
    if not 1 <= len(questions) <= MAX_QUESTIONS:
        problems.append(
            Problem(None, "question_count", f"a survey has 1 to {MAX_QUESTIONS} questions")
        )
    ids = [q["id"] for q in questions]
    for duplicate in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(Problem(duplicate, "duplicate_question", "question ids must be unique"))
    if sum(q["kind"] == "nps" for q in questions) > 1:
        problems.append(Problem(None, "nps_count", "a survey has at most one NPS question"))
    for q in questions:
        options = q.get("options") or []
        if q["kind"] == "choice" and not 2 <= len(options) <= MAX_OPTIONS:
            problems.append(
                Problem(q["id"], "choice_options", f"a choice has 2 to {MAX_OPTIONS} options")
            )
        if q["kind"] != "choice" and options:
            problems.append(Problem(q["id"], "options_not_allowed", "only a choice has options"))
    return problems


def shape(questions: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, int]]:
    """What answers depend on: ids, kinds and option counts. Texts may change after answers
    arrive (a typo, a better translation); the shape may not, or old answers would lose meaning."""
    return [(q["id"], q["kind"], len(q.get("options") or [])) for q in questions]


def availability(
    status: str, opens_at: datetime | None, closes_at: datetime | None, now: datetime
) -> Availability:
    """Times are compared as given, so callers pass all three in the same form (naive UTC)."""
    if status == "draft":
        return "draft"
    if status == "closed" or (closes_at is not None and now >= closes_at):
        return "closed"
    if opens_at is not None and now < opens_at:
        return "not_yet_open"
    return "open"


def _is_int(value: object) -> TypeGuard[int]:
    # JSON true/false arrive as bool, which Python counts as int; a score is never a boolean.
    return isinstance(value, int) and not isinstance(value, bool)


def _value_problem(question: Mapping[str, Any], value: object) -> str | None:
    kind = question["kind"]
    if kind == "text":
        # A NUL character is refused: PostgreSQL cannot keep it in text, SQLite can.
        if isinstance(value, str) and len(value) <= MAX_TEXT and "\x00" not in value:
            return None
        return f"a text answer is at most {MAX_TEXT} characters, without NUL characters"
    count = len(question.get("options") or [])
    allowed = {"nps": NPS_RANGE, "rating": RATING_RANGE}.get(kind, range(count))
    if _is_int(value) and value in allowed:
        return None
    return {
        "nps": "an NPS answer is a whole number from 0 to 10",
        "rating": "a rating is a whole number from 1 to 5",
    }.get(kind, f"a choice is the number of one option, 0 to {count - 1}")


def check_answers(
    questions: Sequence[Mapping[str, Any]], answers: Mapping[str, object]
) -> tuple[dict[str, int | str], list[Problem]]:
    """(clean answers in question order, problems). Blank text counts as not answered."""
    known = {q["id"] for q in questions}
    problems = [
        Problem(str(key)[:50], "unknown_question", "this survey has no such question")
        for key in answers
        if key not in known
    ]
    clean: dict[str, int | str] = {}
    for q in questions:
        value = answers.get(q["id"])
        if isinstance(value, str) and q["kind"] == "text":
            value = value.strip()
        if value is None or value == "":
            if q.get("required", True):
                problems.append(Problem(q["id"], "required", "this question needs an answer"))
            continue
        message = _value_problem(q, value)
        if message is None and isinstance(value, int | str):
            clean[q["id"]] = value
        else:
            problems.append(Problem(q["id"], "out_of_range", message or "not a valid answer"))
    return clean, problems


def from_form(questions: Sequence[Mapping[str, Any]], form: Mapping[str, str]) -> dict[str, object]:
    """A browser form sends every value as text; numbers become numbers, anything else stays
    text so that `check_answers` refuses it with the question's own message."""
    answers: dict[str, object] = {}
    for q in questions:
        raw = form.get(q["id"])
        if raw is None:
            continue
        if q["kind"] == "text":
            answers[q["id"]] = raw
        elif raw.strip():
            text = raw.strip()
            answers[q["id"]] = int(text) if text.isdecimal() and len(text) <= 3 else text
    return answers


def nps_of(questions: Sequence[Mapping[str, Any]], answers: Mapping[str, object]) -> int | None:
    for q in questions:
        if q["kind"] == "nps":
            value = answers.get(q["id"])
            return value if _is_int(value) else None
    return None


def band(score: int) -> Band:
    if score >= 9:
        return "promoter"
    if score >= 7:
        return "passive"
    return "detractor"


@dataclass(frozen=True)
class Nps:
    answered: int
    promoters: int
    passives: int
    detractors: int
    # %promoters - %detractors, -100 to 100, one decimal; None before the first answer.
    score: float | None
    distribution: list[int]


def nps(counts: Mapping[int, int]) -> Nps:
    """From how many answered each score 0-10."""
    distribution = [int(counts.get(s, 0)) for s in NPS_RANGE]
    answered = sum(distribution)
    by_band = {"promoter": 0, "passive": 0, "detractor": 0}
    for s, n in enumerate(distribution):
        by_band[band(s)] += n
    score = None
    if answered:
        score = round(100 * (by_band["promoter"] - by_band["detractor"]) / answered, 1)
    return Nps(
        answered, by_band["promoter"], by_band["passive"], by_band["detractor"], score, distribution
    )


@dataclass
class QuestionTally:
    id: str
    kind: str
    answered: int = 0
    total: int = 0
    # rating: answers per 1-5; choice: answers per option
    counts: list[int] = field(default_factory=list)
    # text: (member id, text, when), newest first
    comments: list[tuple[int, str, datetime]] = field(default_factory=list)

    @property
    def average(self) -> float | None:
        return round(self.total / self.answered, 2) if self.answered else None


def tally(
    questions: Sequence[Mapping[str, Any]],
    responses: Iterable[tuple[int, Mapping[str, object], datetime]],
    comments_shown: int = COMMENTS_SHOWN,
) -> list[QuestionTally]:
    """One pass over (member id, answers, when), newest first, so the comments kept are the
    latest. Answers were checked when given; a value that no longer fits (an option removed
    before any answers existed cannot happen, but a hand-edited row can) is skipped."""
    tallies = []
    for q in questions:
        size = {"rating": 5, "choice": len(q.get("options") or []), "nps": 11}.get(q["kind"], 0)
        tallies.append(QuestionTally(q["id"], q["kind"], counts=[0] * size))
    for member_id, answers, at in responses:
        for t in tallies:
            value = answers.get(t.id)
            if t.kind == "text":
                if isinstance(value, str) and value and len(t.comments) < comments_shown:
                    t.comments.append((member_id, value, at))
                if isinstance(value, str) and value:
                    t.answered += 1
                continue
            if not _is_int(value):
                continue
            index = value - 1 if t.kind == "rating" else value
            if 0 <= index < len(t.counts):
                t.counts[index] += 1
                t.answered += 1
                t.total += value
    return tallies
