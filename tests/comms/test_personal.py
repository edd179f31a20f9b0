"""Messages are personal: the monthly summary names the reward the member is closest to, and
how much is missing, in the member's language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lealtad.comms.outbox import emit
from lealtad.kit.clock import FixedClock
from lealtad.ledger import adjustments
from lealtad.rewards import service as rewards
from lealtad.rewards.schemas import RewardIn
from tests.comms.test_email import enrol, text_of, to, work


@pytest.fixture
def noon(clock: FixedClock) -> FixedClock:
    clock.at = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)  # 12:00 in Madrid, outside quiet hours
    return clock


def _reward(slug: str, cost: int, es: str, en: str) -> RewardIn:
    return RewardIn.model_validate(
        {
            "slug": slug,
            "kind": "free_product",
            "sku": slug.upper(),
            "title": {"es": es, "en": en},
            "cost_unit": "points",
            "cost": cost,
        }
    )


def test_the_monthly_summary_names_the_closest_reward_and_what_is_missing(
    db, shop, noon, mail_settings, inbox
) -> None:
    box, _ = inbox
    spanish = enrol(db, shop, noon, "ana@example.org", "es")
    english = enrol(db, shop, noon, "bob@example.org", "en")
    with db.transaction() as conn:
        rewards.create(conn, shop.id, _reward("mug", 300, "Taza de regalo", "Free mug"), noon.now())
        rewards.create(conn, shop.id, _reward("bag", 900, "Bolsa", "Tote bag"), noon.now())
        for member in (spanish, english):
            adjustments.adjust(
                conn,
                shop.id,
                member,
                unit="points",
                amount=120,
                reason="welcome gift",
                actor="test",
                now=noon.now(),
            )
            emit(
                conn,
                shop.id,
                "member.monthly",
                {"member_id": member, "month": "2026-03"},
                noon.now(),
            )
    work(db, mail_settings, noon, shop)
    assert any(
        "Te faltan 180 puntos para Taza de regalo" in text_of(m) for m in to(box, "ana@example.org")
    )
    assert any("180 points to go for Free mug" in text_of(m) for m in to(box, "bob@example.org"))
