"""WhatsApp through Meta's WhatsApp Business Cloud API (Graph API, v21.0 as documented): a
business sends its approved templates with `POST {base}/{version}/{phone_number_id}/messages`
and a Bearer access token, and may answer a member's own message in free text within the
24-hour customer service window that message opens.

Meta posts status updates and members' messages to the webhook signed in
`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, keyed by the app secret>`, after
a GET handshake (hub.mode=subscribe, hub.verify_token, hub.challenge echoed back)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

from lealtad.comms.sms import Refused

DEFAULT_BASE = "https://graph.facebook.com"
DEFAULT_VERSION = "v21.0"
SIGNATURE_HEADER = "X-Hub-Signature-256"
STATUSES = {"sent": "sent", "delivered": "delivered", "read": "read", "failed": "failed"}
# A template's body parameter may not be longer, and may hold no newline or tab (Meta's rules).
PARAMETER_CHARS = 1024

__all__ = ["Refused"]


@dataclass(frozen=True)
class Account:
    base_url: str
    version: str
    phone_number_id: str
    token: str


def _post(http: httpx.Client, account: Account, to: str, body: dict[str, Any]) -> str:
    import httpx

    url = f"{account.base_url.rstrip('/')}/{account.version}/{account.phone_number_id}/messages"
    message = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, **body}
    headers = {"Authorization": f"Bearer {account.token}"}
    try:
        answer = http.post(url, json=message, headers=headers)
    except httpx.HTTPError as exc:
        raise Refused(f"WhatsApp unreachable: {exc}"[:200], final=False) from exc
    if answer.status_code >= 300:
        raise Refused(_problem(answer), final=400 <= answer.status_code < 500)
    try:
        return str(answer.json()["messages"][0]["id"])
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise Refused("WhatsApp answered without a message id", final=False) from exc


def _problem(answer: Any) -> str:
    try:
        error = answer.json().get("error", {})
        detail = f"{error.get('code', '')} {error.get('message', '')}".strip()
    except (ValueError, AttributeError):
        detail = ""
    return f"WhatsApp answered {answer.status_code} {detail}".strip()[:200]


def parameter(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PARAMETER_CHARS else flat[: PARAMETER_CHARS - 1] + "…"


def send_template(
    http: httpx.Client, account: Account, to: str, name: str, language: str, values: list[str]
) -> str:
    """An approved template with its body parameters in order ({{1}}, {{2}}...)."""
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if values:
        template["components"] = [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": parameter(v) or "-"} for v in values],
            }
        ]
    return _post(http, account, to, {"type": "template", "template": template})


def send_text(http: httpx.Client, account: Account, to: str, text: str) -> str:
    """Free text: only as an answer to the member's own message, inside the 24-hour window."""
    return _post(http, account, to, {"type": "text", "text": {"preview_url": False, "body": text}})


def verify(app_secret: str, body: bytes, given: str | None) -> bool:
    if not given or not app_secret or not given.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given.removeprefix("sha256=").strip().lower())


@dataclass(frozen=True)
class Status:
    provider_id: str
    status: str
    error: str | None


@dataclass(frozen=True)
class Inbound:
    sender: str
    text: str


def events(payload: Any, phone_number_id: str) -> tuple[list[Status], list[Inbound]]:
    """The statuses and members' text messages of a webhook post, for this phone number only
    (one app may serve several numbers). Anything unexpected is skipped, never an error: Meta
    adds fields and kinds of change over time."""
    statuses: list[Status] = []
    inbound: list[Inbound] = []
    if not isinstance(payload, dict):
        return statuses, inbound
    for entry in payload.get("entry") or []:
        for change in (entry.get("changes") or []) if isinstance(entry, dict) else []:
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                continue
            if str((value.get("metadata") or {}).get("phone_number_id", "")) != phone_number_id:
                continue
            for item in value.get("statuses") or []:
                if isinstance(item, dict) and item.get("status") in STATUSES and item.get("id"):
                    errors = item.get("errors") or []
                    error = None
                    if errors and isinstance(errors[0], dict):
                        first = errors[0]
                        error = f"WhatsApp {first.get('code', '')} {first.get('title', '')}".strip()
                    statuses.append(Status(str(item["id"]), STATUSES[item["status"]], error))
            for item in value.get("messages") or []:
                if isinstance(item, dict) and item.get("type") == "text" and item.get("from"):
                    text = (item.get("text") or {}).get("body", "")
                    inbound.append(Inbound(str(item["from"]), str(text)))
                elif isinstance(item, dict) and item.get("type") == "button" and item.get("from"):
                    # A quick-reply button of a marketing template ("Stop promotions").
                    text = (item.get("button") or {}).get("text", "")
                    inbound.append(Inbound(str(item["from"]), str(text)))
    return statuses, inbound
