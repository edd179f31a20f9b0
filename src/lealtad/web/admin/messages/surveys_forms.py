"""The survey builder's form: a title and up to ten questions in Spanish and English, each of a
kind the survey service knows (0-10 recommendation, 1-5 rating, one choice among options, free
text), whether members are offered it in the wallet, and when it opens and closes. Read into
the API's own SurveyIn; errors named by the question and field."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from lealtad.errors import LealtadError
from lealtad.surveys import model
from lealtad.surveys.schemas import SurveyIn
from lealtad.web.admin.program.fields import (
    FieldError,
    Fields,
    Translate,
    explain,
    local_text,
    parse_local,
)
from lealtad.web.refusals import said

Values = dict[str, list[str]]
SLOTS = 3  # empty questions shown on a new survey
DEFAULTS: Values = {
    "q1_kind": ["nps"],
    "q2_kind": ["rating"],
    "q3_kind": ["text"],
    "start": ["open"],
}


def kinds(_: Translate) -> list[tuple[str, str]]:
    return [
        ("nps", _("Would they recommend you? (0 to 10)")),
        ("rating", _("A rating from 1 to 5")),
        ("choice", _("One choice among options")),
        ("text", _("Their own words")),
    ]


def labels(_: Translate) -> dict[str, str]:
    return {
        "name": _("Name (for you, members do not see it)"),
        "title_es": _("Title in Spanish"),
        "title_en": _("Title in English"),
        "opens_at": _("Opens on"),
        "closes_at": _("Closes on"),
    }


QUESTION_FIELDS = ("kind", "text_es", "text_en", "options_es", "options_en")


def question_label(_: Translate, slot: int, field: str) -> str:
    what = {
        "kind": _("kind"),
        "text_es": _("question in Spanish"),
        "text_en": _("question in English"),
        "options_es": _("options in Spanish"),
        "options_en": _("options in English"),
    }.get(field, field)
    return _("Question {n}, {field}").format(n=slot, field=what)


def all_labels(_: Translate) -> dict[str, str]:
    """Every field's label, for the error summary."""
    found = labels(_)
    for n in range(1, model.MAX_QUESTIONS + 1):
        found |= {f"q{n}_{field}": question_label(_, n, field) for field in QUESTION_FIELDS}
    return found


def slots(values: Values, *, more: bool = False) -> int:
    """How many question blocks the form shows: the last one written in and one more, at least
    three, at most the survey's limit. A kind chosen alone does not count as written. `more`:
    one block beyond those the form showed, whatever is written in them."""
    written = [
        int(name[1:].split("_")[0])
        for name, found in values.items()
        if name.startswith("q")
        and name[1:].split("_")[0].isdigit()
        and name.endswith(("text_es", "text_en", "options_es", "options_en"))
        and any(v.strip() for v in found)
    ]
    if more:
        written += [
            int(k[1:-5])
            for k in values
            if k.startswith("q") and k.endswith("_kind") and k[1:-5].isdigit()
        ]
    return min(max([SLOTS, *(n + 1 for n in written)]), model.MAX_QUESTIONS)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _question(
    f: Fields, slot: int, number: int, errors: list[FieldError], _: Translate
) -> dict[str, Any] | None:
    """The question in block `slot` as the survey's `number`-th, or None for an empty block."""
    p = f"q{slot}_"
    es, en = f.get(p + "text_es"), f.get(p + "text_en")
    kind = f.get(p + "kind")
    if not es and not en:
        return None
    question: dict[str, Any] = {
        "id": f"q{number}",
        "kind": kind,
        "text": {"es": es, "en": en},
        "required": not f.on(p + "optional"),
    }
    if kind == "choice":
        spanish, english = _lines(f.raw(p + "options_es")), _lines(f.raw(p + "options_en"))
        if not 2 <= len(spanish) <= model.MAX_OPTIONS:
            errors.append((p + "options_es", _("Write 2 to 20 options, one a line.")))
        elif len(spanish) != len(english):
            errors.append((p + "options_en", _("Write as many options in English as in Spanish.")))
        question["options"] = [{"es": s, "en": e} for s, e in zip(spanish, english, strict=False)]
    return question


def read(f: Fields, zone: str, _: Translate) -> tuple[SurveyIn | None, list[FieldError]]:
    errors: list[FieldError] = []
    questions: list[dict[str, Any]] = []
    where: list[int] = []
    for slot in range(1, model.MAX_QUESTIONS + 1):
        found = _question(f, slot, len(questions) + 1, errors, _)
        if found is not None:
            questions.append(found)
            where.append(slot)
    if not questions:
        errors.append(("q1_text_es", _("Write at least one question.")))
    nps = [slot for slot, q in zip(where, questions, strict=True) if q["kind"] == "nps"]
    for slot in nps[1:]:
        errors.append((f"q{slot}_kind", _("Only one question can ask for a 0 to 10 score.")))
    times: dict[str, datetime | None] = {}
    for name in ("opens_at", "closes_at"):
        text = f.get(name)
        times[name] = parse_local(text, zone) if text else None
        if text and times[name] is None:
            errors.append((name, _("is not a valid date and time")))
    data = {
        "name": f.get("name"),
        "title": {"es": f.get("title_es"), "en": f.get("title_en")},
        "questions": questions,
        "status": "open" if f.get("start") == "open" else "draft",
        "in_wallet": f.on("in_wallet"),
        "opens_at": times["opens_at"].isoformat() if times["opens_at"] else None,
        "closes_at": times["closes_at"].isoformat() if times["closes_at"] else None,
    }
    if errors:
        return None, errors
    try:
        return SurveyIn.model_validate(data), []
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            errors.append((_field(error["loc"], where), explain(error, _)))
        return None, errors


def _field(loc: tuple[Any, ...], where: list[int]) -> str:
    """A validation error's place as the form's field name (questions.1.text.es -> q2_text_es)."""
    if loc and loc[0] == "title" and len(loc) > 1:
        return f"title_{loc[1]}"
    if len(loc) > 1 and loc[0] == "questions" and isinstance(loc[1], int) and loc[1] < len(where):
        slot = where[loc[1]]
        rest = [str(p) for p in loc[2:] if not isinstance(p, int)]
        if rest[:1] == ["options"]:
            return f"q{slot}_options_{rest[-1] if rest[-1] in ('es', 'en') else 'es'}"
        if rest[:1] == ["text"] and len(rest) > 1:
            return f"q{slot}_text_{rest[1]}"
        return f"q{slot}_{rest[0] if rest else 'kind'}"
    return str(loc[0]) if loc else ""


def values_of(row: Any, zone: str) -> Values:
    """A stored survey as the builder's fields, for editing it."""
    values: Values = {
        "name": [row.name],
        "title_es": [row.title.get("es", "")],
        "title_en": [row.title.get("en", "")],
        "opens_at": [local_text(row.opens_at, zone)],
        "closes_at": [local_text(row.closes_at, zone)],
        "start": ["draft" if row.status == "draft" else "open"],
    }
    if row.in_wallet:
        values["in_wallet"] = ["on"]
    for n, question in enumerate(row.questions, start=1):
        p = f"q{n}_"
        values[p + "kind"] = [question["kind"]]
        values[p + "text_es"] = [question["text"].get("es", "")]
        values[p + "text_en"] = [question["text"].get("en", "")]
        options = question.get("options") or []
        values[p + "options_es"] = ["\n".join(o.get("es", "") for o in options)]
        values[p + "options_en"] = ["\n".join(o.get("en", "") for o in options)]
        if not question.get("required", True):
            values[p + "optional"] = ["on"]
    return values


def refusal(exc: LealtadError, _: Translate) -> list[FieldError]:
    """The survey service's refusal of a save, on the field it is about, in the page's words."""
    where = {"survey_dates": "closes_at", "survey_has_responses": "q1_kind"}.get(exc.code, "")
    known = {
        "survey_dates": _("It must close after it opens."),
        "survey_has_responses": _(
            "Members have answered it: questions cannot be added, removed or change kind."
        ),
    }
    return [(where, known.get(exc.code) or said(exc, _))]
