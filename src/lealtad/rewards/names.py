"""The names of a business's program things for one language: its program's rules, cards and
tiers with the titles of its catalog's rewards (rules.names.ProgramNames)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from lealtad.rewards import store
from lealtad.rules.definition import ProgramDefinition
from lealtad.rules.names import ProgramNames


def reward_titles(conn: Connection, business_id: int) -> dict[str, dict[str, str]]:
    return {r.slug: dict(r.title) for r in store.catalog(conn, business_id, active_only=False)}


def program_names(
    conn: Connection, business: Any, definition: ProgramDefinition | None, lang: str
) -> ProgramNames:
    return ProgramNames.of(definition, reward_titles(conn, business.id), lang, business.currency)
