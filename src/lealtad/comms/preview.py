"""Previewing a message in the admin console: the real template, the real member's figures, and
an example of what the event would carry."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from lealtad.branding import service as branding
from lealtad.comms import personal, wallet_links
from lealtad.comms.catalog import KINDS
from lealtad.comms.render import OTHER_KINDS, Rendered, kind_of, render

# The owner's reason for a program change, written in the member's language.
_REASONS = {"es": "Doble de puntos los lunes", "en": "Double points on Mondays"}
# What each kind's event carries, with believable values, so every line of a template shows.
_EXAMPLES: dict[str, dict[str, Any]] = {
    "tier_changed": {"to": "Gold", "from": "Silver"},
    "card_complete": {"reward": "free-coffee"},
    "voucher": {"reward": "free-coffee", "code": "V-7Q2K-9M"},
    "program_changed": {"reason": "", "effective_from": "2026-12-01"},
    "expiring": {"expiring_points": 120, "days": 14},
    "winback": {"days": 60},
    "points_earned": {"earned": 45},
    "login_code": {"code": "482913"},
    "join_code": {"code": "482913"},
    "member_again_code": {"code": "482913"},
    "contact_changed": {
        "changed_on": "2026-03-02",
        "email_changed": True,
        "new_email": "n•••@example.org",
        "phone_changed": False,
        "new_phone": "",
    },
    "campaign": {
        "subject": {"es": "Doble de puntos este finde", "en": "Double points this weekend"},
        "body": {
            "es": "Este sábado y domingo, cada compra suma el doble.",
            "en": "This Saturday and Sunday every purchase earns double.",
        },
    },
}


def templates() -> list[str]:
    kinds = [*KINDS.values(), *OTHER_KINDS]
    return [kind.template for kind in kinds]


def preview(
    conn: Connection,
    business: Any,
    member: Any,
    template: str,
    lang: str,
    now: datetime,
    base_url: str,
    *,
    example: dict[str, Any] | None = None,
) -> Rendered:
    """`example` replaces what the event would carry: a campaign being written previews its
    own subject and body."""
    example = dict(_EXAMPLES.get(template, {}) if example is None else example)
    if template == "expiring":
        example["expires_at"] = (now + timedelta(days=14)).date().isoformat()
    context: dict[str, Any] = {
        "reward": "",
        "code": "",
        "reason": "",
        "effective_from": "",
        "expiring_points": 0,
        "expires_at": "",
        "days": 0,
        "earned": 0,
        "earned_text": "",
        **personal.member_context(conn, business, member, lang, now),
        "wallet_url": f"{base_url}/w/{business.slug}",
        "brand": branding.mail_header(conn, business, base_url),
        **example,
    }
    names = personal.names_now(conn, business, lang, now)
    if template == "tier_changed":
        # The business's own top tier by its title, else the example's.
        context["tier"] = list(names.tiers.values())[-1] if names.tiers else example["to"]
    if template == "program_changed" and not context["reason"]:
        context["reason"] = _REASONS.get(lang, _REASONS["en"])
    if template == "campaign":
        # As the sender fills them (comms.messages): the member's own name, points, offer...
        for part in ("subject", "body"):
            texts = context.get(part) or {}
            context[part] = {k: personal.fill(str(v), context) for k, v in texts.items()}
    if template == "welcome":
        context |= wallet_links.preview_links(conn, base_url, business)
    context["earned_text"] = names.amount("points", int(context["earned"]))
    if "reward" in example:
        # One of the business's own rewards, by its title: a full card's first.
        slugs = [*names.card_rewards.values(), *names.rewards]
        context["reward"] = names.reward(slugs[0]) if slugs else example["reward"]
    # Marketing kinds show where the unsubscribe link goes; the link itself is per message.
    link = f"{base_url}/u/preview" if kind_of(template).category == "marketing" else None
    return render(template, lang, context, link)
