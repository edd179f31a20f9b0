"""Businesses, locations, staff users, API keys and the audit log."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    false,
)

from lealtad.db.metadata import Id, business_column, id_column, metadata
from lealtad.security.fields import EncryptedJSON

businesses = Table(
    "businesses",
    metadata,
    id_column(),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("locale", String(10), nullable=False),
    Column("created_at", DateTime, nullable=False),
    # When set, every owner, manager and staff login needs a TOTP code as well as the password.
    Column("two_step_required", Boolean, nullable=False, server_default=false()),
    # Stamped anew by triggers (migration 0019) whenever this row, its locations, its program
    # versions or its challenges change: the key of every per-process cache of them (D64).
    Column("config_version", BigInteger, nullable=False, server_default="0"),
)

locations = Table(
    "locations",
    metadata,
    id_column(),
    business_column(),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

staff_users = Table(
    "staff_users",
    metadata,
    id_column(),
    business_column(),
    Column("email", String(320), nullable=False),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("location_id", Id, ForeignKey("locations.id"), nullable=True),
    Column("password_hash", Text, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime, nullable=False),
    # Base32 TOTP secret (RFC 6238); it counts only once confirmed with a first code.
    Column("totp_secret", String(64), nullable=True),
    Column("totp_confirmed_at", DateTime, nullable=True),
    # The language the console speaks to this person, over the browser's.
    Column("locale", String(10), nullable=True),
    # Carried by every console cookie and staff token made for this person, which stop working
    # once it moves on: logout, a new password, two-step turned on or reset, a disabled account.
    Column("session_version", Integer, nullable=False, default=0, server_default="0"),
    Index("uq_staff_users_business_email", "business_id", "email", unique=True),
)

api_keys = Table(
    "api_keys",
    metadata,
    id_column(),
    business_column(),
    Column("name", String(200), nullable=False),
    Column("prefix", String(16), nullable=False, unique=True),
    Column("secret_hash", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("location_id", Id, ForeignKey("locations.id"), nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime, nullable=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    id_column(),
    business_column(),
    Column("actor", String(100), nullable=False),
    Column("action", String(100), nullable=False),
    Column("target", String(200), nullable=False),
    # Encrypted: before/after values of a profile change are personal data (D28).
    Column("details", EncryptedJSON("audit_log.details"), nullable=False),
    Column("at", DateTime, nullable=False),
    # Where the change came from (D-audit): the caller's address and browser, the way in
    # (api, admin, counter, cli, worker) and the request id that ties it to the server's log.
    Column("ip", String(64), nullable=True),
    Column("user_agent", String(300), nullable=True),
    Column("channel", String(16), nullable=True),
    Column("request_id", String(64), nullable=True),
)
