"""The rewards editor's forms: a new reward (every field of RewardIn, both languages) and a change
(what RewardPatch allows), read from the posted fields and validated by those same models; the
errors are named by their field."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from lealtad.kit.money import minor_exponent
from lealtad.rewards.schemas import RewardIn, RewardPatch
from lealtad.web.admin.program.fields import (
    FieldError,
    Fields,
    Translate,
    local_text,
    parse_local,
    parse_money,
    validation_errors,
)

Values = dict[str, list[str]]
NEW_DEFAULTS: Values = {
    "kind": ["discount_fixed"],
    "cost_unit": ["points"],
    "voucher_days": ["30"],
    "on_expiry": ["lapse"],
    "limit_period": ["lifetime"],
    "active": ["on"],
}


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _when(f: Fields, name: str, zone: str, errors: list[FieldError], _: Translate) -> str | None:
    text = f.get(name)
    if not text:
        return None
    at = parse_local(text, zone)
    if at is None:
        errors.append((name, _("is not a valid date and time")))
        return None
    return at.isoformat()


def _texts(f: Fields, name: str) -> dict[str, str]:
    return {"es": f.get(f"{name}_es"), "en": f.get(f"{name}_en")}


def new_reward(f: Fields, business: Any, _: Translate) -> tuple[RewardIn | None, list[FieldError]]:
    errors: list[FieldError] = []
    kind = f.get("kind")
    value_text = f.get("value")
    value: int | str | None = 0
    if value_text:
        if kind == "discount_percent":
            value = value_text
        else:
            value = parse_money(value_text, minor_exponent(business.currency))
            if value is None:
                errors.append(("value", _("must be an amount such as 10.50")))
    doc = {
        "slug": f.get("slug"),
        "kind": kind,
        "title": _texts(f, "title"),
        "description": _texts(f, "description"),
        "cost_unit": f.get("cost_unit") or "points",
        "cost": f.get("cost"),
        "value": value or 0,
        "sku": f.get("sku") or None,
        "stock": f.get("stock") or None,
        "valid_from": _when(f, "valid_from", business.timezone, errors, _),
        "valid_until": _when(f, "valid_until", business.timezone, errors, _),
        "limit_per_member": f.get("limit_per_member") or None,
        "limit_period": f.get("limit_period") or "lifetime",
        "visible_tiers": _split(f.get("visible_tiers")),
        "visible_segments": _split(f.get("visible_segments")),
        "featured": f.on("featured"),
        "image_url": f.get("image_url") or None,
        "voucher_days": f.get("voucher_days") or "0",
        "on_expiry": f.get("on_expiry") or "lapse",
        "cause_id": f.get("cause_id") or None,
        "active": f.on("active"),
    }
    if errors:
        return None, errors
    try:
        return RewardIn.model_validate(doc), []
    except ValidationError as exc:
        return None, validation_errors(exc, doc, _, _("the reward"))


def patch_from(
    f: Fields, business: Any, _: Translate
) -> tuple[RewardPatch | None, list[FieldError]]:
    errors: list[FieldError] = []
    doc = {
        "title": _texts(f, "title"),
        "description": _texts(f, "description"),
        "cost": f.get("cost"),
        "stock": f.get("stock") or None,
        "valid_until": _when(f, "valid_until", business.timezone, errors, _),
        "featured": f.on("featured"),
        "active": f.on("active"),
        "image_url": f.get("image_url") or None,
    }
    if errors:
        return None, errors
    try:
        return RewardPatch.model_validate(doc), []
    except ValidationError as exc:
        return None, validation_errors(exc, doc, _, _("the reward"))


def values_of(row: Any, zone: str) -> Values:
    return {
        "title_es": [row.title.get("es", "")],
        "title_en": [row.title.get("en", "")],
        "description_es": [row.description.get("es", "")],
        "description_en": [row.description.get("en", "")],
        "cost": [str(row.cost)],
        "stock": ["" if row.stock is None else str(row.stock)],
        "valid_until": [local_text(row.valid_until, zone)],
        "featured": ["on"] if row.featured else [],
        "active": ["on"] if row.active else [],
        "image_url": [row.image_url or ""],
    }
