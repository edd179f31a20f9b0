"""An earn rule as data: what triggers it, the conditions a transaction must meet, the action
it awards (points, stamps, cashback, an instant reward), its caps and budget. Validated here;
compiled by rules.compile. Apart from the rest of the program (definition.py: stamp cards, tiers,
points and cashback policies) because the earning engine reads these and little else."""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal
from typing import Annotated, ClassVar, Literal, get_args

from pydantic import Field, WithJsonSchema, model_validator

from lealtad.kit.dates import IsoDate
from lealtad.kit.money import RoundingMode
from lealtad.rules.program_parts import Compact, Slug, Strict, Titled, Titles, Units

Trigger = Literal[
    "purchase",
    "refund",
    "enrolment",
    "birthday",
    "anniversary",
    "referral",
    "profile_completed",
    "survey_answered",
    "review_written",
    "training_hours",
    "custom",
]
TRIGGERS: tuple[str, ...] = get_args(Trigger)
# Triggers whose points count money spent; any other counts the event's value (hours, visits).
SPENDING_TRIGGERS = frozenset({"purchase", "refund", "referral"})
Channel = Literal["counter", "online", "api"]
_CUSTOM_EVENT = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")


class ItemMatch(Strict):
    """Items that count: by sku, category or tag, at least `min_quantity` of them in all."""

    skus: list[str] = Field(default_factory=list, max_length=500)
    categories: list[str] = Field(default_factory=list, max_length=100)
    tags: list[str] = Field(default_factory=list, max_length=100)
    min_quantity: Decimal = Field(default=Decimal(1), gt=0, le=100_000)

    @model_validator(mode="after")
    def _something(self) -> ItemMatch:
        if not (self.skus or self.categories or self.tags):
            raise ValueError("name at least one sku, category or item tag")
        return self


# A wall-clock time with no offset ("14:00", "14:00:00"). JSON Schema's "time" format is RFC 3339's
# full-time, which needs an offset, so answers saying "14:00:00" broke the documented schema.
LocalTime = Annotated[
    time,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?$",
            "description": "local time, HH:MM or HH:MM:SS",
        }
    ),
]


class TimeWindow(Strict):
    """Local time at the purchase's location; may cross midnight (22:00-02:00)."""

    start: LocalTime
    end: LocalTime

    @model_validator(mode="after")
    def _not_empty(self) -> TimeWindow:
        if self.start == self.end:
            raise ValueError("start and end are the same time")
        return self


class DateRange(Strict):
    """Inclusive local dates of a seasonal or time-limited promotion."""

    start: IsoDate | None = None
    end: IsoDate | None = None

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.start and self.end and self.end < self.start:
            raise ValueError("end is before start")
        return self


class Conditions(Strict):
    min_amount: int | None = Field(default=None, ge=0, le=10**12, description="minor units")
    items: ItemMatch | None = None
    locations: list[int] = Field(default_factory=list, max_length=1000)
    channels: list[Channel] = Field(default_factory=list)
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(
        default_factory=list, description="0 = Monday"
    )
    time_window: TimeWindow | None = None
    date_range: DateRange | None = None
    tiers: list[Slug] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list, max_length=100)
    segments: list[str] = Field(default_factory=list, max_length=100)
    first_purchase: bool = False
    every_nth_visit: int | None = Field(default=None, ge=2, le=1000)
    referral_on: Literal["signup", "first_purchase", "every_purchase"] | None = None


class PointsPerUnit(Compact):
    """Points per currency unit spent (or per unit of an event's value, e.g. per training hour)."""

    LEFT_OUT_AT_DEFAULT: ClassVar[dict[str, object]] = {"per": "unit", "event_property": None}

    type: Literal["points_per_unit"] = "points_per_unit"
    rate: Annotated[Decimal, Field(gt=0, le=100_000, max_digits=14, decimal_places=6)]
    rounding: RoundingMode = "floor"
    per: Literal["unit", "whole_unit"] = Field(
        default="unit",
        description="'unit': rate x the exact amount, then rounded (23.99 at 4 gives 95); "
        "'whole_unit': the amount is first cut down to whole currency units (whole pounds, "
        "whole hours), then multiplied and rounded (23.99 at 4 gives 92)",
    )
    per_item: bool = Field(
        default=False, description="count only the matching items' value, not the whole ticket"
    )
    event_property: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="event rules only: the event's numeric property counted (e.g. 'hours') "
        "instead of its value; an event without it, or with a value that is not a number, "
        "earns nothing from this rule",
    )


class FixedPoints(Strict):
    type: Literal["fixed_points"] = "fixed_points"
    points: Units


class Multiplier(Strict):
    """Multiplies the other points of the same transaction; several add up (2x and 1.5x = 2.5x)."""

    type: Literal["multiplier"] = "multiplier"
    factor: Annotated[Decimal, Field(gt=1, le=100, max_digits=8, decimal_places=4)]


class Stamps(Strict):
    type: Literal["stamps"] = "stamps"
    card: Slug
    stamps: Units = 1
    per_item: bool = Field(default=False, description="one stamp per matching item")


class CashbackPercent(Strict):
    type: Literal["cashback_percent"] = "cashback_percent"
    percent: Annotated[Decimal, Field(gt=0, le=100, max_digits=8, decimal_places=4)]
    rounding: RoundingMode = "floor"


class CashbackFixed(Strict):
    """`amount` back for every full `per` spent (both in minor units)."""

    type: Literal["cashback_fixed"] = "cashback_fixed"
    amount: Units
    per: Units


class InstantReward(Strict):
    type: Literal["instant_reward"] = "instant_reward"
    reward: Slug
    quantity: Units = 1


Action = Annotated[
    PointsPerUnit
    | FixedPoints
    | Multiplier
    | Stamps
    | CashbackPercent
    | CashbackFixed
    | InstantReward,
    Field(discriminator="type"),
]

CapPeriod = Literal["day", "week", "month", "year", "lifetime"]


class Cap(Strict):
    period: CapPeriod
    max_units: Units


class EarnRule(Titled):
    id: Slug
    name: str = Field(min_length=1, max_length=200)
    title: Titles | None = None
    description: str = Field(default="", max_length=1000)
    trigger: Trigger = "purchase"
    event: str | None = Field(default=None, description="the custom event's name")
    conditions: Conditions = Field(default_factory=Conditions)
    action: Action
    award_to: Literal["member", "referrer", "both"] = "member"
    caps: list[Cap] = Field(default_factory=list, max_length=5)
    budget: int | None = Field(default=None, ge=1, le=10**12, description="units, all members")
    priority: int = Field(default=100, ge=0, le=10_000, description="lower runs first")
    stacking: Literal["stackable", "exclusive"] = "stackable"
    stop_after: bool = False
    active: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> EarnRule:
        if self.trigger == "custom":
            if not self.event or not _CUSTOM_EVENT.fullmatch(self.event):
                raise ValueError("a custom trigger needs an event name like 'app.download'")
        elif self.event is not None:
            raise ValueError("only a custom trigger takes an event name")
        if self.award_to != "member" and self.trigger != "referral":
            raise ValueError("award_to referrer/both is only for referral rules")
        if self.conditions.referral_on and self.trigger != "referral":
            raise ValueError("referral_on is only for referral rules")
        if (
            isinstance(self.action, PointsPerUnit)
            and self.action.event_property
            and self.trigger in SPENDING_TRIGGERS
        ):
            raise ValueError("event_property is for event rules: a purchase counts its amount")
        if getattr(self.action, "per_item", False) and self.conditions.items is None:
            raise ValueError("per_item needs an items condition saying which items count")
        if isinstance(self.action, Multiplier) and self.caps:
            raise ValueError("a multiplier is capped through the rules it multiplies")
        if len({c.period for c in self.caps}) != len(self.caps):
            raise ValueError("one cap per period")
        return self
