"""Purchase, refund and adjustment I/O. Amounts are integers in the currency's minor units."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lealtad.kit.dates import IsoDateTime
from lealtad.kit.ids import MAX_ID
from lealtad.kit.money import MAX_MINOR

Channel = Literal["counter", "online", "api"]
# SQLite would store a NUL byte that PostgreSQL refuses; an id with one is refused on both.
NO_NUL = r"^[^\x00]*$"


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=100)
    category: str | None = Field(default=None, max_length=100)
    quantity: Decimal = Field(default=Decimal(1), gt=0, le=100_000, max_digits=12, decimal_places=3)
    tags: list[str] = Field(default_factory=list, max_length=20)
    unit_price: int = Field(ge=0, le=MAX_MINOR)


class PurchaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    receipt_id: str = Field(min_length=1, max_length=100, pattern=NO_NUL)
    amount: int = Field(ge=0, le=MAX_MINOR, description="total in minor units (cents)")
    currency: str = Field(min_length=3, max_length=3)
    member_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    card_number: str | None = Field(default=None, max_length=40)
    qr_token: str | None = Field(default=None, max_length=200)
    location_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    channel: Channel = "api"
    occurred_at: IsoDateTime | None = None
    items: list[ItemIn] = Field(default_factory=list, max_length=500)
    cashback_redeem: int = Field(
        default=0, ge=0, le=MAX_MINOR, description="cashback the member uses to pay (minor units)"
    )
    points_redeem: int = Field(
        default=0, ge=0, le=10**9, description="points the member uses to pay at the till"
    )
    card_pin: str | None = Field(
        default=None,
        max_length=6,
        description="the member's card PIN, needed to pay with points or cashback when they set "
        "one, unless qr_token is the wallet's rotating code (card_pin_required)",
    )


class AwardOut(BaseModel):
    rule_id: str
    member_id: int
    account: str
    unit: str
    amount: int
    reason: str
    expires_at: datetime | None = None
    unlocks_at: datetime | None = None


class PurchaseOut(BaseModel):
    id: int
    receipt_id: str
    member_id: int | None
    location_id: int | None
    amount: int
    currency: str
    cashback_redeemed: int
    points_redeemed: int = 0
    points_discount: int = 0
    refunded_amount: int
    occurred_at: datetime
    awards: list[AwardOut]
    cards_completed: list[dict[str, Any]]
    badges: list[dict[str, Any]] = []
    tier: str | None
    tier_changed: bool
    balances: dict[str, int] | None


class RefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refund_id: str = Field(min_length=1, max_length=100, pattern=NO_NUL)
    receipt_id: str = Field(
        min_length=1, max_length=100, pattern=NO_NUL, description="the purchase refunded"
    )
    amount: int | None = Field(
        default=None, ge=1, le=MAX_MINOR, description="minor units; the whole rest if omitted"
    )
    occurred_at: IsoDateTime | None = None


class RefundOut(BaseModel):
    id: int
    refund_id: str
    purchase_id: int
    amount: int
    reversed: dict[str, int]
    shortfall: dict[str, int]
    tier_changed: bool
    balances: dict[str, int] | None


class AdjustmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit: Literal["points", "cashback"] = "points"
    amount: int = Field(ge=-(10**9), le=10**9, description="positive adds, negative takes")
    reason: str = Field(min_length=3, max_length=500)


class AdjustmentOut(BaseModel):
    entry_id: int
    member_id: int
    unit: str
    amount: int
    reason: str
    balances: dict[str, int]
