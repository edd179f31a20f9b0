"""Purchases reported by a POS or shop, and the refunds against them."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, DateTime, ForeignKey, Index, String, Table

from lealtad.db.metadata import Id, business_column, id_column, metadata

purchases = Table(
    "purchases",
    metadata,
    id_column(),
    business_column(),
    Column("receipt_id", String(100), nullable=False),
    # Null for an anonymous purchase: analytics needs them for the enrolment rate.
    Column("member_id", Id, ForeignKey("members.id"), nullable=True, index=True),
    Column("location_id", Id, ForeignKey("locations.id"), nullable=True),
    Column("staff_id", Id, ForeignKey("staff_users.id"), nullable=True),
    Column("channel", String(16), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("items", JSON, nullable=False),
    Column("refunded_amount", BigInteger, nullable=False, default=0),
    Column("occurred_at", DateTime, nullable=False),
    Column("recorded_at", DateTime, nullable=False),
    Index("uq_purchases_business_receipt", "business_id", "receipt_id", unique=True),
)

refunds = Table(
    "refunds",
    metadata,
    id_column(),
    business_column(),
    Column("refund_id", String(100), nullable=False),
    Column("purchase_id", Id, ForeignKey("purchases.id"), nullable=False, index=True),
    Column("amount", BigInteger, nullable=False),
    # What this refund owed back per account code, and what could not be taken back because the
    # member had already spent it; owed totals drive the proportional reversal of later refunds.
    Column("owed", JSON, nullable=False),
    Column("shortfall", JSON, nullable=False),
    Column("occurred_at", DateTime, nullable=False),
    Column("recorded_at", DateTime, nullable=False),
    Index("uq_refunds_business_refund", "business_id", "refund_id", unique=True),
)
