"""The demo business is scored as the nightly jobs would score it, so that an owner's first look
at the customers page and at a member shows segments, not "not computed yet"."""

from __future__ import annotations

from sqlalchemy import func, select

from lealtad import demo
from lealtad.analytics.tables import member_stats
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock


def test_the_seeded_demo_has_every_buying_member_in_a_segment(
    db: Database, clock: FixedClock
) -> None:
    info = demo.seed(db, clock.now(), template="gem-tiers")
    stats = member_stats.c
    with db.read() as conn:
        buyers, segmented = conn.execute(
            select(
                func.count().filter(stats.purchases > 0),
                func.count().filter(stats.segment.is_not(None)),
            ).where(stats.business_id == info.business_id)
        ).one()
    assert buyers > 0
    assert segmented == buyers
