"""Tables of the brute-force limits and of card PINs (migration 0011)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, Table, Text, UniqueConstraint

from lealtad.db.metadata import Id, business_column, id_column, metadata

# One row per (business, kind, key): a staff account, a member, a card, an API key or an address.
attempt_limits = Table(
    "attempt_limits",
    metadata,
    id_column(),
    business_column(),
    Column("kind", String(32), nullable=False),
    # A hash or an id, never an e-mail in the clear (see security/limits.py).
    Column("key", String(128), nullable=False),
    Column("failures", Integer, nullable=False),
    Column("window_started_at", DateTime, nullable=True),
    Column("level", Integer, nullable=False),
    Column("locked_until", DateTime, nullable=True),
    Column("last_failure_at", DateTime, nullable=True),
    UniqueConstraint("business_id", "kind", "key"),
)

# A member's optional card PIN (argon2, like staff passwords): asked when staff type the card.
card_pins = Table(
    "card_pins",
    metadata,
    id_column(),
    business_column(),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("pin_hash", Text, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("business_id", "member_id"),
)
