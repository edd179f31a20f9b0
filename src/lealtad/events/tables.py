"""Non-purchase events of members: birthdays, surveys, training hours, custom events."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, Numeric, String, Table

from lealtad.db.metadata import Id, business_column, id_column, metadata

member_events = Table(
    "member_events",
    metadata,
    id_column(),
    business_column(),
    Column("event_id", String(100), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False, index=True),
    Column("name", String(64), nullable=False),
    Column("value", Numeric(18, 4), nullable=False),
    Column("properties", JSON, nullable=False),
    Column("occurred_at", DateTime, nullable=False),
    Column("recorded_at", DateTime, nullable=False),
    Index("uq_member_events_business_event", "business_id", "event_id", unique=True),
    Index("ix_member_events_metric", "business_id", "member_id", "name", "occurred_at"),
)
