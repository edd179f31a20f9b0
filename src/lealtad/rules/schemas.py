"""Program I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lealtad.kit.dates import IsoDateTime
from lealtad.rules.definition import ProgramDefinition


class ProgramChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    definition: ProgramDefinition
    reason: str = Field(min_length=3, max_length=500, description="why, for the change log")
    effective_from: IsoDateTime | None = Field(default=None, description="now if omitted")


class ProgramVersionOut(BaseModel):
    version: int
    effective_from: datetime
    author: str
    reason: str
    created_at: datetime
    changes: list[dict[str, Any]]
    definition: ProgramDefinition | None = None


class TemplateOut(BaseModel):
    name: str
    title: dict[str, str]
    description: dict[str, str]
    currency: str
