"""The admin console: manager login, the delivery log and the message preview in both languages."""

from __future__ import annotations

from tests.support import PASSWORD, admin_login, refusal_code


def test_the_console_sends_a_visitor_without_a_session_to_the_login_page(client) -> None:
    answer = client.get("/admin", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/admin/login")


def test_a_wrong_password_is_refused_in_the_page_language(client, shop) -> None:
    form = {"business": shop.slug, "email": shop.staff_emails["manager"], "password": "nope"}
    answer = client.post("/admin/login", data={**form, "lang": "es"})
    assert answer.status_code == 401
    assert "Negocio, correo o contraseña incorrectos" in answer.text
    assert "lealtad_staff" not in answer.cookies


def test_a_manager_logs_in_and_finds_the_delivery_log_under_messages(client, shop) -> None:
    admin_login(client, shop)
    assert "How the program is doing" in client.get("/admin?lang=en").text
    page = client.get("/admin/messages?lang=en")
    assert page.status_code == 200
    assert "Messages in the last 30 days" in page.text
    assert "Mensajes de los últimos 30 días" in client.get("/admin/messages?lang=es").text


def test_the_session_cookie_is_http_only_and_same_site(client, shop) -> None:
    form = {"business": shop.slug, "email": shop.staff_emails["owner"], "password": PASSWORD}
    answer = client.post("/admin/login", data=form, follow_redirects=False)
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie


def test_staff_without_the_manager_role_cannot_open_the_console(client, shop) -> None:
    admin_login(client, shop, role="staff")
    answer = client.get("/admin")
    assert answer.status_code == 403
    assert refusal_code(answer) == "role_required"


def test_the_login_only_sends_back_into_the_console(client, shop) -> None:
    form = {
        "business": shop.slug,
        "email": shop.staff_emails["manager"],
        "password": PASSWORD,
        "next": "https://elsewhere.example/admin",
    }
    answer = client.post("/admin/login", data=form, follow_redirects=False)
    assert answer.headers["location"] == "/admin"


def test_the_preview_shows_a_message_with_the_members_own_figures(client, shop) -> None:
    admin_login(client, shop)
    member = client.get(f"/api/v1/members/{shop.members[0]}", headers=shop.auth()).json()
    page = client.get(
        "/admin/messages/preview",
        params={"template": "monthly", "in": "es", "card": member["card_number"], "lang": "en"},
    )
    assert page.status_code == 200
    assert "Tu mes en" in page.text
    assert "Hola Member 0" in page.text
    english = client.get(
        "/admin/messages/preview",
        params={"template": "welcome", "in": "en", "card": member["card_number"]},
    )
    assert "Welcome to" in english.text
    assert member["card_number"] in english.text


def test_the_preview_names_the_next_reward_the_member_is_closest_to(client, shop) -> None:
    admin_login(client, shop)
    reward = {
        "slug": "mug",
        "kind": "free_product",
        "sku": "MUG",
        "title": {"es": "Taza de regalo", "en": "Free mug"},
        "cost_unit": "points",
        "cost": 300,
    }
    assert client.post("/api/v1/rewards", json=reward, headers=shop.auth()).status_code == 201
    purchase = {
        "receipt_id": "R-preview-1",
        "amount": 5000,
        "currency": "EUR",
        "member_id": shop.members[0],
    }
    assert client.post("/api/v1/purchases", json=purchase, headers=shop.auth()).status_code == 201
    member = client.get(f"/api/v1/members/{shop.members[0]}", headers=shop.auth()).json()
    page = client.get(
        "/admin/messages/preview",
        params={"template": "monthly", "in": "en", "card": member["card_number"]},
    )
    assert "250 points to go for Free mug" in page.text


def test_an_unknown_message_kind_or_card_is_explained_not_an_error(client, shop) -> None:
    admin_login(client, shop)
    page = client.get("/admin/messages/preview", params={"template": "nope", "lang": "en"})
    assert page.status_code == 200
    assert "There is no message of that kind." in page.text
    page = client.get("/admin/messages/preview", params={"card": "0000", "lang": "en"})
    assert "No member has that card number" in page.text


def test_logging_out_needs_the_session_form_token(client, shop) -> None:
    csrf = admin_login(client, shop)
    forged = client.post("/admin/logout", data={"csrf": "forged"}, follow_redirects=False)
    assert forged.status_code == 403
    answer = client.post("/admin/logout", data={"csrf": csrf}, follow_redirects=False)
    assert answer.status_code == 303
    assert client.get("/admin", follow_redirects=False).status_code == 303
