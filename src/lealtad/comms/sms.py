"""SMS through a provider with the common "Programmable Messaging" HTTP interface, as Twilio
documents it (REST API 2010-04-01) and several providers copy: a form-encoded POST of To, From,
Body and StatusCallback to `{base}/2010-04-01/Accounts/{account}/Messages.json` with HTTP basic
auth (account id, auth token), answered 201 with the message's `sid`.

The provider signs what it posts back (status callbacks, replies) in `X-Twilio-Signature`: the
base64 HMAC-SHA1, keyed by the auth token, of the full URL it called followed by every form
parameter, sorted by name, as name then value with nothing between."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    import httpx

API_VERSION = "2010-04-01"
DEFAULT_BASE = "https://api.twilio.com"
SIGNATURE_HEADER = "X-Twilio-Signature"
# Three concatenated segments of 153 GSM characters: longer texts cost more and arrive cut.
MAX_CHARS = 459
# The provider's words for how a message went, as the delivery log says them.
STATUSES = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
}


class Refused(Exception):
    """The provider answered and refused the message; `final` when sending again cannot help
    (a 4xx: a wrong number, a blocked recipient, bad credentials)."""

    def __init__(self, message: str, final: bool) -> None:
        super().__init__(message)
        self.final = final


@dataclass(frozen=True)
class Account:
    base_url: str
    account: str
    token: str
    sender: str


def send(http: httpx.Client, account: Account, to: str, body: str, status_callback: str) -> str:
    """Posts one message; returns the provider's id for it."""
    import httpx

    url = f"{account.base_url.rstrip('/')}/{API_VERSION}/Accounts/{account.account}/Messages.json"
    form = {"To": to, "From": account.sender, "Body": body, "StatusCallback": status_callback}
    try:
        answer = http.post(url, data=form, auth=(account.account, account.token))
    except httpx.HTTPError as exc:
        raise Refused(f"SMS provider unreachable: {exc}"[:200], final=False) from exc
    if answer.status_code >= 300:
        raise Refused(_problem(answer), final=400 <= answer.status_code < 500)
    try:
        sid = answer.json()["sid"]
    except (ValueError, KeyError, TypeError) as exc:
        raise Refused("SMS provider answered without a message sid", final=False) from exc
    return str(sid)


def _problem(answer: Any) -> str:
    try:
        data = answer.json()
        detail = f"{data.get('code', '')} {data.get('message', '')}".strip()
    except (ValueError, AttributeError):
        detail = ""
    return f"SMS provider answered {answer.status_code} {detail}".strip()[:200]


def signature(token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    signed = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def verify(token: str, url: str, params: Iterable[tuple[str, str]], given: str | None) -> bool:
    if not given or not token:
        return False
    return hmac.compare_digest(signature(token, url, params), given.strip())


def reply(text: str | None) -> str:
    """The TwiML answer to a member's message: a reply to send back, or nothing."""
    inner = f"<Message>{escape(text)}</Message>" if text else ""
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>'


def cut(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1].rstrip() + "…"
