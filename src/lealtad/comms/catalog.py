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
