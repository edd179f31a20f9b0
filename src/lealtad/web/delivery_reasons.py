"""Why a message was held back or failed, in the page's language. The sender stores a short
English reason (comms/policy.py, comms/messages.py); the console says it in a sentence of the
catalog. A mail server's own answer has no translation: it is said as "the mail server refused
it" with its text kept as written, for whoever looks into it."""

from __future__ import annotations

from collections.abc import Callable

# The reasons the sender writes, as the catalog's English messages.
KNOWN = {
    "no e-mail consent": "The member has not agreed to e-mails.",
    "no push consent": "The member has not agreed to notifications.",
    "unsubscribed": "The member unsubscribed.",
    "two celebration messages a year at most": "At most two celebration messages a year.",
    "weekly marketing cap": "The weekly limit of marketing messages was reached.",
    "quiet hours": "Waiting for the end of the quiet hours.",
    "address bounced": "The address bounced before.",
    "no push subscription": "The member has no device that takes notifications.",
    "no e-mail address": "The member has no e-mail address.",
    "push failed": "The notification could not be delivered.",
    "no sms consent": "The member has not agreed to SMS messages.",
    "no whatsapp consent": "The member has not agreed to WhatsApp messages.",
    "no phone number": "The member has no valid phone number.",
    "sms channel not set up": "SMS is not set up for this business.",
    "whatsapp channel not set up": "WhatsApp is not set up for this business.",
    "no approved WhatsApp template for this message": "No approved WhatsApp template for this message.",
}
# What the SMS and WhatsApp senders write when a provider refuses or reports a failure.
PROVIDER_PREFIXES = ("SMS provider", "WhatsApp", "error ")


def said(reason: str | None, _: Callable[[str], str]) -> tuple[str, str]:
    """(sentence, the server's own words or "")."""
    if not reason:
        return "", ""
    if reason in KNOWN:
        return _(KNOWN[reason]), ""
    if reason.startswith(PROVIDER_PREFIXES):
        return _("The provider refused it or could not be reached:"), reason
    return _("The mail server refused it or could not be reached:"), reason
