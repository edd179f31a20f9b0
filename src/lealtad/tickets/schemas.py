"""Ticket claims, receipt-signing keys and ticket settings, as the API reads and writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lealtad.kit.money import MAX_MINOR


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(
        min_length=1,
        max_length=600,
        description="what the QR says: a receipt code `LT1.<payload>.<mac>` (or an address "
        "carrying it in `t=`), or a VERI*FACTU invoice QR's address",
    )
    device_id: str | None = Field(
        default=None,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="the member's device, for the per-device daily limit",
    )


class ClaimOut(BaseModel):
    id: int
    member_id: int
    status: Literal["accepted", "pending", "refused"]
    source: Literal["signed", "verifactu"]
    receipt_id: str
    location_id: int | None
    amount: int
    currency: str
    issued_at: datetime
    points: int
    purchase_id: int | None
    created_at: datetime


class KeyOut(BaseModel):
    key_id: str
    location_id: int
    created_at: datetime
    retired_at: datetime | None
    secret: str | None = Field(
        default=None, description="base64url of the 32-byte HMAC key; in the creating answer only"
    )


class TicketSettingsIO(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tax_id: str | None = Field(default=None, max_length=20, description="the business's NIF")
    max_age_days: int = Field(default=7, ge=0, le=365)
    member_daily_claims: int = Field(default=3, ge=0, le=1000)
    device_daily_claims: int = Field(default=5, ge=0, le=1000)
    approval_above: int | None = Field(
        default=None,
        ge=0,
        le=MAX_MINOR,
        description="VERI*FACTU tickets above this total (minor units) wait for staff approval",
    )
