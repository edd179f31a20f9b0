"""Tables of the phone channels (SMS and WhatsApp): each business's provider settings, and one
row per message handed to a provider, found again by the provider's own id when it reports how
the message went."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, DateTime, ForeignKey, Index, String, Table

from lealtad.db.metadata import Id, business_column, id_column, metadata
from lealtad.security.fields import EncryptedJSON

message_channels = Table(
    "message_channels",
    metadata,
    id_column(),
    business_column(),
    # "sms" or "whatsapp": one row of each per business at most.
    Column("channel", String(16), nullable=False),
    Column("enabled", Boolean, nullable=False),
    # The provider's API root: configurable so a business may use a regional host, and tests
    # a local stand-in.
    Column("base_url", String(300), nullable=False),
    # SMS: the account id and the sender (a number or an alphanumeric sender id). WhatsApp: the
    # phone number id, the API version and the WhatsApp Business Account id.
    Column("account", String(100), nullable=False),
    Column("sender", String(100), nullable=False),
    Column("api_version", String(16), nullable=False),
    # The calling code of numbers stored without one ("34" turns 612345678 into +34612345678).
    Column("country_code", String(4), nullable=False),
    # The auth token / access token, the app secret and the webhook verify token: encrypted.
    Column("secrets", EncryptedJSON("message_channels.secrets"), nullable=False),
    # WhatsApp: our message kind -> the business's approved template name.
    Column("templates", JSON, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Index("uq_message_channels_business_channel", "business_id", "channel", unique=True),
)

channel_sends = Table(
    "channel_sends",
    metadata,
    id_column(),
    business_column(),
    Column("message_id", Id, ForeignKey("messages.id"), nullable=False, index=True),
    Column("channel", String(16), nullable=False),
    # The provider's id of the message (an SMS sid, a WhatsApp "wamid...").
    Column("provider_id", String(128), nullable=False),
    # sent, delivered, read or failed: the latest the provider reported.
    Column("status", String(16), nullable=False),
    Column("error", String(200), nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Index("uq_channel_sends_provider", "business_id", "channel", "provider_id", unique=True),
)
