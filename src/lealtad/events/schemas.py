"""Event I/O."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from lealtad.kit.dates import IsoDateTime
from lealtad.kit.free_json import bounded_json, limits_text
from lealtad.kit.ids import MAX_ID
from lealtad.purchases.schemas import AwardOut

# Stored with the event and sent on in its webhooks: kept small (the limit it always had).
MAX_PROPERTIES_BYTES = 4000
EventProperties = Annotated[
    dict[str, Any],
    bounded_json(max_bytes=MAX_PROPERTIES_BYTES),
    Field(description=limits_text(max_bytes=MAX_PROPERTIES_BYTES)),
]


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(
        min_length=1, max_length=100, pattern=r"^[^\x00]+$", description="makes retries safe"
    )
    name: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z][a-z0-9_.-]*$",
        description="survey_answered, review_written, training_hours, birthday, anniversary, "
        "or a custom name",
    )
    member_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    card_number: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=320)
    value: Decimal = Field(default=Decimal(1), ge=0, le=10**9, max_digits=18, decimal_places=4)
    properties: EventProperties = Field(default_factory=dict)
    occurred_at: IsoDateTime | None = None


class EventOut(BaseModel):
    id: int
    event_id: str
    name: str
    member_id: int
    awards: list[AwardOut]
    balances: dict[str, int]
