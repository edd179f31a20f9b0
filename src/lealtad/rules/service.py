"""Program versions: every change is a new version with its author, reason, diff and effective
date; a transaction is evaluated with the version in force when it happened."""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta
from threading import Lock
from typing import Any

from sqlalchemy import Connection

from lealtad.comms.outbox import emit
from lealtad.errors import Invalid, LealtadError, NotFound
from lealtad.kit import process_cache
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.kit.dates import STORED, within
from lealtad.rules import store
from lealtad.rules.compile import compile_program
from lealtad.rules.definition import ProgramDefinition
from lealtad.rules.diff import describe, diff
from lealtad.rules.program import Program as Program  # the value type, kept importable here

# Compiling is cheap but not free; versions never change once written, so a compiled version
# can be kept for as long as there is room.
_CACHE_SIZE = 512
_cache: OrderedDict[tuple[str, int, int], Program] = OrderedDict()
_cache_lock = Lock()


def _program(conn: Connection, row: Any) -> Program:
    # The database is part of the key: ids repeat across databases (tests, several tenants' DBs).
    key = (str(conn.engine.url), row.business_id, row.version)
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    if "definition" not in row._fields:
        row = store.version(conn, row.business_id, row.version)
    # A program stored before dates were bounded still loads (kit/dates.py).
    definition = ProgramDefinition.model_validate(row.definition, context=STORED)
    program = Program(
        row.business_id,
        row.version,
        as_utc(row.effective_from),
        definition,
        compile_program(definition, row.version),
    )
    with _cache_lock:
        _cache[key] = program
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return program


def in_force(conn: Connection, business_id: int, at: datetime) -> Program:
    """The version in force at `at`. Before the first one nothing is: a sale or event dated then
    is refused rather than judged by a program that did not exist (D65)."""
    if process_cache.pinned(conn, business_id) is None:
        row = store.version_in_force(conn, business_id, naive_utc(at))
        if row is None:
            raise _none_in_force(at, store.first_in_force(conn, business_id))
    else:
        row = version_at(_version_dates(conn, business_id), at)
    return _program(conn, row)


def version_at(dates: list[Any], at: datetime) -> Any:
    """The row of `store.version_dates` (latest date first) in force at `at`, as
    `store.version_in_force` chooses it; refused before the first."""
    naive = naive_utc(at)
    for row in dates:
        if row.effective_from <= naive:
            return row
    raise _none_in_force(at, dates[-1] if dates else None)


def _none_in_force(at: datetime, first: Any) -> LealtadError:
    if first is None:
        return NotFound("this business has no program yet", code="program_not_found")
    return before_first(at, first)


def before_first(at: datetime, first: Any) -> Invalid:
    """The refusal of something dated before the first version in force."""
    since = as_utc(first.effective_from)
    return Invalid(
        f"{as_utc(at).isoformat()} is before this business's program: its first version "
        f"({first.version}) is in force from {since.isoformat()}. To bring history from before "
        "that date, make a version effective from the start of that history first "
        "(PUT /api/v1/program with effective_from)",
        code="before_first_program",
    )


def _version_dates(conn: Connection, business_id: int) -> list[Any]:
    # The list, not "the version in force": a version dated later takes over at its date, with
    # no write and so no new config version (D64).
    return process_cache.part(
        conn, business_id, "program_versions", lambda: store.version_dates(conn, business_id)
    )


def get_version(conn: Connection, business_id: int, number: int) -> Program:
    row = store.version(conn, business_id, number)
    if row is None:
        raise NotFound(f"no program version {number}", code="program_version_not_found")
    return _program(conn, row)


def change(
    conn: Connection,
    business_id: int,
    definition: ProgramDefinition,
    *,
    author: str,
    reason: str,
    now: datetime,
    effective_from: datetime | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """Writes the next version and tells members' communications about it (program.changed)."""
    chosen = effective_from or now
    if not within(chosen):
        raise Invalid(
            "effective_from must be between 1900-01-01T00:00:00Z and 2199-12-31T23:59:59Z",
            code="effective_out_of_range",
        )
    start = as_utc(chosen)
    backdated = start < as_utc(now) - timedelta(minutes=5)
    if backdated:
        _may_backdate(conn, business_id, start)
    number = store.latest_version_number(conn, business_id)
    before = store.version(conn, business_id, number)
    changes = diff(before.definition if before else {}, definition.as_json())
    # The same rules dated further back are a change of their own: history gets a program.
    if before is not None and not changes and not backdated:
        raise Invalid("the program is unchanged", code="program_unchanged")
    if backdated:
        store.supersede_from(conn, business_id, naive_utc(start), by=number + 1)
    store.insert_version(
        conn,
        business_id=business_id,
        version=number + 1,
        effective_from=naive_utc(start),
        definition=definition.as_json(),
        author=author,
        reason=reason,
        diff=changes,
        created_at=naive_utc(now),
    )
    if backdated:
        # History being brought in, not news: members hear of changes that take effect now.
        return number + 1, changes
    emit(
        conn,
        business_id,
        "program.changed",
        {
            "version": number + 1,
            "effective_from": start.isoformat(),
            "reason": reason,
            "changes": describe(changes),
        },
        now,
    )
    return number + 1, changes


def _may_backdate(conn: Connection, business_id: int, start: datetime) -> None:
    """A version may take effect in the past only where nothing has been earned yet: every
    purchase by a member and every member event happened before `start`. Then the versions
    dated from `start` on have judged nothing, and the new one supersedes them (D65)."""
    last = store.last_earning_at(conn, business_id)
    if last is not None and as_utc(last) >= start:
        raise Invalid(
            "a change takes effect now or later: a version may take effect in the past only "
            "from after the last purchase or event that earned "
            f"({as_utc(last).isoformat()}), so that nothing already earned is judged again",
            code="effective_in_past",
        )


def history(conn: Connection, business_id: int) -> list[Any]:
    return store.versions(conn, business_id)
