"""Which message each event sends, to whom it may go, and its subject in both languages."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from lealtad.kit.catalog import gettext

Category = Literal["transactional", "marketing"]


def N_(message: str) -> str:
    """Marks a subject for the catalog; it is translated when a message is rendered."""
    return message


class Subject(Mapping[str, str]):
    """A message's subject: an English msgid (a Jinja template) said in each language through the
    catalog, like the message's body."""

    def __init__(self, msgid: str) -> None:
        self.msgid = msgid

    def __getitem__(self, lang: str) -> str:
        return self.msgid if lang == "en" else gettext(lang)(self.msgid)

    def __iter__(self) -> Iterator[str]:
        return iter(("es", "en"))

    def __len__(self) -> int:
        return 2


@dataclass(frozen=True)
class Kind:
    template: str
    category: Category
    subject: Mapping[str, str]
    # Birthday and anniversary greetings share a yearly allowance of two.
    celebration: bool = False


KINDS: dict[str, Kind] = {
    "member.enrolled": Kind(
        "welcome",
        "marketing",
        Subject(N_("Welcome to {{ business }}")),
    ),
    "tier.changed": Kind(
        "tier_changed",
        "marketing",
        Subject(N_("Your {{ business }} tier: {{ tier or '-' }}")),
    ),
    "stamp_card.completed": Kind(
        "card_complete",
        "marketing",
        Subject(N_("Card complete at {{ business }}!")),
    ),
    "reward.redeemed": Kind(
        "voucher",
        "transactional",
        Subject(N_("Your {{ business }} voucher")),
    ),
    "program.changed": Kind(
        "program_changed",
        "transactional",
        Subject(N_("Changes to the {{ business }} program")),
    ),
    "points.expiring": Kind(
        "expiring",
        "marketing",
        Subject(N_("Your {{ business }} points expire soon")),
    ),
    "member.lapsed": Kind(
        "winback",
        "marketing",
        Subject(N_("We miss you at {{ business }}")),
    ),
    "member.monthly": Kind(
        "monthly",
        "marketing",
        Subject(N_("Your month at {{ business }}")),
    ),
    "birthday": Kind(
        "birthday",
        "marketing",
        Subject(N_("Happy birthday from {{ business }}!")),
        celebration=True,
    ),
    "anniversary": Kind(
        "anniversary",
        "marketing",
        Subject(N_("Another year with {{ business }}")),
        celebration=True,
    ),
}
# Sent only where the business opts in (messaging policy), for purchases that earned points.
POINTS_EARNED = Kind(
    "points_earned",
    "marketing",
    Subject(N_("You earned {{ earned }} points at {{ business }}")),
)
# Written by the business per campaign: the subject comes from the campaign itself.
CAMPAIGN = Kind("campaign", "marketing", {"es": "{{ subject.es }}", "en": "{{ subject.en }}"})
# Program changes concern every member; the other events concern the member they name.
BROADCAST = frozenset({"program.changed"})
# A one-time code to open the wallet: sent at once, never capped, never held for quiet hours.
LOGIN_CODE = Kind(
    "login_code",
    "transactional",
    Subject(N_("Your {{ business }} code: {{ code }}")),
)
# Self-service sign-up proves the e-mail with the same one-time code (decisions D48): a new
# member's welcome carries it, and an address that already belongs to a member gets a code to
# open the card they have, never a second membership. Sent like LOGIN_CODE.
JOIN_CODE = Kind(
    "join_code",
    "transactional",
    Subject(N_("Welcome to {{ business }}: your code is {{ code }}")),
)
MEMBER_AGAIN_CODE = Kind(
    "member_again_code",
    "transactional",
    Subject(N_("You are already a {{ business }} member: your code is {{ code }}")),
)
# The messages that carry a wallet sign-in code.
CODE_TEMPLATES = frozenset({LOGIN_CODE.template, JOIN_CODE.template, MEMBER_AGAIN_CODE.template})
# A security notice: the member's e-mail or phone was changed. Sent to the address the member
# had before the change (the context's "notify_address"), whatever their consent.
CONTACT_CHANGED = Kind(
    "contact_changed",
    "transactional",
    Subject(N_("Your contact details at {{ business }} were changed")),
)
