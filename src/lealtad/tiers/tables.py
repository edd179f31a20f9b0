"""Each member's tier: held since when and until when, and a manager's floor."""

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
    PrimaryKeyConstraint("business_id", "member_id"),
)
