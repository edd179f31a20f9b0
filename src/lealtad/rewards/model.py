"""Reward policy, free of storage: kinds, voucher codes, who may see and redeem what."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Literal

KINDS = (
    "discount_fixed",
    "discount_percent",
    "free_product",
    "cashback_credit",
    "physical_gift",
    "marketing_credit",
    "extended_warranty",
    "workshop_seat",
    "training_seat",
    "donation",
)
Kind = Literal[
    "discount_fixed",
    "discount_percent",
    "free_product",
    "cashback_credit",
    "physical_gift",
    "marketing_credit",
    "extended_warranty",
    "workshop_seat",
    "training_seat",
    "donation",
]
# Rewards that are done the moment they are redeemed: nothing to show at a counter.
SETTLED_AT_ONCE = frozenset({"cashback_credit", "donation"})
FULFILMENT = ("ordered", "shipped", "delivered", "cancelled")
NEXT_FULFILMENT = {"ordered": {"shipped", "cancelled"}, "shipped": {"delivered"}}
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_voucher_code() -> str:
    """Ten characters without look-alikes, grouped for reading aloud: XXXXX-XXXXX."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def normalise_code(value: str) -> str:
    raw = "".join(ch for ch in value.upper() if ch.isalnum())
    return f"{raw[:5]}-{raw[5:]}" if len(raw) == 10 else value.strip().upper()


def visible_to(
    tiers: Iterable[str], segments: Iterable[str], tier: str | None, member_segments: Iterable[str]
) -> bool:
    """A reward limited to tiers or segments shows only to members in one of them."""
    tiers, segments = list(tiers), list(segments)
    if tiers and tier not in tiers:
        return False
    return not segments or bool(set(segments) & set(member_segments))


def in_window(valid_from: datetime | None, valid_until: datetime | None, at: datetime) -> bool:
    return (valid_from is None or valid_from <= at) and (valid_until is None or at <= valid_until)


def account_of(cost_unit: str) -> str:
    """The member account a cost is paid from: the unit's own account ("points" included)."""
    return cost_unit
