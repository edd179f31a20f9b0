"""The new program forms in the console's editor: points per whole unit and a counted event
property on the rule form, expiry in calendar months on the points form, the crossing purchase's
tier on the tiers form, spend thresholds in major units; read back in Spanish and English."""

from __future__ import annotations

from typing import Any

from tests.support import admin_login

SAVE = "/admin/program/save"


def _program(client: Any, shop: Any) -> dict[str, Any]:
    answer = client.get("/api/v1/program", headers=shop.auth())
    assert answer.status_code == 200
    return dict(answer.json())


def _save(client: Any, form: dict[str, Any]) -> None:
    answer = client.post(SAVE, data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text


def test_a_rule_counts_whole_units_and_an_event_property(client, shop) -> None:
    csrf = admin_login(client, shop)
    base = {"csrf": csrf, "lang": "en", "part": "rule", "kind": "points_per_unit"}
    boots = base | {
        "base_version": "1",
        "rule_original": "base",
        "rule_id": "base",
        "rule_name": "Points per purchase",
        "rate": "4",
        "rounding": "floor",
        "per": "whole_unit",
        "reason": "4 points per whole euro",
    }
    _save(client, boots)
    training = base | {
        "base_version": "2",
        "rule_name": "Training",
        "rule_id": "training",
        "trigger": "training_hours",
        "rate": "10",
        "event_property": "hours",
        "reason": "points per hour of training",
    }
    _save(client, training)
    rules = {r["id"]: r for r in _program(client, shop)["definition"]["rules"]}
    assert rules["base"]["action"]["per"] == "whole_unit"
    assert "event_property" not in rules["base"]["action"]
    assert rules["training"]["action"]["event_property"] == "hours"
    assert "per" not in rules["training"]["action"]  # the default is left out
    english = client.get("/admin/program?lang=en").text
    assert "On each purchase: 4 points per whole € spent (rounded down)." in english
    assert "10 points per unit of the event&#39;s hours" in english
    spanish = client.get("/admin/program?lang=es").text
    assert "4 puntos por cada € entero gastado" in spanish
    assert "10 puntos por unidad de la propiedad hours del evento" in spanish
    form = client.get("/admin/program/edit?part=rule&rule=base&lang=en").text
    assert '<option value="whole_unit" selected>' in form
    form = client.get("/admin/program/edit?part=rule&rule=training&lang=es").text
    assert 'name="event_property" type="text" value="hours"' in form
    assert "Propiedad del evento que cuenta" in form


def test_a_purchase_rule_with_an_event_property_is_refused_on_the_page(client, shop) -> None:
    csrf = admin_login(client, shop)
    form = {
        "csrf": csrf,
        "lang": "es",
        "part": "rule",
        "kind": "points_per_unit",
        "base_version": "1",
        "rule_original": "base",
        "rule_id": "base",
        "rule_name": "Points per purchase",
        "rate": "1",
        "event_property": "hours",
        "reason": "wrong",
    }
    answer = client.post(SAVE, data=form, follow_redirects=False)
    assert answer.status_code == 422
    assert "text/html" in answer.headers["content-type"]
    assert "event_property es para reglas de eventos" in answer.text
    assert _program(client, shop)["version"] == 1


def test_points_expire_in_calendar_months_from_the_points_form(client, shop) -> None:
    csrf = admin_login(client, shop)
    form = {
        "csrf": csrf,
        "lang": "en",
        "part": "points",
        "base_version": "1",
        "program_name": "Club",
        "expiry": "months",
        "expiry_months": "24",
        "expiry_days": "30",  # left from another choice: not kept
        "reason": "two years",
    }
    _save(client, form)
    points = _program(client, shop)["definition"]["points"]
    assert (points["expiry"], points["expiry_months"], points["expiry_days"]) == (
        "months",
        24,
        None,
    )
    assert "Points expire 24 months after they are earned, on the same day of the month" in (
        client.get("/admin/program?lang=en").text
    )
    assert "Los puntos caducan 24 meses después de ganarlos" in (
        client.get("/admin/program?lang=es").text
    )
    edit = client.get("/admin/program/edit?part=points&lang=en").text
    assert 'name="expiry_months" type="number" value="24"' in edit
    _save(client, form | {"base_version": "2", "expiry": "months_end", "expiry_months": "12"})
    points = _program(client, shop)["definition"]["points"]
    assert (points["expiry"], points["expiry_months"]) == ("months_end", 12)
    _save(client, form | {"base_version": "3", "expiry": "never"})
    assert "expiry_months" not in _program(client, shop)["definition"]["points"]
    missing = form | {"base_version": "4", "expiry_months": ""}
    answer = client.post(SAVE, data=missing, follow_redirects=False)
    assert answer.status_code == 422
    assert "expiry_months goes with expiry" in answer.text


def test_tier_thresholds_in_major_units_and_the_crossing_choice(client, shop) -> None:
    csrf = admin_login(client, shop)
    tiers = {
        "csrf": csrf,
        "lang": "en",
        "part": "tiers",
        "base_version": "1",
        "tier_metric": "spend",
        "tier_window_kind": "rolling",
        "tier_window_days": "365",
        "tier_grace_days": "30",
        "tier_crossing": "new_tier",
        "level-0-name": "Silver",
        "level-0-threshold": "0",
        "level-1-name": "Gold",
        "level-1-threshold": "500,00",
        "reason": "tiers",
    }
    _save(client, tiers)
    policy = _program(client, shop)["definition"]["tiers"]
    assert policy["crossing_purchase_earns_at"] == "new_tier"
    assert policy["levels"][1]["threshold"] == "50000"  # stored in cents
    edit = client.get("/admin/program/edit?part=tiers&lang=en").text
    assert 'name="level-1-threshold" type="text" value="500.00"' in edit
    assert '<option value="new_tier" selected>' in edit
    page = client.get("/admin/program?lang=en").text
    assert "Gold: from €500.00" in page
    assert "A purchase that reaches a higher tier earns at the tier it reaches." in page
    spanish = client.get("/admin/program?lang=es").text
    assert "Una compra que alcanza un nivel superior gana con el nivel que alcanza." in spanish
    _save(client, tiers | {"base_version": "2", "tier_crossing": "previous_tier"})
    assert "crossing_purchase_earns_at" not in _program(client, shop)["definition"]["tiers"]
    assert "earns at the tier held before it." in client.get("/admin/program?lang=en").text
    by_points = tiers | {"base_version": "3", "tier_metric": "points_earned"}
    refused = client.post(SAVE, data=by_points, follow_redirects=False)
    assert refused.status_code == 422
    assert "needs the spend or visits metric" in refused.text
