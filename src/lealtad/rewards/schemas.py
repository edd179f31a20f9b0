"""Rewards I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lealtad.kit.dates import IsoDateTime
from lealtad.kit.ids import MAX_ID
from lealtad.rewards.model import Kind

CostUnit = Field(
    default="points",
    pattern=r"^(points|stamps\.[a-z0-9][a-z0-9_-]{0,39}|reward\.[a-z0-9][a-z0-9_-]{0,39})$",
    description='"points", "stamps.<card>" or "reward.<slug>" (a reward earned, e.g. a full card)',
)


class Texts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    es: str = Field(min_length=1, max_length=500)
    en: str = Field(min_length=1, max_length=500)


class OptionalTexts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    es: str = Field(default="", max_length=2000)
    en: str = Field(default="", max_length=2000)


class RewardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    kind: Kind
    title: Texts
    description: OptionalTexts = Field(default_factory=OptionalTexts)
    cost_unit: str = CostUnit
    cost: int = Field(ge=1, le=10**9)
    value: int = Field(
        default=0, ge=0, le=10**12, description="minor units, or % for discount_percent"
    )
    sku: str | None = Field(default=None, max_length=100)
    stock: int | None = Field(default=None, ge=0, le=10**9, description="null is unlimited")
    valid_from: IsoDateTime | None = None
    valid_until: IsoDateTime | None = None
    limit_per_member: int | None = Field(default=None, ge=1, le=10**6)
    limit_period: Literal["day", "week", "month", "year", "lifetime"] = "lifetime"
    visible_tiers: list[str] = Field(default_factory=list, max_length=50)
    visible_segments: list[str] = Field(default_factory=list, max_length=50)
    featured: bool = False
    image_url: str | None = Field(default=None, max_length=500, pattern=r"^https?://\S+$")
    voucher_days: int = Field(default=30, ge=0, le=3650, description="0: vouchers never expire")
    on_expiry: Literal["refund", "lapse"] = "lapse"
    cause_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    active: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> RewardIn:
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        if self.kind == "discount_percent" and not 1 <= self.value <= 100:
            raise ValueError("a percent discount's value is between 1 and 100")
        if self.kind in ("discount_fixed", "cashback_credit") and self.value < 1:
            raise ValueError(f"a {self.kind} reward needs a value in minor units")
        if self.kind == "free_product" and not self.sku:
            raise ValueError("a free product names its sku")
        if self.kind == "donation" and self.cause_id is None:
            raise ValueError("a donation reward names its cause")
        if self.kind == "cashback_credit" and self.cost_unit == "cashback":
            raise ValueError("cashback cannot buy cashback")
        return self


class RewardPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Texts | None = None
    description: OptionalTexts | None = None
    cost: int | None = Field(default=None, ge=1, le=10**9)
    stock: int | None = Field(default=None, ge=0, le=10**9)
    valid_until: IsoDateTime | None = None
    featured: bool | None = None
    active: bool | None = None
    image_url: str | None = Field(default=None, max_length=500, pattern=r"^https?://\S+$")


class RewardOut(BaseModel):
    id: int
    slug: str
    kind: str
    title: dict[str, str]
    description: dict[str, str]
    cost_unit: str
    cost: int
    value: int
    sku: str | None
    stock: int | None
    valid_from: datetime | None
    valid_until: datetime | None
    limit_per_member: int | None
    limit_period: str
    visible_tiers: list[str]
    visible_segments: list[str]
    featured: bool
    image_url: str | None
    voucher_days: int
    on_expiry: str
    cause_id: int | None
    active: bool
    rating_average: float | None
    rating_count: int
    affordable: bool | None = None


class RedeemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reward_id: int = Field(ge=1, le=MAX_ID)
    card_pin: str | None = Field(
        default=None,
        max_length=6,
        description="the member's card PIN, needed when they set one (card_pin_required)",
    )
    card_code: str | None = Field(
        default=None,
        max_length=120,
        description="the wallet's rotating code (LT2-...) just scanned: the PIN is not needed",
    )
    occurred_at: IsoDateTime | None = Field(
        default=None,
        description="when the member redeemed, if not now (history from another system): not "
        "in the future, years 1900 to 2199; the entry and the voucher are dated then",
    )


class VoucherOut(BaseModel):
    id: int
    code: str
    reward_id: int
    reward_slug: str
    member_id: int
    status: str
    cost_unit: str
    cost: int
    issued_at: datetime
    expires_at: datetime | None
    used_at: datetime | None
    used_location_id: int | None
    fulfilment: str | None
    balances: dict[str, int] | None = None


class ValidateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    location_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class FulfilmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fulfilment: Literal["shipped", "delivered", "cancelled"]
