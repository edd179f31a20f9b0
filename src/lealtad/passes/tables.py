"""The business's wallet credentials (sealed like personal data), one pass per member and the
devices that hold it."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, String, Table, Text

from lealtad.db.metadata import Id, business_column, id_column, metadata
from lealtad.security.fields import EncryptedJSON, EncryptedString

# One row per business. The certificates are public by nature; the private keys are sealed.
pass_credentials = Table(
    "pass_credentials",
    metadata,
    id_column(),
    business_column(),
    Column("apple_team_id", String(20), nullable=True),
    Column("apple_pass_type_id", String(200), nullable=True),
    Column("apple_certificate", Text, nullable=True),
    Column(
        "apple_private_key", EncryptedString("pass_credentials.apple_private_key"), nullable=True
    ),
    Column("apple_wwdr", Text, nullable=True),
    Column("google_issuer_id", String(40), nullable=True),
    Column(
        "google_service_account",
        EncryptedJSON("pass_credentials.google_service_account"),
        nullable=True,
    ),
    Column("updated_at", DateTime, nullable=False),
    Index("uq_pass_credentials_business", "business_id", unique=True),
)

# A member's Apple pass: its serial number, and the fingerprint of what it last showed, so that
# a change of balance is noticed and pushed.
wallet_passes = Table(
    "wallet_passes",
    metadata,
    id_column(),
    business_column(),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False, index=True),
    Column("serial_number", String(40), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("updated_at", DateTime, nullable=False),
    # Until when the member's ledger has been looked at for changes (passes/push.py).
    Column("checked_at", DateTime, nullable=False),
    # Until when the member's Google object has been brought up to date (passes/google_sync.py).
    Column("google_synced_at", DateTime, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Index("uq_wallet_passes_serial", "serial_number", unique=True),
    Index("uq_wallet_passes_member", "business_id", "member_id", unique=True),
)

pass_registrations = Table(
    "pass_registrations",
    metadata,
    id_column(),
    business_column(),
    Column("pass_id", Id, ForeignKey("wallet_passes.id"), nullable=False, index=True),
    Column("device_library_id", String(100), nullable=False),
    Column("push_token", String(200), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Index("uq_pass_registrations_device", "pass_id", "device_library_id", unique=True),
)
