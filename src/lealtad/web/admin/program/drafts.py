"""Reading a posted part of the program editor back into a draft of the whole definition,
started from the latest version so that what the form does not show is kept. The draft is then
validated by ProgramDefinition itself: the form never accepts what the JSON API would refuse."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from lealtad.rules.definition import ProgramDefinition
from lealtad.web.admin.program.fields import (
    FieldError,
    Fields,
    Translate,
    decimal_text,
    parse_decimal,
    parse_money,
    slugify,
    validation_errors,
)
from lealtad.web.admin.program.forms import (
    EARN_MODES,
    MAX_LEVELS,
    RULE_KINDS,
    WEEKDAYS,
    action_type,
    index_of,
    plain,
    split,
)
from lealtad.web.i18n import translator


@dataclass
class Draft:
    document: Any
    definition: ProgramDefinition | None = None
    errors: list[FieldError] = field(default_factory=list)


def build(part: str, f: Fields, base: dict[str, Any], exponent: int, _: Translate) -> Draft:
    if part == "json":
        return _from_json(f.raw("definition"), _)
    doc = copy.deepcopy(base)
    builders = {
        "rule": _rule,
        "remove": _remove,
        "stamps": _stamps,
        "tiers": _tiers,
        "cashback": _cashback,
        "points": _points,
    }
    if part not in builders:
        return Draft(doc, errors=[("part", _("There is no such part of the program to edit."))])
    errors = builders[part](doc, f, exponent, _)
    return Draft(doc, errors=errors) if errors else validate(doc, _)


def validate(doc: Any, _: Translate) -> Draft:
    try:
        return Draft(doc, ProgramDefinition.model_validate(doc))
    except ValidationError as exc:
        return Draft(doc, errors=validation_errors(exc, doc, _))


def _from_json(text: str, _: Translate) -> Draft:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        problem = _("not valid JSON: {problem} at line {line}, column {column}").format(
            problem=exc.msg, line=exc.lineno, column=exc.colno
        )
        return Draft(None, errors=[("JSON", problem)])
    except RecursionError:
        return Draft(None, errors=[("JSON", _("the JSON is nested too deeply"))])
    if not isinstance(doc, dict):
        return Draft(None, errors=[("JSON", _("the definition must be a JSON object { … }"))])
    return validate(doc, _)


def _money_condition(
    c: dict[str, Any], text: str, exponent: int, where: str, _: Translate
) -> list[FieldError]:
    if not text:
        c["min_amount"] = None
        return []
    c["min_amount"] = parse_money(text, exponent)
    return [] if c["min_amount"] is not None else [(where, _("must be an amount such as 10.50"))]


def _items_condition(c: dict[str, Any], categories: str, skus: str) -> None:
    items = dict(c.get("items") or {})
    items["categories"], items["skus"] = split(categories), split(skus)
    c["items"] = items if (items["categories"] or items["skus"] or items.get("tags")) else None


def _rule(doc: dict[str, Any], f: Fields, exponent: int, _: Translate) -> list[FieldError]:
    rules = doc.setdefault("rules", [])
    original = f.get("rule_original")
    index = index_of(rules, "id", original) if original else None
    if original and index is None:
        return [(f"rules.{original}", _("This rule is no longer in the program; reload the page."))]
    rule = copy.deepcopy(rules[index]) if index is not None else {}
    taken = [r.get("id") for i, r in enumerate(rules) if i != index]
    rule["name"] = f.get("rule_name")
    _titles(rule, f, "rule_title")
    rule["id"] = f.get("rule_id") or slugify(rule["name"] or "rule", taken)
    path = f"rules.{rule['id']}"
    kind = f.get("kind")
    if kind not in RULE_KINDS:
        return [(f"{path}.action.type", _("Choose what the rule gives."))]
    old = rule.get("action") or {}
    action = dict(old) if old.get("type") == kind else {"type": kind}
    if kind == "points_per_unit":
        action |= {
            "rate": decimal_text(f.get("rate")),
            "rounding": f.get("rounding") or "floor",
            "per_item": f.on("per_item"),
        }
        # Left out at their defaults, as the stored definition leaves them out.
        action.pop("per", None)
        action.pop("event_property", None)
        if f.get("per") == "whole_unit":
            action["per"] = "whole_unit"
        if f.get("event_property"):
            action["event_property"] = f.get("event_property")
    elif kind == "fixed_points":
        action["points"] = f.get("points")
    else:
        action["factor"] = decimal_text(f.get("factor"))
    rule["action"] = action
    rule["trigger"] = f.get("trigger") or "purchase"
    rule.pop("event", None)  # only custom triggers have one, and this form offers none
    c = dict(rule.get("conditions") or {})
    errors = _money_condition(c, f.get("min_amount"), exponent, f"{path}.conditions.min_amount", _)
    _items_condition(c, f.get("categories"), f.get("skus"))
    c["weekdays"] = sorted({int(d) for d in f.all("weekdays") if d in WEEKDAYS})
    start, end = f.get("time_start"), f.get("time_end")
    if bool(start) != bool(end):
        errors.append((f"{path}.conditions.time_window", _("give both a start and an end time")))
    c["time_window"] = {"start": start, "end": end} if start and end else None
    first, last = f.get("date_start"), f.get("date_end")
    c["date_range"] = {"start": first or None, "end": last or None} if first or last else None
    c["locations"] = [
        int(x) for x in f.all("locations") if x.isascii() and x.isdigit() and len(x) < 19
    ]
    c["tiers"] = f.all("tiers")
    rule["conditions"] = c
    # The form edits the first cap; any further ones (set in JSON) are kept.
    rest = (rule.get("caps") or [])[1:]
    most = f.get("cap_max")
    rule["caps"] = [{"period": f.get("cap_period") or "day", "max_units": most}] if most else []
    rule["caps"] += rest
    if index is None:
        rules.append(rule)
    else:
        rules[index] = rule
    return errors


def _remove(doc: dict[str, Any], f: Fields, exponent: int, _: Translate) -> list[FieldError]:
    rules = doc.setdefault("rules", [])
    original = f.get("rule_original")
    index = index_of(rules, "id", original) if original else None
    if index is None:
        return [(f"rules.{original}", _("This rule is no longer in the program; reload the page."))]
    del rules[index]
    return []


def _stamps(doc: dict[str, Any], f: Fields, exponent: int, _: Translate) -> list[FieldError]:
    cards = doc.setdefault("stamp_cards", [])
    rules = doc.setdefault("rules", [])
    original = f.get("card_original")
    index = index_of(cards, "id", original) if original else None
    if original and index is None:
        where = f"stamp_cards.{original}"
        return [(where, _("This card is no longer in the program; reload the page."))]
    taken = [c.get("id") for i, c in enumerate(cards) if i != index]
    name = f.get("card_name")
    card = copy.deepcopy(cards[index]) if index is not None else {}
    card |= {
        "id": f.get("card_id") or slugify(name or "card", taken),
        "name": name,
        "stamps_required": f.get("stamps_required"),
        "reward": f.get("card_reward"),
    }
    _titles(card, f, "card_title")
    if index is None:
        cards.append(card)
    else:
        cards[index] = card
    for rule in rules:  # a renamed card keeps its rules
        if original and action_type(rule) == "stamps" and rule["action"].get("card") == original:
            rule["action"]["card"] = card["id"]
    rule = next(
        (r for r in rules if action_type(r) == "stamps" and r["action"].get("card") == card["id"]),
        None,
    )
    if rule is None:
        rule = {
            "id": slugify(f"stamps-{card['id']}", [r.get("id") for r in rules]),
            "name": _("Stamps on {card}").format(card=name or card["id"]),
            "action": {"type": "stamps", "card": card["id"]},
        }
        rules.append(rule)
    earn = _earn(f)
    if earn != _earn_now(rule):
        _name_for(rule, earn)
    # The condition and the action change together, so one save moves a card between earning
    # per item, per visit and per amount (the action's per_item needs an items condition).
    rule["action"] |= {"stamps": f.get("stamps_per") or "1", "per_item": earn == "per_item"}
    c = dict(rule.get("conditions") or {})
    errors = []
    if earn == "min_amount":
        where = f"rules.{rule['id']}.conditions.min_amount"
        errors = _money_condition(c, f.get("stamp_min_amount"), exponent, where, _)
        if c["min_amount"] is None and not errors:
            errors.append((where, _("give the least amount that earns a stamp")))
    else:
        c["min_amount"] = None
    if earn in ("per_item", "visit_items"):
        _items_condition(c, f.get("stamp_categories"), f.get("stamp_skus"))
        if c["items"] is None:
            where = f"rules.{rule['id']}.conditions.items"
            errors.append((where, _("name the product categories or codes that earn a stamp")))
    else:
        c["items"] = None
    rule["conditions"] = c
    return errors


def _earn(f: Fields) -> str:
    """The card's way of earning; the names of an earlier form (any, items with a per-item box)
    still read as they did."""
    earn = f.get("earn")
    if earn == "any":
        return "visit"
    if earn == "items":
        return "per_item" if f.on("stamp_per_item") else "visit_items"
    return earn if earn in EARN_MODES else "visit"


def _earn_now(rule: dict[str, Any]) -> str:
    c = rule.get("conditions") or {}
    if c.get("min_amount") is not None:
        return "min_amount"
    if c.get("items"):
        return "per_item" if (rule.get("action") or {}).get("per_item") else "visit_items"
    return "visit"


# A stamp rule's name follows a change of how its card earns: "one stamp per drink" would
# misname a card that now stamps every visit. Said in both languages, as the form writes them.
EARN_NAMES = {
    "per_item": "One stamp per item",
    "visit": "One stamp per visit",
    "visit_items": "One stamp per visit with these products",
    "min_amount": "One stamp per purchase over an amount",
}


def _name_for(rule: dict[str, Any], earn: str) -> None:
    english = EARN_NAMES[earn]
    rule["name"] = english
    rule["title"] = {"es": translator("es")(english), "en": english}


def _titles(thing: dict[str, Any], f: Fields, prefix: str) -> None:
    """The names members read, per language; none given leaves the thing without titles."""
    es, en = f.get(f"{prefix}_es"), f.get(f"{prefix}_en")
    if es or en:
        thing["title"] = {"es": es, "en": en}
    else:
        thing.pop("title", None)


def _kept_titles(old: Any, level: dict[str, Any]) -> dict[str, Any]:
    """A tier's titles outlive a save of the tiers form while its name (or perks) stay the same:
    the form edits the name, and a new one stands for every language."""
    if not isinstance(old, dict):
        return {}
    kept = {}
    if old.get("title") and old.get("name") == level["name"]:
        kept["title"] = old["title"]
    if old.get("perk_titles") and old.get("perks") == level["perks"]:
        kept["perk_titles"] = old["perk_titles"]
    return kept


def _tiers(doc: dict[str, Any], f: Fields, exponent: int, _: Translate) -> list[FieldError]:
    metric = f.get("tier_metric") or "spend"
    before = {
        level.get("id"): level
        for level in ((doc.get("tiers") or {}).get("levels") or [])
        if isinstance(level, dict)
    }
    levels: list[dict[str, Any]] = []
    errors = []
    for i in range(MAX_LEVELS + 2):
        cells = [f.get(f"level-{i}-{k}") for k in ("id", "name", "threshold", "multiplier")]
        perks = [p.strip() for p in re.split(r"[;\n]", f.get(f"level-{i}-perks")) if p.strip()]
        if not (any(cells) or perks):
            continue
        level_id, name, threshold, multiplier = cells
        level_id = level_id or slugify(name or "tier", [x["id"] for x in levels])
        if metric == "spend" and threshold:
            minor = parse_money(threshold, exponent)
            if minor is None:
                where = f"tiers.levels.{level_id}.threshold"
                errors.append((where, _("must be an amount such as 10.50")))
            threshold = str(minor)
        level = {
            "id": level_id,
            "name": name,
            "threshold": decimal_text(threshold),
            "multiplier": decimal_text(multiplier) or "1",
            "perks": perks,
        }
        levels.append(level | _kept_titles(before.get(level_id), level))
    if not levels:
        doc["tiers"] = None
        return errors
    doc["tiers"] = {
        "metric": metric,
        "custom_event": (f.get("tier_custom_event") or None) if metric == "custom" else None,
        "window": {
            "kind": f.get("tier_window_kind") or "rolling",
            "days": f.get("tier_window_days") or "365",
            "period": f.get("tier_window_period") or "year",
        },
        "grace_days": f.get("tier_grace_days") or "0",
        "levels": levels,
    }
    if f.get("tier_crossing") == "new_tier":
        doc["tiers"]["crossing_purchase_earns_at"] = "new_tier"
    return errors


def _cashback(doc: dict[str, Any], f: Fields, exponent: int, _: Translate) -> list[FieldError]:
    errors = []
    text = f.get("cashback_minimum")
    minimum = parse_money(text, exponent) if text else 0
    if minimum is None:
        errors.append(("cashback.redemption_minimum", _("must be an amount such as 10.50")))
    doc["cashback"] = dict(doc.get("cashback") or {}) | {"redemption_minimum": minimum or 0}
    rules = doc.setdefault("rules", [])
    index = next((i for i, r in enumerate(rules) if action_type(r) == "cashback_percent"), None)
    percent = decimal_text(f.get("cashback_percent"))
    if not percent or parse_decimal(percent) == 0:
        if index is not None:
            del rules[index]
    elif index is None:
        rules.append(
            {
                "id": slugify("cashback", [r.get("id") for r in rules]),
                "name": _("Cashback"),
                "action": {"type": "cashback_percent", "percent": percent},
            }
        )
    else:
        rules[index]["action"] = dict(rules[index]["action"]) | {"percent": percent}
    return errors


MONTHS = ("months", "months_end")


def _points(doc: dict[str, Any], f: Fields, exponent: int, _: Translate) -> list[FieldError]:
    errors = []
    policy = dict(doc.get("points") or {})
    expiry = f.get("expiry") or "never"
    policy |= {
        "expiry": expiry,
        "expiry_days": (f.get("expiry_days") or None) if expiry == "days" else None,
        "expiry_months": (f.get("expiry_months") or None) if expiry in MONTHS else None,
        "pending_days": f.get("pending_days") or "0",
    }
    text = f.get("value_per_point")
    value = parse_decimal(text) if text else Decimal(0)
    if value is None or value < 0:
        errors.append(("points.value_per_point", _("must be an amount such as 0.01")))
    else:
        policy["value_per_point"] = plain(value.scaleb(exponent))
    if policy["expiry_months"] is None:
        del policy["expiry_months"]  # as the stored definition leaves it out
    doc["points"] = policy
    doc["name"] = f.get("program_name")
    _titles(doc, f, "program_title")
    return errors
