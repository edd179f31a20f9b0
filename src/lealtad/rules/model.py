"""The earning seam: `evaluate(purchase, context) -> awards`. For now a program has one setting,
N points per currency unit; the rules engine replaces the body of `evaluate`, not its callers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lealtad.kit.money import RoundingMode, minor_exponent, round_to_int


class ProgramSettings(BaseModel):
    """How a business's members earn. Stored as JSON on the business."""

    model_config = ConfigDict(extra="forbid")

    points_per_unit: Decimal = Field(default=Decimal(1), ge=0, le=10_000, max_digits=12)
    rounding: RoundingMode = "floor"
    points_expire_after_days: int | None = Field(default=None, ge=1, le=36_500)
    pending_days: int = Field(default=0, ge=0, le=365)

    def as_json(self) -> dict[str, object]:
        return self.model_dump(mode="json")


@dataclass(frozen=True, slots=True)
class Item:
    sku: str
    quantity: Decimal
    unit_price: int
    category: str | None = None


@dataclass(frozen=True, slots=True)
class Purchase:
    amount: int
    currency: str
    occurred_at: datetime
    channel: str = "api"
    location_id: int | None = None
    items: tuple[Item, ...] = ()


@dataclass(frozen=True, slots=True)
class MemberContext:
    member_id: int
    tags: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class Award:
    unit: Literal["points", "cashback"]
    amount: int
    reason: str
    expires_at: datetime | None = None
    unlocks_at: datetime | None = None


def evaluate(purchase: Purchase, context: MemberContext, program: ProgramSettings) -> list[Award]:
    major = Decimal(purchase.amount).scaleb(-minor_exponent(purchase.currency))
    points = round_to_int(major * program.points_per_unit, program.rounding)
    if points <= 0:
        return []
    expires_at = None
    if program.points_expire_after_days:
        expires_at = purchase.occurred_at + timedelta(days=program.points_expire_after_days)
    unlocks_at = None
    if program.pending_days:
        unlocks_at = purchase.occurred_at + timedelta(days=program.pending_days)
    reason = f"{program.points_per_unit} points per {purchase.currency} 1"
    return [Award("points", points, reason, expires_at, unlocks_at)]
