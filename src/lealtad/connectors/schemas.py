"""Connector configuration and delivery log I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lealtad.kit.ids import MAX_ID

UnknownCustomer = Literal["enrol", "anonymous"]


class ConnectorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: str | None = Field(
        default=None,
        min_length=8,
        max_length=200,
        description="the vendor's signing key (Square's signature key, Shopify's app secret, "
        "a whsec_ secret for the generic webhook); kept as it is when omitted on a change",
    )
    locations: dict[str, int] = Field(
        default_factory=dict,
        max_length=200,
        description="the vendor's location ids to this business's location ids",
    )
    location_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="where a sale from an unmapped location goes"
    )
    unknown_customer: UnknownCustomer = Field(
        default="anonymous",
        description="a buyer the business does not know: enrol them, or record the sale "
        "without a member",
    )


class DeliveryOut(BaseModel):
    id: int
    vendor: str
    event: str | None
    external_id: str | None
    received_at: datetime
    outcome: str
    status_code: int
    error_code: str | None
    member_id: int | None


class ConnectorOut(BaseModel):
    vendor: str
    hook_path: str = Field(description="where the vendor posts, after this server's address")
    locations: dict[str, int]
    location_id: int | None
    unknown_customer: UnknownCustomer
    updated_at: datetime
    last_delivery: DeliveryOut | None = None
