"""Evaluating a program that is not saved: the admin editor's "what would this purchase earn"
compares a draft with the version in force. Same compile and the same plan (caps included) as a
real transaction; nothing is written, and budgets are only read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from lealtad.rules import apply
from lealtad.rules.apply import Granted
from lealtad.rules.compile import compile_program
from lealtad.rules.definition import ProgramDefinition
from lealtad.rules.facts import Facts, MemberContext
from lealtad.rules.service import Program, in_force


@dataclass(frozen=True)
class Comparison:
    draft: list[Granted]
    current: list[Granted]
    current_version: int


def evaluate(
    conn: Connection,
    business_id: int,
    definition: ProgramDefinition,
    facts: Facts,
    context: MemberContext,
) -> list[Granted]:
    """What `facts` would earn under `definition`. Version 0 marks it as never saved, and it is
    compiled apart from the versions' cache, which holds saved versions only."""
    program = Program(business_id, 0, facts.occurred_at, definition, compile_program(definition))
    return apply.plan(conn, business_id, context, facts, program=program)[1]


def compare(
    conn: Connection,
    business_id: int,
    definition: ProgramDefinition,
    facts: Facts,
    context: MemberContext,
    now: datetime,
) -> Comparison:
    """The draft against the version in force now, on the same transaction."""
    current = in_force(conn, business_id, now)
    return Comparison(
        draft=evaluate(conn, business_id, definition, facts, context),
        current=apply.plan(conn, business_id, context, facts, program=current)[1],
        current_version=current.version,
    )
