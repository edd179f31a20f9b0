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
    effective_from: IsoDateTime | None = Field(
        default=None,
        description=(
            "now if omitted. A date in the past is accepted only after the last purchase or "
            "event that earned (bringing a business's history in: set the program from the "
            "start of the history, then import); the versions dated from then on are superseded"
        ),
    )


class ProgramVersionOut(BaseModel):
    version: int
    effective_from: datetime
    author: str
    reason: str
    created_at: datetime
    changes: list[dict[str, Any]]
    definition: ProgramDefinition | None = None
    superseded_by: int | None = Field(
        default=None, description="the version dated before this one that replaced it"
    )


class TemplateOut(BaseModel):
    name: str
    title: dict[str, str]
    description: dict[str, str]
    currency: str
