"""A product as the console's form and the API read it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from lealtad.kit.money import MAX_MINOR
from lealtad.rewards.schemas import Texts

# The characters a till's product code uses; no spaces, so a code reads the same everywhere.
SKU = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$"


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(pattern=SKU, max_length=100)
    category: str | None = Field(default=None, min_length=1, max_length=100)
    title: Texts
    price: int = Field(ge=0, le=MAX_MINOR, description="minor units")
    active: bool = True
