"""The demo business is scored as the nightly jobs would score it, so that an owner's first look
at the customers page and at a member shows segments, not "not computed yet"."""

from __future__ import annotations

from sqlalchemy import func, select

from lealtad import demo
from lealtad.analytics.tables import member_stats
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.members import service as members
from lealtad.members.tables import members as member_rows


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


def test_demo_members_have_phone_numbers_of_the_templates_country(
    db: Database, clock: FixedClock
) -> None:
    """A US demo's members once had Spanish mobile numbers; each is now in the fiction range of
    the business's country (555-01xx in North America, Ofcom's drama range in the UK)."""
    for template, prefix in (("stars-tiers", "+1202555"), ("points-per-unit", "+447700900")):
        info = demo.seed(db, clock.now(), template=template, members_count=3)
        with db.read() as conn:
            ids = conn.scalars(
                select(member_rows.c.id).where(member_rows.c.business_id == info.business_id)
            )
            phones = [members.get(conn, info.business_id, m).phone for m in ids]
        assert len(phones) >= 3
        assert all(p.startswith(prefix) for p in phones), phones
