"""JSON routes of the SMS and WhatsApp settings: the owner sets them (tokens are write-only;
`enabled: false` stops a channel), managers read them."""

from __future__ import annotations

from fastapi import APIRouter

from lealtad.comms import channel_settings
from lealtad.comms.channel_settings import ChannelOut, SmsIn, WhatsAppIn
from lealtad.deps import AppSettings, Db, Manager, Now, Owner
from lealtad.http import ERROR_RESPONSES
from lealtad.tenancy import service as tenancy
from lealtad.tenancy import store as tenancy_store

router = APIRouter(prefix="/api/v1", tags=["messages"], responses=ERROR_RESPONSES)


@router.get("/channels", response_model=list[ChannelOut])
def list_channels(principal: Manager, db: Db) -> list[ChannelOut]:
    """The business's SMS and WhatsApp settings, without their secrets, with the callback paths
    to give the provider (after this server's public address)."""
    with db.read() as conn:
        slug = tenancy_store.business(conn, principal.business_id).slug
        return channel_settings.describe_all(conn, principal.business_id, slug)


@router.put("/channels/sms", response_model=list[ChannelOut])
def set_sms(
    body: SmsIn, principal: Owner, db: Db, now: Now, settings: AppSettings
) -> list[ChannelOut]:
    """SMS through a Twilio-style provider: account sid, auth token (kept encrypted), sender."""
    with db.transaction() as conn:
        channel_settings.save_sms(
            conn, principal.business_id, body, now, allow_private=settings.private_addresses_allowed
        )
        tenancy.audit(conn, principal, "channel.update", "channel:sms", now, enabled=body.enabled)
        slug = tenancy_store.business(conn, principal.business_id).slug
        return channel_settings.describe_all(conn, principal.business_id, slug)


@router.put("/channels/whatsapp", response_model=list[ChannelOut])
def set_whatsapp(
    body: WhatsAppIn, principal: Owner, db: Db, now: Now, settings: AppSettings
) -> list[ChannelOut]:
    """WhatsApp through the Cloud API: phone number id, access token, app secret and webhook
    verify token (kept encrypted), and the approved template of each message kind."""
    with db.transaction() as conn:
        channel_settings.save_whatsapp(
            conn, principal.business_id, body, now, allow_private=settings.private_addresses_allowed
        )
        tenancy.audit(
            conn, principal, "channel.update", "channel:whatsapp", now, enabled=body.enabled
        )
        slug = tenancy_store.business(conn, principal.business_id).slug
        return channel_settings.describe_all(conn, principal.business_id, slug)
