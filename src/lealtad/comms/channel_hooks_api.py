"""What the SMS provider and WhatsApp post back: delivery statuses, and members' replies (an
opt-out by "BAJA"/"STOP"). Each request must carry the provider's signature over what it sent,
made with the business's secret; unsigned or wrongly signed requests are refused (401)."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from lealtad.comms import channel_store, phone_channels, sms, whatsapp
from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.deps import AppSettings, Db, Now
from lealtad.errors import Forbidden, Invalid, NotFound, Unauthorized
from lealtad.http import ERROR_RESPONSES
from lealtad.tenancy import store as tenancy_store

router = APIRouter(prefix=phone_channels.HOOKS, tags=["messages"], responses=ERROR_RESPONSES)
log = logging.getLogger("lealtad.comms.hooks")
Slug = Annotated[str, Path(max_length=64)]


def _config(conn: Any, slug: str, channel: str) -> tuple[Any, Any]:
    business = tenancy_store.business_by_slug(conn, slug[:64])
    config = None if business is None else channel_store.config(conn, business.id, channel)
    if config is None:
        raise NotFound(f"no {channel} channel here", code="channel_not_found")
    return business, config


def _refuse(channel: str, slug: str, why: str) -> Unauthorized:
    log.warning("%s callback for %s refused: %s", channel, slug, why)
    return Unauthorized(
        f"the {channel} callback is not signed by the provider", code="invalid_signature"
    )


def _signed_form(
    db: Database,
    settings: Settings,
    slug: str,
    path: str,
    query: str,
    body: bytes,
    given: str | None,
) -> tuple[Any, list[tuple[str, str]]]:
    """The business and the form's parameters, once the signature over them checks out."""
    try:
        params = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as exc:
        raise Invalid("the callback is not a form", code="invalid_callback") from exc
    with db.read() as conn:
        business, config = _config(conn, slug, "sms")
    # The URL the provider called, as it was given it: this server's public address.
    url = f"{settings.public_base_url}{path}" + (f"?{query}" if query else "")
    if not sms.verify(str(config.secrets.get("token", "")), url, params, given):
        raise _refuse("sms", slug, "missing" if not given else "wrong signature")
    return business, params


@router.post("/{business_slug}/sms/status", status_code=204)
async def sms_status(
    request: Request, business_slug: Slug, db: Db, settings: AppSettings, now: Now
) -> Response:
    """The provider's status callback (MessageSid, MessageStatus, ErrorCode): delivered,
    undelivered or failed show in the delivery log."""
    body = await request.body()
    given = request.headers.get(sms.SIGNATURE_HEADER)

    def work() -> None:
        business, params = _signed_form(
            db, settings, business_slug, request.url.path, request.url.query, body, given
        )
        form = dict(params)
        status = sms.STATUSES.get(form.get("MessageStatus", ""))
        sid = form.get("MessageSid") or form.get("SmsSid")
        if status is None or not sid:
            return  # queued, accepted, sending: nothing the log shows
        error = f"error {form['ErrorCode']}" if form.get("ErrorCode") else None
        with db.transaction() as conn:
            channel_store.report(conn, business.id, "sms", sid, status, error, now)

    await run_in_threadpool(work)
    return Response(status_code=204)


@router.post(
    "/{business_slug}/sms/inbound",
    response_class=Response,
    responses={200: {"content": {"text/xml": {}}}},
)
async def sms_inbound(
    request: Request, business_slug: Slug, db: Db, settings: AppSettings, now: Now
) -> Response:
    """A member's text to the business's number. "BAJA", "STOP", "CANCELAR" or "UNSUBSCRIBE"
    withdraws their SMS consent; the answer (TwiML) confirms it in their language."""
    body = await request.body()
    given = request.headers.get(sms.SIGNATURE_HEADER)

    def work() -> str | None:
        business, params = _signed_form(
            db, settings, business_slug, request.url.path, request.url.query, body, given
        )
        form = dict(params)
        with db.transaction() as conn:
            member = phone_channels.opt_out(
                conn, business, "sms", form.get("From", ""), form.get("Body", ""), now
            )
        if member is None:
            return None
        return phone_channels.say(
            member.locale, phone_channels.CONFIRMATION, business=business.name
        )

    answer = await run_in_threadpool(work)
    return Response(sms.reply(answer), media_type="text/xml")


@router.get(
    "/{business_slug}/whatsapp",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
def whatsapp_verify(
    business_slug: Slug,
    db: Db,
    mode: Annotated[str, Query(alias="hub.mode", max_length=20)] = "",
    token: Annotated[str, Query(alias="hub.verify_token", max_length=200)] = "",
    challenge: Annotated[str, Query(alias="hub.challenge", max_length=200)] = "",
) -> Response:
    """Meta's subscription handshake: the challenge echoed when the verify token matches."""
    with db.read() as conn:
        _business, config = _config(conn, business_slug, "whatsapp")
    expected = str(config.secrets.get("verify_token", ""))
    import hmac

    if mode != "subscribe" or not expected or not hmac.compare_digest(token, expected):
        raise Forbidden("the verify token does not match", code="invalid_verify_token")
    return Response(challenge, media_type="text/plain")


@router.post("/{business_slug}/whatsapp")
async def whatsapp_events(
    request: Request, business_slug: Slug, db: Db, now: Now
) -> dict[str, int]:
    """Status updates (sent, delivered, read, failed) and members' messages, signed with the
    app secret in X-Hub-Signature-256. A stop word withdraws WhatsApp consent and queues a
    confirmation, sent as an answer inside the conversation the member opened."""
    body = await request.body()
    given = request.headers.get(whatsapp.SIGNATURE_HEADER)

    def work() -> dict[str, int]:
        with db.read() as conn:
            business, config = _config(conn, business_slug, "whatsapp")
        if not whatsapp.verify(str(config.secrets.get("app_secret", "")), body, given):
            raise _refuse("whatsapp", business_slug, "missing" if not given else "wrong signature")
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise Invalid("the notification is not JSON", code="invalid_callback") from exc
        statuses, inbound = whatsapp.events(payload, config.account)
        return _apply(db, business, statuses, inbound, now)

    return await run_in_threadpool(work)


def _apply(
    db: Database,
    business: Any,
    statuses: list[whatsapp.Status],
    inbound: list[whatsapp.Inbound],
    now: datetime,
) -> dict[str, int]:
    reported = opted_out = 0
    with db.transaction() as conn:
        for status in statuses:
            reported += channel_store.report(
                conn, business.id, "whatsapp", status.provider_id, status.status, status.error, now
            )
        for message in inbound:
            member = phone_channels.opt_out(
                conn, business, "whatsapp", message.sender, message.text, now
            )
            if member is not None:
                phone_channels.queue_confirmation(conn, business.id, member, "whatsapp", now)
                opted_out += 1
    return {"statuses": reported, "opted_out": opted_out}
