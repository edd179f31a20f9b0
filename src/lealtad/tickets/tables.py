"""Receipt-signing keys per location, each business's ticket settings, and the claims members
made with a ticket, one per ticket."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Table

from lealtad.db.metadata import Id, business_column, id_column, metadata
from lealtad.security.fields import EncryptedString

ticket_keys = Table(
    "ticket_keys",
    metadata,
    id_column(),
    business_column(),
    Column("location_id", Id, ForeignKey("locations.id"), nullable=False),
    # The public name the printed code carries (`k`), so that rotation keeps old receipts valid.
    Column("key_id", String(16), nullable=False),
    # base64url of 32 random bytes, encrypted at rest like the other secrets (D28).
    Column("secret", EncryptedString("ticket_keys.secret"), nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("created_at", DateTime, nullable=False),
    # A retired key verifies nothing more; the row stays for the audit trail.
    Column("retired_at", DateTime, nullable=True),
    Index("uq_ticket_keys_business_key", "business_id", "key_id", unique=True),
)

ticket_settings = Table(
    "ticket_settings",
    metadata,
    Column("business_id", Id, ForeignKey("businesses.id"), primary_key=True),
    # The business's own tax id (NIF); a VERI*FACTU ticket is accepted only when it is the issuer.
    Column("tax_id", String(20), nullable=True),
    Column("max_age_days", Integer, nullable=False),
    Column("member_daily_claims", Integer, nullable=False),
    Column("device_daily_claims", Integer, nullable=False),
    # VERI*FACTU tickets above this total (minor units) wait for staff approval; None: never.
    Column("approval_above", Integer, nullable=True),
    Column("updated_at", DateTime, nullable=False),
)

ticket_claims = Table(
    "ticket_claims",
    metadata,
    id_column(),
    business_column(),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False, index=True),
    # "signed" (the business's receipt code) or "verifactu" (the invoice QR).
    Column("source", String(16), nullable=False),
    # One claim per ticket: "r:<receipt id>" or "vf:<nif>:<numserie>" (unique per business).
    Column("ticket_ref", String(200), nullable=False),
    Column("receipt_id", String(100), nullable=False),
    Column("location_id", Id, nullable=True),
    Column("amount", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("issued_at", DateTime, nullable=False),
    # "accepted", "pending" (waits for staff) or "refused" (by staff).
    Column("status", String(16), nullable=False),
    Column("device_id", String(64), nullable=True),
    Column("purchase_id", Id, nullable=True),
    Column("points", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("decided_by", String(100), nullable=True),
    Column("decided_at", DateTime, nullable=True),
    Index("uq_ticket_claims_business_ref", "business_id", "ticket_ref", unique=True),
    Index("ix_ticket_claims_business_status", "business_id", "status"),
    Index("ix_ticket_claims_business_device", "business_id", "device_id"),
)
