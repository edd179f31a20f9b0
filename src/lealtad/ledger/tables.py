"""The journal (entries and their postings), the accounts with their balance projection, the lots
that carry expiry and pending dates, and the idempotency keys of the calls that wrote them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
)

from lealtad.db.metadata import Id, business_column, id_column, metadata
from lealtad.security.fields import EncryptedJSON

accounts = Table(
    "ledger_accounts",
    metadata,
    id_column(),
    business_column(),
    # "m:<member id>:<code>" for a member's account, "s:<name>:<unit>" for a system account.
    Column("key", String(100), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=True, index=True),
    Column("code", String(64), nullable=False),
    Column("unit", String(64), nullable=False),
    # Projection of the sum of postings, kept for member accounts only: system accounts take a
    # posting on every award and a stored total there would be one hot row for all writers.
    Column("balance", BigInteger, nullable=False, default=0),
    Column("created_at", DateTime, nullable=False),
    Index("uq_ledger_accounts_business_key", "business_id", "key", unique=True),
)

entries = Table(
    "journal_entries",
    metadata,
    id_column(),
    business_column(),
    Column("kind", String(32), nullable=False),
    Column("memo", String(500), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=True, index=True),
    Column("purchase_id", Id, nullable=True, index=True),
    Column("refund_id", Id, nullable=True),
    Column("actor", String(100), nullable=False),
    Column("occurred_at", DateTime, nullable=False),
    Column("recorded_at", DateTime, nullable=False),
)

lots = Table(
    "ledger_lots",
    metadata,
    id_column(),
    business_column(),
    Column("account_id", Id, ForeignKey("ledger_accounts.id"), nullable=False),
    Column("entry_id", Id, ForeignKey("journal_entries.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("remaining", BigInteger, nullable=False),
    Column("expires_at", DateTime, nullable=True),
    Column("unlocks_at", DateTime, nullable=True),
    # The purchase whose award made this lot: a refund claws back its own lots first.
    Column("origin_purchase_id", Id, nullable=True),
    Index("ix_ledger_lots_open", "account_id", "remaining"),
    Index("ix_ledger_lots_expires_at", "business_id", "expires_at"),
    Index("ix_ledger_lots_unlocks_at", "business_id", "unlocks_at"),
)

postings = Table(
    "journal_postings",
    metadata,
    id_column(),
    business_column(),
    Column("entry_id", Id, ForeignKey("journal_entries.id"), nullable=False, index=True),
    Column("account_id", Id, ForeignKey("ledger_accounts.id"), nullable=False, index=True),
    Column("unit", String(64), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("lot_id", Id, ForeignKey("ledger_lots.id"), nullable=True, index=True),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    business_column(),
    Column("key", String(200), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    # Encrypted: a stored first answer (an enrolment, say) can hold an e-mail address (D28).
    Column("response", EncryptedJSON("idempotency_keys.response"), nullable=False),
    Column("created_at", DateTime, nullable=False),
    PrimaryKeyConstraint("business_id", "key"),
)
