"""The wallet's ticket page: a member signed in opens the receipt's printed link, confirms, and
reads the answer in their language: points earned, or why not; a phone keeps one device id."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from tests.support import Shop, form_field, wallet_login
from tests.tickets.conftest import make_key, receipt, scanned, set_rules


def test_a_member_claims_a_printed_receipt_in_the_wallet_once_in_spanish_and_english(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    key = make_key(client, shop)
    code = receipt(key, "W-1", 2000, clock.now() - timedelta(minutes=5))
    csrf = wallet_login(client, db, shop, shop.members[0])
    page = client.get(f"/w/{shop.slug}/tickets", params={"t": scanned(code), "lang": "es"})
    assert page.status_code == 200
    assert "Escanea tu ticket" in page.text
    assert form_field(page.text, "csrf") == csrf
    assert code in page.text  # the link fills the field; nothing is claimed until confirmed
    assert client.cookies.get("lealtad_device")
    sent = {"csrf": csrf, "code": code, "lang": "es"}
    done = client.post(f"/w/{shop.slug}/tickets", data=sent)
    assert done.status_code == 201, done.text
    assert 'data-outcome="accepted"' in done.text
    assert "20 puntos" in done.text
    assert "20,00" in done.text
    again = client.post(f"/w/{shop.slug}/tickets", data=sent | {"lang": "en"})
    assert again.status_code == 409
    assert "This ticket has already been claimed." in again.text


def test_the_wallet_says_why_a_ticket_is_refused(
    client: TestClient, db: Database, shop: Shop, other_shop: Shop, clock: FixedClock
) -> None:
    key, theirs = make_key(client, shop), make_key(client, other_shop)
    set_rules(client, shop, member_daily_claims=1, max_age_days=2)
    csrf = wallet_login(client, db, shop, shop.members[0])
    url = f"/w/{shop.slug}/tickets"
    good = receipt(key, "W-2", 500, clock.now())
    cases = [
        (receipt(theirs, "W-3", 500, clock.now()), 422, "Este ticket no es de este negocio."),
        (receipt(key, "W-4", 500, clock.now() - timedelta(days=3)), 422, "demasiado antiguo"),
        (good[:-4] + "AAAA", 422, "no es válido"),
        ("hola", 422, "no es un ticket"),
    ]
    for code, status, said in cases:
        answer = client.post(url, data={"csrf": csrf, "code": code, "lang": "es"})
        assert answer.status_code == status, answer.text
        assert said in answer.text
    assert client.post(url, data={"csrf": csrf, "code": good, "lang": "es"}).status_code == 201
    over = receipt(key, "W-5", 500, clock.now())
    answer = client.post(url, data={"csrf": csrf, "code": over, "lang": "en"})
    assert answer.status_code == 429
    assert "You have claimed as many tickets as you can today." in answer.text
    forged = client.post(url, data={"csrf": "wrong", "code": over, "lang": "en"})
    assert forged.status_code == 403


def test_a_visitor_without_a_session_is_sent_to_log_in(client: TestClient, shop: Shop) -> None:
    answer = client.get(f"/w/{shop.slug}/tickets", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/w/{shop.slug}/login"


def test_the_ticket_tab_shows_only_where_a_ticket_can_earn(
    client: TestClient, db: Database, shop: Shop
) -> None:
    """No tax id and no signing key: nothing a member scans could earn, so the wallet offers no
    scanner; the page itself, reached from an old link, says to show the card instead."""
    wallet_login(client, db, shop, shop.members[0])
    card = client.get(f"/w/{shop.slug}", params={"lang": "en"}).text
    assert f'href="/w/{shop.slug}/tickets' not in card
    page = client.get(f"/w/{shop.slug}/tickets", params={"lang": "en"}).text
    assert "data-tickets-off" in page
    assert 'id="ticket-form"' not in page
    make_key(client, shop)
    card = client.get(f"/w/{shop.slug}", params={"lang": "es"}).text
    assert f'href="/w/{shop.slug}/tickets?lang=es"' in card
    assert 'class="wallet-tabs five"' in card
    page = client.get(f"/w/{shop.slug}/tickets", params={"lang": "es"}).text
    assert 'id="ticket-form"' in page
