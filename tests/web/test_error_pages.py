"""Errors on the pages people use are pages: in the surface's look, in the page's language,
naming fields by their labels; the JSON API keeps its error envelope (web/error_pages.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from lealtad.api import create_app
from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from tests.support import Shop, admin_login, counter_login, make_shop, wallet_login


@pytest.fixture
def app_client(sqlite_db: Database, settings: Settings, clock: FixedClock) -> Iterator[TestClient]:
    with TestClient(create_app(settings, db=sqlite_db, clock=clock)) as client:
        yield client


@pytest.fixture
def cafe(sqlite_db: Database, clock: FixedClock) -> Shop:
    return make_shop(sqlite_db, clock.now())


def _is_page(answer) -> bool:
    return answer.headers["content-type"].startswith("text/html")


def test_a_name_past_its_limit_on_the_join_form_names_the_field_in_spanish(
    app_client, cafe
) -> None:
    form = {"name": "a" * 201, "email": "ana@example.com", "accept_terms": "true", "lang": "es"}
    answer = app_client.post(f"/join/{cafe.slug}", data=form)
    assert answer.status_code == 422
    assert _is_page(answer)
    assert "Tu nombre:" in answer.text
    assert "200" in answer.text
    assert "string_too_long" not in answer.text
    assert "body." not in answer.text
    assert '"loc"' not in answer.text


def test_the_same_refusal_in_english_when_the_form_was_english(app_client, cafe) -> None:
    form = {"name": "a" * 201, "email": "ana@example.com", "accept_terms": "true", "lang": "en"}
    answer = app_client.post(f"/join/{cafe.slug}", data=form)
    assert "Your name: is too long (at most 200 characters)" in answer.text
    assert 'lang="en"' in answer.text


def test_a_long_e_mail_on_the_wallet_login_is_a_page_with_a_way_back(app_client, cafe) -> None:
    referer = f"http://testserver/w/{cafe.slug}/login?lang=en"
    answer = app_client.post(
        f"/w/{cafe.slug}/login",
        data={"email": "a" * 400 + "@example.com", "lang": "en"},
        headers={"Referer": referer},
    )
    assert answer.status_code == 422
    assert _is_page(answer)
    assert "Your e-mail: is too long" in answer.text
    assert f'href="/w/{cafe.slug}/login?lang=en"' in answer.text


def test_an_unknown_business_is_a_friendly_page_in_the_browsers_language(app_client) -> None:
    for path in ("/join/no-such-cafe", "/w/no-such-cafe", "/w/no-such-cafe/rewards"):
        spanish = app_client.get(path, headers={"Accept-Language": "es-ES,es;q=0.9"})
        assert spanish.status_code == 404, path
        assert _is_page(spanish), path
        assert "No encontramos este negocio" in spanish.text
        english = app_client.get(path, headers={"Accept-Language": "en-GB"})
        assert "We could not find this business" in english.text
        assert "current link" in english.text


def test_the_api_keeps_its_json_errors(app_client, cafe) -> None:
    answer = app_client.get("/api/v1/members/999999", headers=cafe.auth())
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "member_not_found"
    unknown = app_client.get("/api/v1/nothing-here")
    assert unknown.json()["error"]["code"] == "not_found"
    public = app_client.post("/api/v1/public/no-such-cafe/members", json={})
    assert public.headers["content-type"].startswith("application/json")


def test_a_scripts_json_route_keeps_json(app_client, sqlite_db, cafe) -> None:
    wallet_login(app_client, sqlite_db, cafe, cafe.members[0])
    answer = app_client.post(f"/w/{cafe.slug}/push", json={"endpoint": ""})
    assert answer.status_code in (403, 422)
    assert answer.headers["content-type"].startswith("application/json")


def test_an_expired_form_token_in_the_console_is_a_page_in_the_consoles_look(
    app_client, cafe
) -> None:
    admin_login(app_client, cafe, "owner")
    answer = app_client.post("/admin/settings", data={"csrf": "stale", "name": "X"})
    assert answer.status_code == 403
    assert _is_page(answer)
    assert "Este formulario ha caducado" in answer.text
    assert "· Lealtad</title>" in answer.text  # the console's own base page


def test_the_counter_answers_htmx_with_a_fragment_and_a_browser_with_a_page(
    app_client, cafe
) -> None:
    csrf = counter_login(app_client, cafe)
    form = {"q": "x" * 400, "csrf": csrf, "lang": "en"}
    fragment = app_client.post("/counter/find", data=form, headers={"HX-Request": "true"})
    assert fragment.status_code == 422
    assert _is_page(fragment)
    assert "<html" not in fragment.text
    assert "Scan the card, or type a card number, e-mail or phone: is too long" in fragment.text
    page = app_client.post("/counter/find", data=form)
    assert "<html" in page.text
    assert "/static/counter.css" in page.text


def test_an_address_no_page_has_is_a_page_not_found(app_client) -> None:
    answer = app_client.get("/w", headers={"Accept-Language": "en"})
    assert answer.status_code == 404
    assert _is_page(answer)
    assert "Page not found" in answer.text
