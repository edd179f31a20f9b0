"""The outbox: domain events written in the same transaction as the change that caused them,
delivered after commit by the worker."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Index, Integer, String, Table

from lealtad.db.metadata import business_column, id_column, metadata

outbox = Table(
    "outbox",
    metadata,
    id_column(),
    business_column(),
    Column("topic", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("available_at", DateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("delivered_at", DateTime, nullable=True),
    Index("ix_outbox_pending", "delivered_at", "available_at"),
)
