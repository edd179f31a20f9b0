"""The rewards catalog in the admin console: the list with ratings, creating and editing a
reward with its errors on the page, deactivating, and each reward's ratings and reviews."""

from __future__ import annotations

from typing import Any

from tests.support import admin_login, purchase_body, refusal_code


def _new(csrf: str, **overrides: Any) -> dict[str, Any]:
    form = {
        "csrf": csrf,
        "lang": "en",
        "slug": "free-coffee",
        "kind": "free_product",
        "sku": "COFFEE",
        "title_es": "Café gratis",
        "title_en": "Free coffee",
        "description_es": "Un café solo o con leche",
        "description_en": "An espresso or a latte",
        "cost": "10",
        "cost_unit": "points",
        "stock": "25",
        "valid_from": "2026-03-01T08:00",
        "valid_until": "2026-06-30T20:00",
        "limit_per_member": "2",
        "limit_period": "month",
        "visible_tiers": "",
        "voucher_days": "14",
        "on_expiry": "refund",
        "featured": "on",
        "active": "on",
    }
    return form | overrides


def _reward(client: Any, shop: Any, slug: str) -> dict[str, Any]:
    catalog = client.get("/api/v1/rewards", headers=shop.auth()).json()
    return dict(next(r for r in catalog if r["slug"] == slug))


def test_a_manager_creates_a_reward_with_every_field(client, shop) -> None:
    csrf = admin_login(client, shop)
    form = client.get("/admin/rewards/new?lang=es")
    assert form.status_code == 200
    assert "Título en español" in form.text
    answer = client.post("/admin/rewards/new", data=_new(csrf), follow_redirects=False)
    assert answer.status_code == 303, answer.text
    reward = _reward(client, shop, "free-coffee")
    assert reward["title"] == {"es": "Café gratis", "en": "Free coffee"}
    assert reward["description"]["en"] == "An espresso or a latte"
    assert (reward["cost"], reward["cost_unit"], reward["stock"]) == (10, "points", 25)
    assert (reward["limit_per_member"], reward["limit_period"]) == (2, "month")
    assert (reward["voucher_days"], reward["on_expiry"]) == (14, "refund")
    assert reward["featured"]
    assert reward["active"]
    assert reward["valid_from"].startswith("2026-03-01T07:00")  # Madrid is UTC+1 in March
    page = client.get(answer.headers["location"])
    assert "Saved." in page.text
    listing = client.get("/admin/rewards?lang=en")
    assert "Free coffee" in listing.text
    assert "Free product" in listing.text
    assert "10 points" in listing.text
    assert "from 1 Mar 2026, 08:00 to 30 Jun 2026, 20:00" in listing.text
    assert "Café gratis" in client.get("/admin/rewards?lang=es").text


def test_creating_a_reward_shows_each_error_by_its_field_and_saves_nothing(client, shop) -> None:
    csrf = admin_login(client, shop)
    bad = _new(csrf, slug="Free Coffee!", title_en="", cost="0", sku="", value="12,345")
    answer = client.post("/admin/rewards/new", data=bad)
    assert answer.status_code == 422
    assert "must be an amount such as 10.50" in answer.text
    answer = client.post("/admin/rewards/new", data=bad | {"value": "", "lang": "es"})
    assert answer.status_code == 422
    assert "No se ha guardado nada" in answer.text
    # Each error is named by its field's label, a link to the field, never by its path.
    assert '<a href="#f-slug">Identificador</a>:' in answer.text
    assert '<a href="#f-title_en">Título en inglés</a>:' in answer.text
    assert '<a href="#f-cost">Cantidad a pagar</a>: debe ser como mínimo 1' in answer.text
    assert "<code>" not in answer.text
    assert 'id="e-cost"' in answer.text
    assert 'value="Café gratis"' in answer.text  # what was typed stays in the form
    sku = client.post("/admin/rewards/new", data=_new(csrf, sku=""))
    assert (
        "un producto gratis indica su código"
        in client.post("/admin/rewards/new", data=_new(csrf, sku="", lang="es")).text
    )
    assert sku.status_code == 422
    assert client.get("/api/v1/rewards", headers=shop.auth()).json() == []


def test_a_second_reward_with_the_same_id_is_refused_on_the_page(client, shop) -> None:
    csrf = admin_login(client, shop)
    client.post("/admin/rewards/new", data=_new(csrf), follow_redirects=False)
    again = client.post("/admin/rewards/new", data=_new(csrf))
    assert again.status_code == 409
    assert "another reward already has this id" in again.text


def test_a_manager_edits_and_deactivates_a_reward(client, shop) -> None:
    csrf = admin_login(client, shop)
    client.post("/admin/rewards/new", data=_new(csrf), follow_redirects=False)
    reward = _reward(client, shop, "free-coffee")
    url = f"/admin/rewards/{reward['id']}"
    page = client.get(url + "?lang=en")
    assert 'value="Free coffee"' in page.text
    edit = {
        "csrf": csrf,
        "lang": "en",
        "title_es": "Café de regalo",
        "title_en": "Coffee on us",
        "description_es": "",
        "description_en": "",
        "cost": "12",
        "stock": "",
        "valid_until": "",
        "image_url": "",
        "active": "on",
    }
    assert client.post(url, data=edit, follow_redirects=False).status_code == 303
    reward = _reward(client, shop, "free-coffee")
    assert reward["title"]["en"] == "Coffee on us"
    assert (reward["cost"], reward["stock"], reward["valid_until"]) == (12, None, None)
    assert not reward["featured"]
    wrong = client.post(url, data=edit | {"cost": "abc", "image_url": "ftp://x"})
    assert wrong.status_code == 422
    assert '<a href="#f-cost">Amount to pay</a>: must be a number' in wrong.text
    assert '<a href="#f-image_url">Picture address (optional)</a>:' in wrong.text
    assert _reward(client, shop, "free-coffee")["cost"] == 12
    off = client.post(url + "/active", data={"csrf": csrf, "active": "0"}, follow_redirects=False)
    assert off.status_code == 303
    assert _reward(client, shop, "free-coffee")["active"] is False
    assert 'data-active="false"' in client.get("/admin/rewards").text
    assert "Activate again" in client.get(url + "?lang=en").text


def test_each_reward_lists_its_ratings_and_a_manager_can_hide_one(client, shop) -> None:
    csrf = admin_login(client, shop)
    client.post("/admin/rewards/new", data=_new(csrf), follow_redirects=False)
    reward = _reward(client, shop, "free-coffee")
    member = shop.members[0]
    auth = shop.auth()
    client.post("/api/v1/purchases", json=purchase_body(member_id=member), headers=auth)
    redeemed = client.post(
        f"/api/v1/members/{member}/redemptions", json={"reward_id": reward["id"]}, headers=auth
    )
    assert redeemed.status_code == 201, redeemed.text
    rating = {"reward_id": reward["id"], "stars": 4, "text": "Rich and hot"}
    rated = client.post(f"/api/v1/members/{member}/ratings", json=rating, headers=auth)
    assert rated.status_code == 201
    listing = client.get("/admin/rewards?lang=en")
    assert "4 of 5 (1 ratings)" in listing.text
    page = client.get(f"/admin/rewards/{reward['id']}?lang=en")
    assert "Rich and hot" in page.text
    assert "Member 0" in page.text
    assert "★★★★☆" in page.text
    hide = {"csrf": csrf, "hidden": "1"}
    url = f"/admin/rewards/{reward['id']}/ratings/{rated.json()['id']}"
    assert client.post(url, data=hide, follow_redirects=False).status_code == 303
    page = client.get(f"/admin/rewards/{reward['id']}?lang=en")
    assert "hidden from the catalog" in page.text
    assert _reward(client, shop, "free-coffee")["rating_count"] == 0


def test_the_catalog_is_for_managers_and_other_businesses_rewards_are_not_found(
    client, shop, other_shop
) -> None:
    csrf = admin_login(client, other_shop)
    client.post("/admin/rewards/new", data=_new(csrf), follow_redirects=False)
    theirs = _reward(client, other_shop, "free-coffee")
    admin_login(client, shop, role="staff")
    assert client.get("/admin/rewards").status_code == 403
    assert client.get("/admin/rewards/new").status_code == 403
    csrf = admin_login(client, shop)
    assert "Free coffee" not in client.get("/admin/rewards").text
    missing = client.get(f"/admin/rewards/{theirs['id']}?lang=en")
    assert missing.status_code == 404
    assert "There is no such reward in this business." in missing.text
    edit = {"csrf": csrf, "title_es": "x", "title_en": "x", "cost": "1", "active": "on"}
    assert client.post(f"/admin/rewards/{theirs['id']}", data=edit).status_code == 404
    off = {"csrf": csrf, "active": "0"}
    assert client.post(f"/admin/rewards/{theirs['id']}/active", data=off).status_code == 404
    assert _reward(client, other_shop, "free-coffee")["active"] is True


def test_the_catalog_forms_need_the_session_token(client, shop) -> None:
    csrf = admin_login(client, shop)
    refused = client.post("/admin/rewards/new", data=_new("forged"))
    assert refused.status_code == 403
    assert refusal_code(refused) == "csrf_token_invalid"
    client.post("/admin/rewards/new", data=_new(csrf), follow_redirects=False)
    reward = _reward(client, shop, "free-coffee")
    off = client.post(f"/admin/rewards/{reward['id']}/active", data={"active": "0"})
    assert off.status_code == 403
    assert _reward(client, shop, "free-coffee")["active"] is True


def test_odd_reward_input_gets_an_answer_on_the_page_never_a_server_error(client, shop) -> None:
    csrf = admin_login(client, shop)
    odd = [
        {"cause_id": "9" * 5000, "kind": "donation"},
        {"stock": "abc", "valid_from": "tomorrow"},
        {"value": "1e-99999999", "kind": "discount_fixed"},
        {"value": "150", "kind": "discount_percent"},
        {"kind": "spaceship", "limit_period": "forever"},
        {"cost_unit": "dollars", "image_url": "javascript:alert(1)"},
        {"valid_from": "2026-06-01T00:00", "valid_until": "2026-01-01T00:00"},
    ]
    for extra in odd:
        answer = client.post("/admin/rewards/new", data=_new(csrf) | extra)
        assert answer.status_code == 422, (extra, answer.text[:300])
        assert "Nothing was saved" in answer.text
    assert client.get("/api/v1/rewards", headers=shop.auth()).json() == []
