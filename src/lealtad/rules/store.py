"""All SQL of programs: versions, awards and rule budgets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, text, update

from lealtad.db import setwise
from lealtad.db.inserts import insert_if_new
from lealtad.kit.clock import naive_utc
from lealtad.rules.definition import ProgramDefinition
from lealtad.rules.tables import awards, program_versions, rule_budgets


def insert_version(conn: Connection, **values: Any) -> None:
    conn.execute(insert(program_versions).values(**values))


def first_version(
    conn: Connection,
    business_id: int,
    definition: ProgramDefinition,
    now: datetime,
    author: str,
    effective_from: datetime | None = None,
) -> None:
    """A new business's program, version 1 (tenancy.create_business writes it)."""
    at = naive_utc(now)
    insert_version(
        conn,
        business_id=business_id,
        version=1,
        effective_from=naive_utc(effective_from) if effective_from is not None else at,
        definition=definition.as_json(),
        author=author,
        reason="program created",
        diff=[],
        created_at=at,
    )


def latest_version_number(conn: Connection, business_id: int) -> int:
    found = conn.execute(
        select(func.max(program_versions.c.version)).where(
            program_versions.c.business_id == business_id
        )
    ).scalar()
    return int(found or 0)


# Built once: read on every purchase (see ledger.store). Without the definition: a compiled
# version is cached (rules.service), so its JSON is read and parsed only on a miss. A superseded
# version is never in force (D65).
_OF_BUSINESS = select(
    program_versions.c.business_id, program_versions.c.version, program_versions.c.effective_from
).where(
    program_versions.c.business_id == bindparam("b"), program_versions.c.superseded_by.is_(None)
)
_IN_FORCE = (
    _OF_BUSINESS.where(program_versions.c.effective_from <= bindparam("at"))
    .order_by(program_versions.c.effective_from.desc(), program_versions.c.version.desc())
    .limit(1)
)
_FIRST = _OF_BUSINESS.order_by(program_versions.c.effective_from, program_versions.c.version).limit(
    1
)


def version_in_force(conn: Connection, business_id: int, at: datetime) -> Any:
    """The version with the latest effective date not after `at`. Its number and dates only:
    `version` reads the definition."""
    return conn.execute(_IN_FORCE, {"b": business_id, "at": at}).first()


def first_in_force(conn: Connection, business_id: int) -> Any:
    """The earliest version in force (number and date), None for a business without one."""
    return conn.execute(_FIRST, {"b": business_id}).first()


_ALL_OF_BUSINESS = _OF_BUSINESS.order_by(
    program_versions.c.effective_from.desc(), program_versions.c.version.desc()
)


def version_dates(conn: Connection, business_id: int) -> list[Any]:
    """Every version's number and effective date, in the order `version_in_force` looks (the
    superseded ones left out)."""
    return list(conn.execute(_ALL_OF_BUSINESS, {"b": business_id}))


def supersede_from(conn: Connection, business_id: int, start: datetime, by: int) -> list[int]:
    """Marks the versions in force from `start` (naive UTC) on as superseded by version `by`;
    returns their numbers."""
    v = program_versions.c
    mine = (v.business_id == business_id, v.effective_from >= start, v.superseded_by.is_(None))
    numbers = [int(n) for (n,) in conn.execute(select(v.version).where(*mine))]
    if numbers:
        conn.execute(update(program_versions).where(*mine).values(superseded_by=by))
    return sorted(numbers)


# The purchases and events domains sit above this core (tests/unit/test_layers.py), so their
# tables are named here rather than imported: only the latest date of what earned is needed.
_LAST_EARNING = text(
    "SELECT max(at) FROM ("
    " SELECT max(occurred_at) AS at FROM purchases"
    " WHERE business_id = :b AND member_id IS NOT NULL"
    " UNION ALL"
    " SELECT max(occurred_at) AS at FROM member_events WHERE business_id = :b"
    ") AS latest"
)


def last_earning_at(conn: Connection, business_id: int) -> datetime | None:
    """When the latest purchase by a member or member event happened (naive UTC), if any: what
    a program version dated in the past would judge differently."""
    found = conn.execute(_LAST_EARNING, {"b": business_id}).scalar()
    if isinstance(found, str):  # SQLite gives a union's column back as text
        found = datetime.fromisoformat(found)
    return found


def version(conn: Connection, business_id: int, number: int) -> Any:
    return conn.execute(
        select(program_versions).where(
            program_versions.c.business_id == business_id, program_versions.c.version == number
        )
    ).first()


def versions(conn: Connection, business_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(program_versions)
            .where(program_versions.c.business_id == business_id)
            .order_by(program_versions.c.version.desc())
        )
    )


def scheduled(conn: Connection, business_id: int, at: datetime) -> list[Any]:
    """Versions that take effect after `at` (naive UTC), the soonest first: number, date and
    reason, without the definition."""
    v = program_versions.c
    return list(
        conn.execute(
            select(v.version, v.effective_from, v.reason, v.author)
            .where(v.business_id == business_id, v.effective_from > at, v.superseded_by.is_(None))
            .order_by(v.effective_from, v.version)
        )
    )


def awards_of_entries(
    conn: Connection, business_id: int, member_id: int, entry_ids: list[int]
) -> list[Any]:
    """The member's awards recorded with these ledger entries, in the order they were given."""
    query = (
        select(awards)
        .where(
            awards.c.business_id == business_id,
            awards.c.member_id == member_id,
            awards.c.entry_id.in_(entry_ids),
        )
        .order_by(awards.c.id)
    )
    return list(conn.execute(query))


def insert_awards(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(awards), rows)


def insert_awards_many(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """A set-wise batch's awards, through the ledger's driver-level executemany."""
    setwise.insert_many(conn, awards, rows)


def awarded_since(
    conn: Connection, business_id: int, member_id: int, rule_id: str, since: datetime | None
) -> int:
    query = select(func.coalesce(func.sum(awards.c.amount), 0)).where(
        awards.c.business_id == business_id,
        awards.c.member_id == member_id,
        awards.c.rule_id == rule_id,
    )
    if since is not None:
        query = query.where(awards.c.occurred_at >= since)
    return int(conn.execute(query).scalar_one())


def purchase_award_rules(conn: Connection, business_id: int, purchase_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(
                awards.c.rule_id,
                awards.c.member_id,
                awards.c.unit,
                awards.c.amount,
                awards.c.reason,
            ).where(awards.c.business_id == business_id, awards.c.purchase_id == purchase_id)
        )
    )


def budget_spent(conn: Connection, business_id: int, rule_id: str) -> int:
    """What the rule's budget has given so far, with its row locked until commit: concurrent
    purchases then share the budget exactly (the earn planner takes from what is left)."""
    insert_if_new(conn, rule_budgets, business_id=business_id, rule_id=rule_id, spent=0)
    key = (rule_budgets.c.business_id == business_id, rule_budgets.c.rule_id == rule_id)
    return int(
        conn.execute(select(rule_budgets.c.spent).where(*key).with_for_update()).scalar_one()
    )


def spend_budget(conn: Connection, business_id: int, rule_id: str, amount: int) -> None:
    key = (rule_budgets.c.business_id == business_id, rule_budgets.c.rule_id == rule_id)
    conn.execute(update(rule_budgets).where(*key).values(spent=rule_budgets.c.spent + amount))
