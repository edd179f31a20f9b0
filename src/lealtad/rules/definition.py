"""A program as data: the earn rules, stamp cards, tiers, cashback and points policies that a
business configures once. Validated here; compiled by rules.compile; stored per version."""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal
from typing import Annotated, ClassVar, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    WithJsonSchema,
    field_validator,
    model_serializer,
    model_validator,
)

from lealtad.kit.dates import IsoDate
from lealtad.kit.money import RoundingMode

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
Rate = Annotated[Decimal, Field(ge=0, le=100_000, max_digits=14, decimal_places=6)]
Units = Annotated[int, Field(ge=1, le=10**9)]

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


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Compact(Strict):
    """A part given fields after programs were stored: each such field is left out of the JSON
    while it holds its default, so stored versions, the change log and API answers of programs
    that do not use it stay byte for byte what they were."""

    LEFT_OUT_AT_DEFAULT: ClassVar[dict[str, object]] = {}

    # Unannotated on purpose, as Titled's: an annotated one would lose the model's JSON schema.
    @model_serializer(mode="wrap")
    def _without_new_defaults(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        data = handler(self)
        if isinstance(data, dict):
            for name, default in self.LEFT_OUT_AT_DEFAULT.items():
                if name in data and data[name] == default:
                    del data[name]
        return data


class Titles(Strict):
    """A program thing's name as members read it, per language. Either may be left empty: the
    name is then the thing's `name`, which the business wrote in its own language."""

    es: str = Field(default="", max_length=200)
    en: str = Field(default="", max_length=200)


class Titled(Strict):
    """A rule, card or tier: without titles it is written as it was before titles existed, so
    stored versions, the change log and API answers of programs without them stay the same."""

    # Unannotated on purpose: an annotated wrap serializer would lose the model's JSON schema.
    @model_serializer(mode="wrap")
    def _without_empty_titles(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        data = handler(self)
        if isinstance(data, dict):
            if data.get("title") is None:
                data.pop("title", None)
            if data.get("perk_titles") == []:
                data.pop("perk_titles", None)
        return data


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


class StampCard(Titled):
    id: Slug
    name: str = Field(min_length=1, max_length=200)
    title: Titles | None = None
    stamps_required: int = Field(ge=1, le=1000)
    reward: Slug = Field(description="the reward a full card gives")


class Tier(Titled):
    id: Slug
    name: str = Field(min_length=1, max_length=100)
    title: Titles | None = None
    threshold: Decimal = Field(
        ge=0,
        le=10**15,
        description="the metric needed to qualify, in the tier policy's metric: spend in minor "
        "units of the business's currency (cents: 50000 is 500.00; the console's editor shows "
        "and takes it in major units), visits as a count, points_earned in points, custom as "
        "the sum of the event's values",
    )
    multiplier: Decimal = Field(default=Decimal(1), ge=1, le=100)
    perks: list[str] = Field(default_factory=list, max_length=50)
    perk_titles: list[Titles] = Field(
        default_factory=list, max_length=50, description="the perks per language, when given"
    )


class TierWindow(Strict):
    kind: Literal["rolling", "calendar"] = "rolling"
    days: int = Field(default=365, ge=1, le=3650, description="for rolling windows")
    period: Literal["month", "quarter", "year"] = Field(default="year", description="calendar")


class TierPolicy(Compact):
    LEFT_OUT_AT_DEFAULT: ClassVar[dict[str, object]] = {
        "crossing_purchase_earns_at": "previous_tier"
    }

    metric: Literal["spend", "visits", "points_earned", "custom"] = Field(
        default="spend",
        description="what the thresholds measure over the window: spend (minor units, net of "
        "refunds), visits (purchases), points_earned, or custom (an event's values summed)",
    )
    custom_event: str | None = Field(default=None, description="the event summed when custom")
    window: TierWindow = Field(default_factory=TierWindow)
    grace_days: int = Field(default=30, ge=0, le=3650)
    levels: list[Tier] = Field(min_length=1, max_length=50)
    crossing_purchase_earns_at: Literal["previous_tier", "new_tier"] = Field(
        default="previous_tier",
        description="the tier a purchase that crosses a threshold earns at: 'previous_tier' "
        "(the tier held before it; the move up counts from the next purchase on) or 'new_tier' "
        "(the tier it qualifies for with this purchase counted, multiplier and tier-only rules "
        "included); 'new_tier' needs the spend or visits metric",
    )

    @model_validator(mode="after")
    def _ordered(self) -> TierPolicy:
        thresholds = [t.threshold for t in self.levels]
        if thresholds != sorted(thresholds) or len(set(thresholds)) != len(thresholds):
            raise ValueError("tier thresholds must rise strictly, lowest tier first")
        if self.metric == "custom" and not self.custom_event:
            raise ValueError("a custom tier metric names its event")
        if self.crossing_purchase_earns_at == "new_tier" and self.metric not in ("spend", "visits"):
            raise ValueError(
                "crossing_purchase_earns_at 'new_tier' needs the spend or visits metric: "
                "a purchase's own points or events cannot decide the tier it earns at"
            )
        return self


class PointsName(Strict):
    """What the program calls its points, one and many, per language ("estrella"/"estrellas"):
    a stars program says stars to its members, never "points"."""

    one: Titles = Field(default_factory=Titles)
    other: Titles = Field(default_factory=Titles)


Expiry = Literal[
    "never", "days", "months", "months_end", "end_of_month", "end_of_quarter", "end_of_year"
]


class PointsPolicy(Compact):
    LEFT_OUT_AT_DEFAULT: ClassVar[dict[str, object]] = {"expiry_months": None}

    name: PointsName | None = Field(
        default=None, description="what members call the points; 'points' when left out"
    )
    expiry: Expiry = Field(
        default="never",
        description="when earned points expire, in the business's time zone: never; 'days' "
        "after earning (expiry_days); 'months': expiry_months calendar months after earning, "
        "on the same day of the month at the same local time, i.e. on the anniversary of the "
        "earning when the months are a multiple of 12 (2024-01-10 + 24 months = 2026-01-10); "
        "a day the month lacks becomes its last day (31 January + 1 month = 28 or 29 February); "
        "'months_end': at the end of the month expiry_months after the earning's month "
        "(2024-01-10 + 24 = 2026-01-31 23:59:59.999999); or at the end of the month, quarter or "
        "year of the earning",
    )
    expiry_days: int | None = Field(default=None, ge=1, le=36_500)
    expiry_months: int | None = Field(
        default=None, ge=1, le=1200, description="with expiry 'months' or 'months_end'"
    )
    pending_days: int = Field(default=0, ge=0, le=365)
    value_per_point: Decimal = Field(
        default=Decimal(0), ge=0, le=10**6, description="minor units a point is worth at the till"
    )
    pay_min_points: int = Field(default=0, ge=0, le=10**9, description="least points per payment")
    pay_max_points: int | None = Field(
        default=None, ge=1, le=10**9, description="most per purchase"
    )

    @model_validator(mode="after")
    def _days(self) -> PointsPolicy:
        if (self.expiry == "days") != (self.expiry_days is not None):
            raise ValueError("expiry_days goes with expiry 'days', and only with it")
        if (self.expiry in ("months", "months_end")) != (self.expiry_months is not None):
            raise ValueError(
                "expiry_months goes with expiry 'months' or 'months_end', and only with them"
            )
        return self


class CashbackPolicy(Strict):
    redemption_minimum: int = Field(default=0, ge=0, le=10**12, description="minor units")


class ProgramDefinition(Titled):
    name: str = Field(default="Loyalty program", min_length=1, max_length=200)
    title: Titles | None = None
    points: PointsPolicy = Field(default_factory=PointsPolicy)
    cashback: CashbackPolicy = Field(default_factory=CashbackPolicy)
    stamp_cards: list[StampCard] = Field(default_factory=list, max_length=50)
    tiers: TierPolicy | None = None
    rules: list[EarnRule] = Field(default_factory=list, max_length=500)

    @field_validator("rules")
    @classmethod
    def _unique_rules(cls, rules: list[EarnRule]) -> list[EarnRule]:
        ids = [r.id for r in rules]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"rule ids must be unique: {', '.join(duplicates)}")
        return rules

    @model_validator(mode="after")
    def _references(self) -> ProgramDefinition:
        cards = {c.id for c in self.stamp_cards}
        if len(cards) != len(self.stamp_cards):
            raise ValueError("stamp card ids must be unique")
        tiers = {t.id for t in self.tiers.levels} if self.tiers else set()
        if self.tiers and len(tiers) != len(self.tiers.levels):
            raise ValueError("tier ids must be unique")
        for rule in self.rules:
            if isinstance(rule.action, Stamps) and rule.action.card not in cards:
                raise ValueError(f"rule {rule.id}: no stamp card {rule.action.card!r}")
            unknown = set(rule.conditions.tiers) - tiers
            if unknown:
                raise ValueError(f"rule {rule.id}: no tier {', '.join(sorted(unknown))}")
        return self

    def as_json(self) -> dict[str, object]:
        return self.model_dump(mode="json")


def points_per_currency_unit(
    rate: Decimal = Decimal(1), rounding: RoundingMode = "floor"
) -> ProgramDefinition:
    """The simplest program: N points per currency unit on every purchase."""
    return ProgramDefinition(
        rules=[
            EarnRule(
                id="base",
                name="Points per purchase",
                action=PointsPerUnit(rate=rate, rounding=rounding),
            )
        ]
    )
