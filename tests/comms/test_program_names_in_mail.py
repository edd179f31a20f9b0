"""E-mails name the program's things as the member reads them: a full card's reward by its
catalog title, in Spanish and in English, never by its slug."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from lealtad.kit.clock import FixedClock
from lealtad.purchases import service as purchases
from lealtad.purchases.schemas import ItemIn, PurchaseIn
from lealtad.tenancy.model import Principal, Role
from tests.comms.test_email import enrol, text_of, to, work
from tests.support import make_template_shop


@pytest.fixture
def noon(clock: FixedClock) -> FixedClock:
    clock.at = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)  # 12:00 in Madrid, outside quiet hours
    return clock


def test_the_full_card_mail_names_the_reward_by_its_title_in_the_members_language(
    db, noon, mail_settings, inbox
) -> None:
    box, _ = inbox
    shop = make_template_shop(db, noon.now(), members_count=0)
    for n, (address, lang) in enumerate((("ana@example.org", "es"), ("bob@example.org", "en"))):
        member = enrol(db, shop, noon, address, lang)
        drinks = ItemIn(sku="CCL", category="drinks", quantity=Decimal(10), unit_price=180)
        sale = PurchaseIn(
            receipt_id=f"T-{n}", amount=1800, currency="EUR", member_id=member, items=[drinks]
        )
        with db.transaction() as conn:
            purchases.record(
                conn, Principal(shop.id, Role.staff), sale, secret_key="", now=noon.now()
            )
    work(db, mail_settings, noon, shop)
    spanish = " ".join(text_of(m) for m in to(box, "ana@example.org"))
    english = " ".join(text_of(m) for m in to(box, "bob@example.org"))
    assert "Ya tienes tu recompensa (Bebida gratis)" in spanish
    assert "Your reward (Free drink) is waiting for you." in english
    assert "free-drink" not in spanish + english
