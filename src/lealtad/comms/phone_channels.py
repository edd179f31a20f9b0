"""Messages on the phone channels, SMS and WhatsApp, under the same rules as e-mail and push:
consent per channel, the weekly cap and quiet hours (`policy`), the texts of the message kinds
in the member's language (`render`). A member who answered "BAJA" or "STOP" on a channel gets
nothing more on it, transactional messages included; the only message after it is the
confirmation of the opt-out, queued as `OPTED_OUT`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from lealtad.comms import channel_store, message_store, phones, policy, sms, whatsapp
from lealtad.comms.render import notification
from lealtad.config import Settings
from lealtad.kit.catalog import gettext
from lealtad.kit.clock import naive_utc

PHONE_CHANNELS = channel_store.PHONE_CHANNELS
MAX_ATTEMPTS = 5
# The confirmation sent after an opt-out by reply: not a kind of the catalog, since no event
# raises it and it goes whatever the consent (it is the answer to withdrawing it).
OPTED_OUT = "opted_out"
# Where the providers post back, under the JSON API (errors in its envelope).
HOOKS = "/api/v1/public"


LANGUAGES = ("es", "en")


def N_(message: str) -> str:
    return message


STOP_HINT = N_("Reply STOP to stop these messages.")
CONFIRMATION = N_("You will get no more messages from %(business)s on this number.")


def say(lang: str, message: str, **values: Any) -> str:
    language = lang if lang in LANGUAGES else LANGUAGES[-1]
    text = gettext(language)(message)
    return text % values if values else text


def channels_for(conn: Connection, business_id: int, consent: dict[str, Any]) -> list[str]:
    """The phone channels a member is planned on: switched on by the business and consented to
    by the member (whether the member has a number is checked when sending, and logged)."""
    return [
        c for c in channel_store.enabled(conn, business_id) if consent.get(c, {}).get("granted")
    ]


def status_callback(settings: Settings, slug: str) -> str:
    return f"{settings.public_base_url}{HOOKS}/{slug}/sms/status"


_set = message_store.set_message


def _unreachable(row: Any, member: Any, config: Any) -> tuple[str, str] | None:
    """(status, reason) when the message cannot go on its channel at all."""
    if config is None or not config.enabled:
        return "suppressed", f"{row.channel} channel not set up"
    consent = (member.consent or {}).get(row.channel, {})
    if row.template != OPTED_OUT and not consent.get("granted"):
        if consent.get("source") in ("reply", "unsubscribe"):
            return "unsubscribed", "unsubscribed"
        return "suppressed", f"no {row.channel} consent"
    if phones.e164(member.phone, config.country_code) is None:
        return "suppressed", "no phone number"
    return None


def handle(
    conn: Connection,
    settings: Settings,
    row: Any,
    member: Any,
    business: Any,
    context: dict[str, Any],
    now: datetime,
) -> str:
    """Sends one queued message on its phone channel, or says why not; the outcome as the
    e-mail sender names it (sent, deferred, suppressed, unsubscribed, retry, failed)."""
    config = channel_store.config(conn, row.business_id, row.channel)
    unreachable = _unreachable(row, member, config)
    if unreachable is not None:
        _set(conn, row.id, status=unreachable[0], reason=unreachable[1])
        return unreachable[0]
    if row.template != OPTED_OUT:
        tz = policy.zone(member, business)
        verdict, detail = policy.decide(conn, row, member, now, tz)
        if verdict == "defer":
            _set(conn, row.id, send_after=naive_utc(detail), reason="quiet hours")
            return "deferred"
        if verdict != "send":
            _set(conn, row.id, status=verdict, reason=detail)
            return str(verdict)
    to = phones.e164(member.phone, config.country_code) or ""
    try:
        with _client() as http:
            if row.channel == "sms":
                provider_id = _send_sms(http, settings, config, row, business, context, to)
            else:
                provider_id = _send_whatsapp(http, config, row, business, context, to)
    except sms.Refused as refused:
        if refused.final:
            _set(
                conn, row.id, status="failed", reason=str(refused)[:200], attempts=row.attempts + 1
            )
            return "failed"
        return _retry(conn, row, str(refused), now)
    except _NoTemplate as missing:
        _set(conn, row.id, status="suppressed", reason=str(missing))
        return "suppressed"
    channel_store.record_send(conn, row, provider_id, now)
    _set(
        conn, row.id, status="sent", sent_at=naive_utc(now), attempts=row.attempts + 1, reason=None
    )
    return "sent"


def _client() -> Any:
    import httpx  # loaded by the worker that sends, never by a web worker (see webpush)

    return httpx.Client(timeout=10.0, follow_redirects=False)


def _text(row: Any, business: Any, context: dict[str, Any]) -> str:
    if row.template == OPTED_OUT:
        return say(row.locale, CONFIRMATION, business=business.name)
    note = notification(row.template, row.locale, context)
    return f"{note.title}: {note.body}" if note.body else note.title


def _send_sms(
    http: Any,
    settings: Settings,
    config: Any,
    row: Any,
    business: Any,
    context: dict[str, Any],
    to: str,
) -> str:
    text = _text(row, business, context)
    if row.category == "marketing":
        # Carriers expect a marketing text to say how to stop it; the reply is honoured here.
        text = f"{sms.cut(text)[: sms.MAX_CHARS - 60]}\n{say(row.locale, STOP_HINT)}"
    account = sms.Account(
        config.base_url, config.account, str(config.secrets.get("token", "")), config.sender
    )
    return sms.send(http, account, to, sms.cut(text), status_callback(settings, business.slug))


class _NoTemplate(Exception):
    pass


def _send_whatsapp(
    http: Any, config: Any, row: Any, business: Any, context: dict[str, Any], to: str
) -> str:
    account = whatsapp.Account(
        config.base_url, config.api_version, config.account, str(config.secrets.get("token", ""))
    )
    recipient = to.removeprefix("+")
    if row.template == OPTED_OUT:
        # An answer to the member's own message: free text is allowed in the 24-hour window.
        return whatsapp.send_text(http, account, recipient, _text(row, business, context))
    names = (config.templates or {}).get("names", {})
    name = names.get(row.template)
    if not name:
        raise _NoTemplate("no approved WhatsApp template for this message")
    languages = (config.templates or {}).get("languages", {})
    language = languages.get(row.locale) or row.locale
    note = notification(row.template, row.locale, context)
    values = [str(context.get("name") or ""), note.body or note.title]
    return whatsapp.send_template(http, account, recipient, name, language, values)


def _retry(conn: Connection, row: Any, error: str, now: datetime) -> str:
    attempts = row.attempts + 1
    retry = naive_utc(now + timedelta(minutes=2**attempts))
    status = "failed" if attempts >= MAX_ATTEMPTS else "queued"
    _set(conn, row.id, attempts=attempts, send_after=retry, status=status, reason=error[:200])
    return "failed" if status == "failed" else "retry"


def opt_out(
    conn: Connection, business: Any, channel: str, number: str, text: str, now: datetime
) -> Any:
    """A member's reply: when it asks to stop, their consent for the channel is withdrawn and
    recorded. Returns the member who opted out (None when the reply was something else, or the
    number is nobody's, or they had opted out already)."""
    if not phones.asks_to_stop(text):
        return None
    config = channel_store.config(conn, business.id, channel)
    country = config.country_code if config is not None else ""
    member = channel_store.member_by_number(conn, business.id, phones.stored_forms(number, country))
    if member is None:
        return None
    word = " ".join(text.split())[:20]
    if not channel_store.withdraw(conn, business.id, member, channel, f"reply {word}", now):
        return None
    return member


def queue_confirmation(
    conn: Connection, business_id: int, member: Any, channel: str, now: datetime
) -> None:
    channel_store.queue(conn, business_id, member, channel, OPTED_OUT, now)
