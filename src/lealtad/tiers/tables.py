"""Each member's tier: held since when and until when, a manager's floor, and where it started."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, PrimaryKeyConstraint, String, Table

from lealtad.db.metadata import Id, business_column, metadata

tier_status = Table(
    "tier_status",
    metadata,
    business_column(),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("tier_id", String(64), nullable=True),
    Column("since", DateTime, nullable=True),
    # Until then the tier holds even if the member stops qualifying (window plus grace).
    Column("held_until", DateTime, nullable=True),
    Column("floor_tier_id", String(64), nullable=True),
    Column("floor_set_by", String(100), nullable=True),
    # Where the member started (enrolment's entry tier, or the members import's tier with its
    # since and until): a replay in date order starts here (D75). Never written by a check.
    Column("opening_tier_id", String(64), nullable=True),
    Column("opening_since", DateTime, nullable=True),
    Column("opening_held_until", DateTime, nullable=True),
    PrimaryKeyConstraint("business_id", "member_id"),
)
