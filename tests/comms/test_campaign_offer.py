"""A campaign can name each member's own offer: {{ offer }} and {{ favourite_category }} in the
body become that member's sentence and category in the e-mail, in their language; the body is
filled in, never run as a template."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from lealtad.events.jobs import run_daily
from lealtad.ledger import adjustments
from lealtad.members import service as members
from lealtad.members.schemas import Consent, MemberIn
from lealtad.purchases import service as purchases
from lealtad.purchases.schemas import ItemIn, PurchaseIn
from tests.comms.test_email import text_of, to, work
from tests.conftest import SECRET


def _enrol(conn, shop, now, name: str, address: str, locale: str) -> int:
    data = MemberIn(name=name, email=address, locale=locale, consent=Consent(email=True))  # type: ignore[arg-type]
    return members.enrol(conn, shop.id, data, channel="api", now=now)


def test_a_campaign_body_with_offer_gives_each_member_their_own(
    db, shop, clock, mail_settings, inbox, client
) -> None:
    box, _ = inbox
    clock.at = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)  # noon in Madrid, outside quiet hours
    now = clock.now()
    with db.transaction() as conn:
        ana = _enrol(conn, shop, now, "Ana", "ana@example.org", "es")
        bob = _enrol(conn, shop, now, "Bob", "bob@example.org", "en")
        # Ana: 30 points and no purchases. Bob: a pastry purchase (6 points) and 94 more.
        adjustments.adjust(
            conn, shop.id, ana, unit="points", amount=30, reason="gift", actor="t", now=now
        )
        sale = PurchaseIn(
            receipt_id="R-bob",
            amount=600,
            currency="EUR",
            member_id=bob,
            items=[
                ItemIn(sku="CROISSANT", category="pastries", quantity=Decimal(2), unit_price=300)
            ],
        )
        purchases.record(conn, shop.principal(), sale, secret_key=SECRET, now=now)
        adjustments.adjust(
            conn, shop.id, bob, unit="points", amount=94, reason="gift", actor="t", now=now
        )
    cookie = {
        "slug": "cookie",
        "kind": "physical_gift",
        "title": {"es": "Galleta", "en": "Cookie"},
        "cost": 80,
    }
    assert client.post("/api/v1/rewards", json=cookie, headers=shop.auth()).status_code == 201
    work(db, mail_settings, clock, shop)  # the welcome mails
    body = {
        "name": "For you",
        "subject": {"es": "{{ name }}, esto es para ti", "en": "{{ name }}, this is for you"},
        "body": {
            "es": "Hola {{ name }}: {{offer}} {{ 7*7 }} {{ unknown }}",
            "en": "Hi {{ name }}: {{ offer }} Your favourite: {{ favourite_category }}.",
        },
        "send_at": (clock.now() + timedelta(minutes=5)).isoformat(),
    }
    made = client.post("/api/v1/campaigns", json=body, headers=shop.auth())
    assert made.status_code == 201, made.text
    clock.at += timedelta(minutes=10)
    with db.transaction() as conn:
        run_daily(conn, shop.id, clock.now(), SECRET)
    work(db, mail_settings, clock, shop)

    (spanish,) = [m for m in to(box, "ana@example.org") if "para ti" in m["Subject"]]
    assert spanish["Subject"] == "Ana, esto es para ti"
    assert text_of(spanish).startswith(
        # Not a template: what is not one of the member's fields is left as written.
        "Hola Ana: Solo te faltan 50 puntos para Galleta. {{ 7*7 }} {{ unknown }}"
    )
    (english,) = [m for m in to(box, "bob@example.org") if "for you" in m["Subject"]]
    assert english["Subject"] == "Bob, this is for you"
    assert text_of(english).startswith(
        "Hi Bob: You can redeem Cookie now for 80 points: you haven't tried it yet! "
        "Your favourite: pastries."
    )
    page = next(p for p in english.walk() if p.get_content_type() == "text/html")
    assert "you haven&#39;t tried it yet!" in page.get_payload(decode=True).decode()  # type: ignore[union-attr]
