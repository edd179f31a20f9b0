"""E-mails wear the business's brand: its name on its colour in the header, and the logo by an
absolute address on the public base URL (a mail reader has no page to resolve a path against)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from email.message import Message

import pytest
from PIL import Image

from lealtad.branding import service as branding
from lealtad.kit.clock import FixedClock
from lealtad.tenancy.model import Role
from tests.comms.test_email import enrol, to, work


@pytest.fixture
def noon(clock: FixedClock) -> FixedClock:
    clock.at = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)  # outside the quiet hours in Madrid
    return clock


def html_of(mail: Message) -> str:
    part = next(p for p in mail.walk() if p.get_content_type() == "text/html")
    return part.get_payload(decode=True).decode()  # type: ignore[union-attr]


def test_the_welcome_mail_carries_the_brand(db, shop, noon, mail_settings, inbox) -> None:
    box, _ = inbox
    png = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 125, 79)).save(png, format="PNG")
    with db.transaction() as conn:
        owner = shop.principal(Role.owner)
        branding.set_colour(conn, owner, "#0a7d4f", noon.now())
        hashed = branding.set_logo(conn, owner, png.getvalue(), noon.now())
    enrol(db, shop, noon, "ana@example.org", "es")
    work(db, mail_settings, noon, shop)
    (mail,) = to(box, "ana@example.org")
    html = html_of(mail)
    assert 'data-brand="#0a7d4f"' in html
    assert "color:#ffffff" in html  # white reads on this green
    logo = f"{mail_settings.public_base_url}/b/{shop.slug}/logo/{hashed}"
    assert logo.startswith("http")
    assert f'src="{logo}"' in html


def test_a_mail_without_a_brand_shows_the_standard_colour(
    db,
    shop,
    noon,
    mail_settings,
    inbox,
) -> None:
    box, _ = inbox
    enrol(db, shop, noon, "bob@example.org", "en")
    work(db, mail_settings, noon, shop)
    (mail,) = to(box, "bob@example.org")
    html = html_of(mail)
    assert 'data-brand="#5b3a29"' in html
    assert "/logo/" not in html
