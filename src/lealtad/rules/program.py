"""A program version as a value: its number, when it takes effect, its definition and the compiled
form the engine evaluates. Free of storage, so the earn planner can take it as an input."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from lealtad.rules.compile import CompiledProgram
from lealtad.rules.definition import ProgramDefinition
from lealtad.rules.earn_rule import EarnRule


@dataclass(frozen=True)
class Program:
    business_id: int
    version: int
    effective_from: datetime
    definition: ProgramDefinition
    compiled: CompiledProgram

    # Worked out once per version (a version never changes), not on every purchase.
    @cached_property
    def rules_by_id(self) -> dict[str, EarnRule]:
        return {rule.id: rule for rule in self.definition.rules}

    @cached_property
    def stamp_units(self) -> frozenset[str]:
        return frozenset(f"stamps.{card.id}" for card in self.definition.stamp_cards)
