"""The experiment form of the console: a control and up to four variants with their weights,
read into the API's own ExperimentIn, its errors named by the form's fields."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from lealtad.analytics.experiments import ExperimentIn
from lealtad.web.admin.program.fields import FieldError, Translate, parse_local, validation_errors

MAX_ARMS = 5
Values = dict[str, list[str]]
NEW_DEFAULTS: Values = {
    "arm_1": ["control"],
    "weight_1": ["1"],
    "arm_2": ["variant"],
    "weight_2": ["1"],
}


def experiment_from(
    form: Any, business: Any, _: Translate
) -> tuple[ExperimentIn | None, list[FieldError]]:
    """The posted form as an ExperimentIn, or the errors named by the path of their field."""
    errors: list[FieldError] = []
    arms, rows = [], []
    for n in range(1, MAX_ARMS + 1):
        name, weight = form.get(f"arm_{n}"), form.get(f"weight_{n}")
        if name:
            arms.append({"name": name, "weight": weight or "1"})
            rows.append(n)
    body: dict[str, Any] = {
        "slug": form.get("slug"),
        "name": form.get("name"),
        "hypothesis": form.get("hypothesis"),
        "arms": arms,
    }
    for field in ("starts_at", "ends_at"):
        text = form.get(field)
        if text:
            when = parse_local(text, business.timezone)
            if when is None:
                errors.append((field, _("is not a valid date or time")))
            body[field] = when
    try:
        data = ExperimentIn.model_validate(body)
    except ValidationError as exc:
        found = validation_errors(exc, body, _, whole="ends_at")
        # Empty rows are skipped, so the n-th arm sent may sit on a later row of the form.
        for k, n in reversed(list(enumerate(rows, 1))):
            found = [(p.replace(f"arms.#{k}.", f"arms.#{n}."), m) for p, m in found]
        return None, errors + found
    return (data, []) if not errors else (None, errors)
