"""A program version as a value: its number, when it takes effect, its definition and the compiled
form the engine evaluates. Free of storage, so the earn planner can take it as an input."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lealtad.rules.compile import CompiledProgram
from lealtad.rules.definition import ProgramDefinition


@dataclass(frozen=True)
class Program:
    business_id: int
    version: int
    effective_from: datetime
    definition: ProgramDefinition
    compiled: CompiledProgram
