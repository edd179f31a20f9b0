"""The program editor's forms: each part (a rule, a stamp card, the tiers, cashback, the points
policy, the whole definition as JSON) filled in from the latest version. Reading them back is
admin_program_drafts."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from lealtad.web.admin.program.fields import money_text

PARTS = ("rule", "remove", "stamps", "tiers", "cashback", "points", "json")
RULE_KINDS = ("points_per_unit", "fixed_points", "multiplier")
TRIGGERS = (
    "purchase",
    "enrolment",
    "birthday",
    "anniversary",
    "referral",
    "profile_completed",
    "survey_answered",
    "review_written",
    "training_hours",
)
MAX_LEVELS = 50
WEEKDAYS = {str(d) for d in range(7)}
Values = dict[str, list[str]]


def plain(value: Decimal) -> str:
    """A Decimal without exponent notation or trailing zeros (10, not 1E+1)."""
    return format(value.normalize(), "f")


def split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def index_of(items: list[Any], key: str, value: str) -> int | None:
    return next(
        (i for i, x in enumerate(items) if isinstance(x, dict) and x.get(key) == value), None
    )


def action_type(rule: Any) -> str:
    action = rule.get("action") if isinstance(rule, dict) else None
    return str(action.get("type", "")) if isinstance(action, dict) else ""


def structured(rule: dict[str, Any]) -> bool:
    """Whether the rule form can edit this rule without losing anything it shows."""
    return action_type(rule) in RULE_KINDS and rule.get("trigger", "purchase") in TRIGGERS


# Showing a part of the latest version in its form.


def values_for(part: str, base: dict[str, Any], key: str, kind: str, exponent: int) -> Values:
    if part == "json":
        return {"definition": [json.dumps(base, indent=2, ensure_ascii=False)]}
    if part == "remove":
        return {"rule_original": [key]}
    if part == "rule":
        rules = base.get("rules", [])
        found = index_of(rules, "id", key) if key else None
        if found is None:
            return {"kind": [kind if kind in RULE_KINDS else "points_per_unit"]}
        return _rule_values(rules[found], exponent)
    if part == "stamps":
        return _stamp_values(base, key, exponent)
    if part == "tiers":
        return _tier_values(base.get("tiers"), exponent)
    if part == "cashback":
        rules = base.get("rules", [])
        found = next((r for r in rules if action_type(r) == "cashback_percent"), None)
        minimum = (base.get("cashback") or {}).get("redemption_minimum", 0)
        return {
            "cashback_percent": [str(found["action"]["percent"]) if found else ""],
            "cashback_minimum": [money_text(minimum, exponent) if minimum else ""],
        }
    points = base.get("points") or {}
    value = Decimal(str(points.get("value_per_point", 0)))
    return {
        "program_name": [str(base.get("name", ""))],
        "program_title_es": [str((base.get("title") or {}).get("es", ""))],
        "program_title_en": [str((base.get("title") or {}).get("en", ""))],
        "expiry": [str(points.get("expiry", "never"))],
        "expiry_days": [str(points.get("expiry_days") or "")],
        "expiry_months": [str(points.get("expiry_months") or "")],
        "pending_days": [str(points.get("pending_days", 0))],
        "value_per_point": [plain(value.scaleb(-exponent)) if value else ""],
    }


def _conditions_values(c: dict[str, Any], exponent: int) -> Values:
    items = c.get("items") or {}
    window = c.get("time_window") or {}
    dates = c.get("date_range") or {}
    minimum = c.get("min_amount")
    return {
        "min_amount": [money_text(minimum, exponent) if minimum is not None else ""],
        "categories": [", ".join(items.get("categories", []))],
        "skus": [", ".join(items.get("skus", []))],
        "weekdays": [str(d) for d in c.get("weekdays", [])],
        "time_start": [str(window.get("start", ""))[:5]],
        "time_end": [str(window.get("end", ""))[:5]],
        "date_start": [str(dates.get("start") or "")],
        "date_end": [str(dates.get("end") or "")],
        "locations": [str(i) for i in c.get("locations", [])],
        "tiers": list(c.get("tiers", [])),
    }


def _rule_values(rule: dict[str, Any], exponent: int) -> Values:
    action = rule.get("action") or {}
    caps = rule.get("caps") or []
    title = rule.get("title") or {}
    values: Values = {
        "rule_original": [rule["id"]],
        "rule_id": [rule["id"]],
        "rule_name": [rule.get("name", "")],
        "rule_title_es": [str(title.get("es", ""))],
        "rule_title_en": [str(title.get("en", ""))],
        "kind": [action.get("type", "")],
        "trigger": [rule.get("trigger", "purchase")],
        "rate": [str(action.get("rate", ""))],
        "rounding": [action.get("rounding", "floor")],
        "per_item": ["on"] if action.get("per_item") else [],
        "per": [action.get("per", "unit")],
        "event_property": [str(action.get("event_property") or "")],
        "points": [str(action.get("points", ""))],
        "factor": [str(action.get("factor", ""))],
        "cap_period": [caps[0]["period"] if caps else "day"],
        "cap_max": [str(caps[0]["max_units"]) if caps else ""],
    }
    return values | _conditions_values(rule.get("conditions") or {}, exponent)


def _stamp_rule(rules: list[Any], card: str) -> dict[str, Any] | None:
    for rule in rules:
        if action_type(rule) == "stamps" and rule["action"].get("card") == card:
            return dict(rule)
    return None


def _stamp_values(base: dict[str, Any], key: str, exponent: int) -> Values:
    cards = base.get("stamp_cards", [])
    found = index_of(cards, "id", key) if key else None
    if found is None:
        return {"earn": ["per_item"], "stamps_per": ["1"]}
    card = cards[found]
    rule = _stamp_rule(base.get("rules", []), card["id"]) or {}
    action = rule.get("action") or {}
    c = _conditions_values(rule.get("conditions") or {}, exponent)
    title = card.get("title") or {}
    return {
        "card_original": [card["id"]],
        "card_id": [card["id"]],
        "card_name": [card["name"]],
        "card_title_es": [str(title.get("es", ""))],
        "card_title_en": [str(title.get("en", ""))],
        "stamps_required": [str(card["stamps_required"])],
        "card_reward": [card["reward"]],
        "earn": [earn_of(c, bool(action.get("per_item")))],
        "stamp_min_amount": c["min_amount"],
        "stamp_categories": c["categories"],
        "stamp_skus": c["skus"],
        "stamps_per": [str(action.get("stamps", 1))],
    }


# How a card earns, as one choice: the form sets the rule's condition and its action together.
EARN_MODES = ("per_item", "visit", "visit_items", "min_amount")


def earn_of(conditions: Values, per_item: bool) -> str:
    if conditions["min_amount"][0]:
        return "min_amount"
    if conditions["categories"][0] or conditions["skus"][0]:
        return "per_item" if per_item else "visit_items"
    return "visit"


def _tier_values(policy: dict[str, Any] | None, exponent: int) -> Values:
    policy = policy or {}
    window = policy.get("window") or {}
    metric = policy.get("metric", "spend")
    values: Values = {
        "tier_metric": [metric],
        "tier_custom_event": [policy.get("custom_event") or ""],
        "tier_window_kind": [window.get("kind", "rolling")],
        "tier_window_days": [str(window.get("days", 365))],
        "tier_window_period": [window.get("period", "year")],
        "tier_grace_days": [str(policy.get("grace_days", 30))],
        "tier_crossing": [policy.get("crossing_purchase_earns_at", "previous_tier")],
    }
    for i, level in enumerate(policy.get("levels", [])):
        threshold = Decimal(str(level.get("threshold", 0)))
        shown = (
            money_text(int(threshold), exponent)
            if metric == "spend" and threshold == threshold.to_integral_value()
            else str(threshold)
        )
        values |= {
            f"level-{i}-id": [level["id"]],
            f"level-{i}-name": [level["name"]],
            f"level-{i}-threshold": [shown],
            f"level-{i}-multiplier": [str(level.get("multiplier", 1))],
            f"level-{i}-perks": ["; ".join(level.get("perks", []))],
        }
    return values


def level_rows(values: Values) -> int:
    """How many tier rows to draw: those filled in and two blank ones for new tiers."""
    used = [i for i in range(MAX_LEVELS) if any(v for v in values.get(f"level-{i}-name", []))]
    return min(MAX_LEVELS, (max(used) + 1 if used else 0) + 2)
