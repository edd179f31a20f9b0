"""Which message each event sends, to whom it may go, and its subject in both languages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Category = Literal["transactional", "marketing"]


@dataclass(frozen=True)
class Kind:
    template: str
    category: Category
    subject: dict[str, str]
    # Birthday and anniversary greetings share a yearly allowance of two.
    celebration: bool = False


KINDS: dict[str, Kind] = {
    "member.enrolled": Kind(
        "welcome",
        "marketing",
        {"es": "Bienvenido/a a {{ business }}", "en": "Welcome to {{ business }}"},
    ),
    "tier.changed": Kind(
        "tier_changed",
        "marketing",
        {
            "es": "Tu nivel en {{ business }}: {{ tier or '-' }}",
            "en": "Your {{ business }} tier: {{ tier or '-' }}",
        },
    ),
    "stamp_card.completed": Kind(
        "card_complete",
        "marketing",
        {"es": "¡Tarjeta completa en {{ business }}!", "en": "Card complete at {{ business }}!"},
    ),
    "reward.redeemed": Kind(
        "voucher",
        "transactional",
        {"es": "Tu vale de {{ business }}", "en": "Your {{ business }} voucher"},
    ),
    "program.changed": Kind(
        "program_changed",
        "transactional",
        {
            "es": "Cambios en el programa de {{ business }}",
            "en": "Changes to the {{ business }} program",
        },
    ),
    "points.expiring": Kind(
        "expiring",
        "marketing",
        {
            "es": "Tus puntos de {{ business }} caducan pronto",
            "en": "Your {{ business }} points expire soon",
        },
    ),
    "member.lapsed": Kind(
        "winback",
        "marketing",
        {"es": "Te echamos de menos en {{ business }}", "en": "We miss you at {{ business }}"},
    ),
    "member.monthly": Kind(
        "monthly",
        "marketing",
        {"es": "Tu mes en {{ business }}", "en": "Your month at {{ business }}"},
    ),
    "birthday": Kind(
        "birthday",
        "marketing",
        {
            "es": "¡Feliz cumpleaños de parte de {{ business }}!",
            "en": "Happy birthday from {{ business }}!",
        },
        celebration=True,
    ),
    "anniversary": Kind(
        "anniversary",
        "marketing",
        {"es": "Un año más con {{ business }}", "en": "Another year with {{ business }}"},
        celebration=True,
    ),
}
# Sent only where the business opts in (messaging policy), for purchases that earned points.
POINTS_EARNED = Kind(
    "points_earned",
    "marketing",
    {
        "es": "Has sumado {{ earned }} puntos en {{ business }}",
        "en": "You earned {{ earned }} points at {{ business }}",
    },
)
# Written by the business per campaign: the subject comes from the campaign itself.
CAMPAIGN = Kind("campaign", "marketing", {"es": "{{ subject.es }}", "en": "{{ subject.en }}"})
# Program changes concern every member; the other events concern the member they name.
BROADCAST = frozenset({"program.changed"})
# A one-time code to open the wallet: sent at once, never capped, never held for quiet hours.
LOGIN_CODE = Kind(
    "login_code",
    "transactional",
    {
        "es": "Tu código para {{ business }}: {{ code }}",
        "en": "Your {{ business }} code: {{ code }}",
    },
)
# Self-service sign-up proves the e-mail with the same one-time code (decisions D48): a new
# member's welcome carries it, and an address that already belongs to a member gets a code to
# open the card they have, never a second membership. Sent like LOGIN_CODE.
JOIN_CODE = Kind(
    "join_code",
    "transactional",
    {
        "es": "Bienvenido/a a {{ business }}: tu código es {{ code }}",
        "en": "Welcome to {{ business }}: your code is {{ code }}",
    },
)
MEMBER_AGAIN_CODE = Kind(
    "member_again_code",
    "transactional",
    {
        "es": "Ya eres socio/a de {{ business }}: tu código es {{ code }}",
        "en": "You are already a {{ business }} member: your code is {{ code }}",
    },
)
# The messages that carry a wallet sign-in code.
CODE_TEMPLATES = frozenset({LOGIN_CODE.template, JOIN_CODE.template, MEMBER_AGAIN_CODE.template})
# A security notice: the member's e-mail or phone was changed. Sent to the address the member
# had before the change (the context's "notify_address"), whatever their consent.
CONTACT_CHANGED = Kind(
    "contact_changed",
    "transactional",
    {
        "es": "Han cambiado tus datos de contacto en {{ business }}",
        "en": "Your contact details at {{ business }} were changed",
    },
)
