"""The program in the admin console: read as sentences in both languages, edited through forms or
as JSON into new versions with author and reason, previewed against the version in force
without writing anything, and the change log with its diffs."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from lealtad.ledger.tables import entries as journal_entries
from lealtad.purchases.tables import purchases
from lealtad.rules.tables import program_versions
from tests.support import admin_login, purchase_body, refusal_code

SAVE = "/admin/program/save"
PREVIEW = "/admin/program/preview"


def _multiplier(csrf: str, **overrides: Any) -> dict[str, Any]:
    form = {
        "csrf": csrf,
        "lang": "en",
        "part": "rule",
        "base_version": "1",
        "rule_name": "Double points on Mondays",
        "rule_id": "double-monday",
        "kind": "multiplier",
        "trigger": "purchase",
        "factor": "2",
        "weekdays": "0",
        "reason": "Quiet Mondays need a push",
        "pv_amount": "10.00",
        "pv_date": "2026-03-02",
        "pv_time": "11:00",
        "pv_channel": "counter",
    }
    return form | overrides


def _count(db: Any, table: Any) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _program(client: Any, shop: Any) -> dict[str, Any]:
    answer = client.get("/api/v1/program", headers=shop.auth())
    assert answer.status_code == 200
    return dict(answer.json())


def test_the_program_page_reads_each_rule_as_a_sentence_in_spanish_and_english(
    client, shop
) -> None:
    admin_login(client, shop)
    english = client.get("/admin/program?lang=en")
    assert english.status_code == 200
    assert "On each purchase: 1 point per € spent (rounded down)." in english.text
    assert "Version 1, in force since" in english.text
    assert "program created" in english.text
    assert "Points never expire." in english.text
    spanish = client.get("/admin/program?lang=es")
    assert "En cada compra: 1 punto por cada € gastado (redondeando hacia abajo)." in spanish.text
    assert "Los puntos no caducan nunca." in spanish.text


def test_a_structured_edit_adds_a_rule_as_a_new_version_by_the_staff_member(client, shop) -> None:
    csrf = admin_login(client, shop)
    answer = client.post(SAVE, data=_multiplier(csrf), follow_redirects=False)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].startswith("/admin/program?saved=2")
    program = _program(client, shop)
    assert program["version"] == 2
    assert program["author"] == f"staff:{shop.staff['manager']}"
    assert program["reason"] == "Quiet Mondays need a push"
    rule = next(r for r in program["definition"]["rules"] if r["id"] == "double-monday")
    assert rule["action"] == {"type": "multiplier", "factor": "2"}
    assert rule["conditions"]["weekdays"] == [0]
    page = client.get("/admin/program?lang=en&saved=2")
    assert "Saved as version 2." in page.text
    assert "On each purchase on Monday: the purchase&#39;s points multiplied by 2." in page.text


def test_editing_a_rule_keeps_what_the_form_does_not_show(client, shop) -> None:
    csrf = admin_login(client, shop)
    definition = _program(client, shop)["definition"]
    definition["rules"][0]["description"] = "The base rule"
    definition["rules"][0]["priority"] = 7
    put = {"definition": definition, "reason": "describe the base rule"}
    assert client.put("/api/v1/program", json=put, headers=shop.auth()).status_code == 200
    form = client.get("/admin/program/edit?part=rule&rule=base&lang=en")
    assert 'value="Points per purchase"' in form.text
    edit = {
        "csrf": csrf,
        "part": "rule",
        "base_version": "2",
        "rule_original": "base",
        "rule_name": "Points per purchase",
        "kind": "points_per_unit",
        "rate": "1,5",
        "rounding": "half_up",
        "min_amount": "5,00",
        "reason": "a little more per euro",
    }
    assert client.post(SAVE, data=edit, follow_redirects=False).status_code == 303
    rule = _program(client, shop)["definition"]["rules"][0]
    assert rule["action"]["rate"] == "1.5"
    assert rule["conditions"]["min_amount"] == 500
    assert (rule["description"], rule["priority"]) == ("The base rule", 7)


def test_a_json_edit_creates_a_new_version_with_its_reason(client, shop) -> None:
    csrf = admin_login(client, shop)
    page = client.get("/admin/program/edit?part=json&lang=en")
    assert page.status_code == 200
    assert "&#34;points_per_unit&#34;" in page.text or "&quot;points_per_unit&quot;" in page.text
    definition = _program(client, shop)["definition"]
    definition["points"]["expiry"] = "end_of_year"
    form = {
        "csrf": csrf,
        "part": "json",
        "base_version": "1",
        "definition": json.dumps(definition),
        "reason": "points run out each year",
    }
    assert client.post(SAVE, data=form, follow_redirects=False).status_code == 303
    program = _program(client, shop)
    assert (program["version"], program["reason"]) == (2, "points run out each year")
    assert program["definition"]["points"]["expiry"] == "end_of_year"


def test_broken_json_and_an_invalid_rule_name_the_field_and_save_nothing(client, shop, db) -> None:
    csrf = admin_login(client, shop)
    broken = {"csrf": csrf, "lang": "en", "part": "json", "base_version": "1", "reason": "oops"}
    answer = client.post(SAVE, data=broken | {"definition": '{"rules": ['})
    assert answer.status_code == 422
    assert "Nothing was saved" in answer.text
    assert "not valid JSON" in answer.text
    definition = _program(client, shop)["definition"]
    definition["rules"][0]["action"]["rate"] = "-1"
    answer = client.post(SAVE, data=broken | {"definition": json.dumps(definition)})
    assert answer.status_code == 422
    assert "rules.base.action.rate" in answer.text
    assert "must be greater than 0" in answer.text
    answer = client.post(SAVE, data=_multiplier(csrf, factor="1", lang="es"))
    assert answer.status_code == 422
    assert '<a href="#f-factor">Multiplicador</a>: debe ser mayor que 1' in answer.text
    assert "rules.double-monday" not in answer.text  # named by its label, not its path
    assert 'id="e-factor"' in answer.text  # next to its own field, too
    assert _count(db, program_versions) == 1 + _count_other_businesses(db, shop.id)


def _count_other_businesses(db: Any, business_id: int) -> int:
    with db.read() as conn:
        query = select(func.count()).where(program_versions.c.business_id != business_id)
        return int(conn.execute(query.select_from(program_versions)).scalar_one())


def test_a_change_without_a_reason_is_refused(client, shop) -> None:
    csrf = admin_login(client, shop)
    answer = client.post(SAVE, data=_multiplier(csrf, reason=""))
    assert answer.status_code == 422
    assert "Say why you change the program" in answer.text
    assert _program(client, shop)["version"] == 1


def test_a_change_dated_in_the_past_or_on_a_stale_version_is_refused(client, shop) -> None:
    # Dating a change back is for bringing history in; once a sale has earned it would judge
    # that sale again (D65).
    sold = client.post(
        "/api/v1/purchases", json=purchase_body(member_id=shop.members[0]), headers=shop.auth()
    )
    assert sold.status_code == 201, sold.text
    csrf = admin_login(client, shop)
    past = client.post(SAVE, data=_multiplier(csrf, effective_from="2026-03-01T09:00"))
    assert past.status_code == 422
    assert "only after the last purchase or event that earned" in past.text
    stale = client.post(SAVE, data=_multiplier(csrf, base_version="0"))
    assert stale.status_code == 422
    assert "changed while you were editing" in stale.text
    assert _program(client, shop)["version"] == 1


def test_a_change_can_take_effect_later(client, shop) -> None:
    csrf = admin_login(client, shop)
    later = _multiplier(csrf, effective_from="2026-04-01T00:00")
    assert client.post(SAVE, data=later, follow_redirects=False).status_code == 303
    assert _program(client, shop)["version"] == 1  # still the one in force
    page = client.get("/admin/program?lang=en")
    assert "Version 2 takes effect on 1 Apr 2026, 00:00 (Europe/Madrid)" in page.text


def test_the_preview_shows_a_2x_draft_doubling_the_points_and_writes_nothing(
    client, shop, db
) -> None:
    csrf = admin_login(client, shop)
    card = client.get(f"/api/v1/members/{shop.members[0]}", headers=shop.auth()).json()
    client.post(
        "/api/v1/purchases", json=purchase_body(member_id=shop.members[0]), headers=shop.auth()
    )
    before = [_count(db, t) for t in (journal_entries, purchases, program_versions)]
    headers = {"HX-Request": "true"}
    for extra in ({}, {"pv_card": card["card_number"]}):
        answer = client.post(PREVIEW, data=_multiplier(csrf) | extra, headers=headers)
        assert answer.status_code == 200
        draft, current = answer.text.split('data-side="current"')
        assert 'data-unit="points" data-total="20"' in draft
        assert 'data-unit="points" data-total="10"' in current
        assert "<html" not in answer.text  # HTMX gets the result alone
    assert "For the member Member 0." in answer.text
    tuesday = client.post(PREVIEW, data=_multiplier(csrf, pv_date="2026-03-03"), headers=headers)
    assert 'data-unit="points" data-total="10"' in tuesday.text.split('data-side="current"')[0]
    assert [_count(db, t) for t in (journal_entries, purchases, program_versions)] == before


def test_the_preview_without_javascript_returns_the_whole_editor(client, shop) -> None:
    csrf = admin_login(client, shop)
    answer = client.post(PREVIEW, data=_multiplier(csrf, factor="x"))
    assert answer.status_code == 200
    assert "<form" in answer.text
    assert "The draft is not valid yet" in answer.text
    assert 'data-unit="points" data-total="10"' in answer.text


def test_the_change_log_shows_each_version_with_its_diff(client, shop) -> None:
    csrf = admin_login(client, shop)
    client.post(SAVE, data=_multiplier(csrf), follow_redirects=False)
    page = client.get("/admin/program/changes?lang=en")
    assert page.status_code == 200
    assert "Version 2" in page.text
    assert "Version 1" in page.text
    assert "Quiet Mondays need a push" in page.text
    assert "by manager" in page.text
    assert "rules.double-monday" in page.text
    assert "added" in page.text
    assert "the purchase&#39;s points multiplied by 2" in page.text
    spanish = client.get("/admin/program/changes?lang=es")
    assert "Versión 2" in spanish.text
    assert "añadido" in spanish.text


def test_tiers_stamp_cards_cashback_and_expiry_have_their_own_forms(client, shop) -> None:
    csrf = admin_login(client, shop)
    base = {"csrf": csrf, "lang": "en", "reason": "a richer program"}
    tiers = base | {
        "part": "tiers",
        "base_version": "1",
        "tier_metric": "spend",
        "tier_window_kind": "calendar",
        "tier_window_period": "year",
        "tier_grace_days": "30",
        "level-0-name": "Bronze",
        "level-0-threshold": "0",
        "level-1-name": "Gold",
        "level-1-threshold": "300,00",
        "level-1-multiplier": "1.5",
        "level-1-perks": "free coffee; early access",
    }
    assert client.post(SAVE, data=tiers, follow_redirects=False).status_code == 303
    stamps = base | {
        "part": "stamps",
        "base_version": "2",
        "card_name": "Coffee card",
        "stamps_required": "10",
        "card_reward": "free-drink",
        "earn": "items",
        "stamp_categories": "drinks",
        "stamps_per": "1",
        "stamp_per_item": "on",
    }
    assert client.post(SAVE, data=stamps, follow_redirects=False).status_code == 303
    cashback = base | {"part": "cashback", "base_version": "3", "cashback_percent": "5"}
    cashback["cashback_minimum"] = "5"
    assert client.post(SAVE, data=cashback, follow_redirects=False).status_code == 303
    points = base | {"part": "points", "base_version": "4", "program_name": "Club"}
    points |= {"expiry": "days", "expiry_days": "365", "value_per_point": "0.01"}
    assert client.post(SAVE, data=points, follow_redirects=False).status_code == 303
    definition = _program(client, shop)["definition"]
    gold = definition["tiers"]["levels"][1]
    assert (gold["id"], gold["threshold"], gold["perks"]) == (
        "gold",
        "30000",
        ["free coffee", "early access"],
    )
    assert definition["stamp_cards"] == [
        {"id": "coffee-card", "name": "Coffee card", "stamps_required": 10, "reward": "free-drink"}
    ]
    assert definition["cashback"]["redemption_minimum"] == 500
    assert definition["points"]["value_per_point"] == "1"
    page = client.get("/admin/program?lang=en").text
    assert "Gold: from €300.00, points ×1.5; perks: free coffee and early access" in page
    assert "Coffee card: 10 stamps fill the card, which gives the reward free-drink." in page
    assert "Cashback can be spent once it reaches €5.00." in page
    assert "Points expire 365 days after they are earned." in page
    assert "1 stamp per matching item on the Coffee card" in page


def test_a_template_opens_in_the_json_editor_and_can_be_adopted(client, shop) -> None:
    csrf = admin_login(client, shop)
    listing = client.get("/admin/program?lang=es")
    assert "/admin/program/edit?part=json&amp;template=coffee-stamps" in listing.text
    page = client.get("/admin/program/edit?part=json&template=coffee-stamps&lang=en")
    assert page.status_code == 200
    assert "free-drink" in page.text
    start = page.text.index('name="definition"')
    text = page.text[page.text.index(">", start) + 1 : page.text.index("</textarea>", start)]
    import html

    assert 'name="template" value="coffee-stamps"' in page.text
    form = {"csrf": csrf, "part": "json", "base_version": "1", "reason": "the coffee card"}
    form["definition"] = html.unescape(text)
    form["template"] = "coffee-stamps"
    assert client.post(SAVE, data=form, follow_redirects=False).status_code == 303
    assert _program(client, shop)["definition"]["name"] == "Coffee card"
    # The template's rewards and products come with it: a full card can be redeemed, and the
    # counter has its drinks.
    rewards = client.get("/api/v1/rewards", headers=shop.auth()).json()
    free = next(r for r in rewards if r["slug"] == "free-drink")
    assert (free["cost_unit"], free["title"]["es"]) == ("reward.free-drink", "Bebida gratis")
    assert "Café con leche" in client.get("/admin/products?lang=es").text
    assert client.get("/admin/program/edit?part=json&template=nope").status_code == 404


def test_removing_a_rule_makes_a_version_without_it(client, shop) -> None:
    csrf = admin_login(client, shop)
    page = client.get("/admin/program/edit?part=remove&rule=base&lang=en")
    assert "Remove the rule Points per purchase" in page.text
    form = {"csrf": csrf, "part": "remove", "rule_original": "base", "base_version": "1"}
    form["reason"] = "stamps only from now on"
    assert client.post(SAVE, data=form, follow_redirects=False).status_code == 303
    assert _program(client, shop)["definition"]["rules"] == []


def test_the_program_pages_are_for_managers_and_forms_need_the_session_token(client, shop) -> None:
    csrf = admin_login(client, shop, role="staff")
    assert client.get("/admin/program").status_code == 403
    assert client.get("/admin/program/changes").status_code == 403
    assert client.post(SAVE, data=_multiplier(csrf)).status_code == 403
    csrf = admin_login(client, shop)
    for url in (SAVE, PREVIEW):
        refused = client.post(url, data=_multiplier("forged"))
        assert refused.status_code == 403
        assert refusal_code(refused) == "csrf_token_invalid"
    assert _program(client, shop)["version"] == 1


def test_odd_input_gets_an_answer_on_the_page_never_a_server_error(client, shop) -> None:
    csrf = admin_login(client, shop)
    odd = [
        {"factor": "1e-99999999"},
        {"factor": "NaN", "min_amount": "-3"},
        {"locations": "9" * 5000, "weekdays": "01", "base_version": "0"},
        {"time_start": "25:00", "time_end": "10:00"},
        {"date_start": "2026-02-30", "cap_max": "9" * 50},
        {"kind": "teleport"},
        {"part": "nonsense"},
        {"effective_from": "2026-99-99T99:99"},
    ]
    for extra in odd:
        for url in (SAVE, PREVIEW):
            answer = client.post(url, data=_multiplier(csrf) | extra)
            assert answer.status_code < 500, (extra, answer.text[:300])
    sample = [
        {"pv_amount": "1e999", "pv_date": "yesterday", "pv_location": "9" * 40},
        {"pv_amount": "1e-99999999", "pv_time": "noon"},
        {"pv_card": "no such card", "pv_item-0-sku": "X", "pv_item-0-qty": "-1"},
        {"pv_item-0-sku": "X", "pv_item-0-price": "NaN"},
    ]
    for extra in sample:
        answer = client.post(PREVIEW, data=_multiplier(csrf) | extra)
        assert answer.status_code == 200, (extra, answer.text[:300])
        assert 'class="field-error"' in answer.text
    json_odd = ["[" * 100_000, "[]", '{"rules": "x"}', '{"tiers": {"levels": []}}', "null"]
    for text in json_odd:
        form = {"csrf": csrf, "part": "json", "base_version": "1", "reason": "odd"}
        answer = client.post(SAVE, data=form | {"definition": text})
        assert answer.status_code == 422, text[:20]
    assert _program(client, shop)["version"] == 1


def test_a_change_dated_back_before_anything_earned_supersedes_the_version_it_replaces(
    client, shop
) -> None:
    # The shop's program has been in force for ten years; nothing has earned yet (D65).
    csrf = admin_login(client, shop)
    saved = client.post(
        SAVE, data=_multiplier(csrf, effective_from="2010-01-01T09:00"), follow_redirects=False
    )
    assert saved.status_code == 303, saved.text
    assert _program(client, shop)["version"] == 2
    page = client.get("/admin/program/changes?lang=en")
    assert 'data-superseded-by="2"' in page.text
    assert "Superseded by version 2" in page.text
    spanish = client.get("/admin/program/changes?lang=es")
    assert "Sustituida por la versión 2" in spanish.text
