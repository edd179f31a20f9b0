"""The outbox: domain events written in the same transaction as the change that caused them,
delivered after commit by the worker."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from lealtad.db.metadata import Id, business_column, id_column, metadata
from lealtad.security.fields import EncryptedJSON

outbox = Table(
    "outbox",
    metadata,
    id_column(),
    business_column(),
    Column("topic", String(64), nullable=False),
    # Encrypted: an event about a member may carry their contact details (D28).
    Column("payload", EncryptedJSON("outbox.payload"), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("available_at", DateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("delivered_at", DateTime, nullable=True),
    Index("ix_outbox_pending", "delivered_at", "available_at"),
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    id_column(),
    business_column(),
    Column("url", String(500), nullable=False),
    # The signing secret, "whsec_" + base64 of the key, as the Standard Webhooks convention has it.
    Column("secret", String(100), nullable=False),
    Column("topics", JSON, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    id_column(),
    business_column(),
    Column("endpoint_id", Id, ForeignKey("webhook_endpoints.id"), nullable=False, index=True),
    Column("outbox_id", Id, ForeignKey("outbox.id"), nullable=False),
    Column("message_id", String(64), nullable=False),
    Column("topic", String(64), nullable=False),
    Column("payload", EncryptedJSON("webhook_deliveries.payload"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime, nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", String(500), nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("delivered_at", DateTime, nullable=True),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    Index("uq_webhook_deliveries_once", "endpoint_id", "outbox_id", unique=True),
)

messages = Table(
    "messages",
    metadata,
    id_column(),
    business_column(),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False, index=True),
    Column("channel", String(16), nullable=False),
    # "transactional" bypasses marketing caps and quiet hours; "marketing" needs consent.
    Column("category", String(16), nullable=False),
    Column("template", String(64), nullable=False),
    Column("locale", String(10), nullable=False),
    # The figures and names rendered into the message: encrypted like the member's profile.
    Column("context", EncryptedJSON("messages.context"), nullable=False),
    Column("campaign_id", Id, nullable=True, index=True),
    Column("outbox_id", Id, nullable=True),
    Column("status", String(16), nullable=False),
    Column("reason", String(200), nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("send_after", DateTime, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("sent_at", DateTime, nullable=True),
    Index("ix_messages_due", "status", "send_after"),
    Index(
        "uq_messages_once",
        "business_id",
        "member_id",
        "template",
        "outbox_id",
        "channel",
        unique=True,
    ),
)

comms_policies = Table(
    "comms_policies",
    metadata,
    business_column(),
    Column("marketing_per_week", Integer, nullable=False),
    Column("quiet_start", String(5), nullable=False),
    Column("quiet_end", String(5), nullable=False),
    Column("email_from", String(320), nullable=True),
    Column("points_earned_messages", Boolean, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    PrimaryKeyConstraint("business_id"),
)

unsubscribes = Table(
    "unsubscribes",
    metadata,
    id_column(),
    business_column(),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("message_id", Id, nullable=True),
    Column("at", DateTime, nullable=False),
    Column("note", Text, nullable=False),
)

notices = Table(
    "notices",
    metadata,
    id_column(),
    business_column(),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    # What the notice is about and its occasion (an expiry date, a win-back stage and the visit
    # it counts from), so the daily job can run any number of times and tell a member once.
    Column("kind", String(32), nullable=False),
    Column("key", String(100), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Index("uq_notices_once", "business_id", "member_id", "kind", "key", unique=True),
)

campaigns = Table(
    "campaigns",
    metadata,
    id_column(),
    business_column(),
    Column("name", String(200), nullable=False),
    Column("subject", JSON, nullable=False),
    Column("body", JSON, nullable=False),
    # Who gets it: members in any of these tiers / with any of these tags; empty lists mean all.
    Column("tiers", JSON, nullable=False),
    Column("tags", JSON, nullable=False),
    Column("send_at", DateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("recipients", Integer, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Index("ix_campaigns_due", "status", "send_at"),
)

push_subscriptions = Table(
    "push_subscriptions",
    metadata,
    id_column(),
    business_column(),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False, index=True),
    # The browser's PushSubscription: where to send, and the keys to encrypt for (RFC 8291).
    Column("endpoint", String(1000), nullable=False),
    Column("p256dh", String(200), nullable=False),
    Column("auth", String(100), nullable=False),
    Column("user_agent", String(300), nullable=True),
    Column("active", Boolean, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("last_sent_at", DateTime, nullable=True),
    Index("uq_push_subscriptions_endpoint", "business_id", "endpoint", unique=True),
)
