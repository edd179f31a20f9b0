"""The bulk writer's column-wise conversion stores each value as a Core insert would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy.dialects import sqlite

from lealtad.db import setwise
from lealtad.purchases.tables import purchases


def _stored(rows: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return setwise._parameters(sqlite.dialect(), purchases, list(rows[0]), rows)  # type: ignore[arg-type]


def test_equal_naive_times_share_one_conversion_and_match_cores_processor() -> None:
    at = datetime(2026, 3, 1, 12, 30, 5, 7)
    process = purchases.c.occurred_at.type._cached_bind_processor(sqlite.dialect())
    stored = _stored([{"occurred_at": at, "id": 1}, {"occurred_at": at, "id": 2}])
    assert stored == [(process(at), 1), (process(at), 2)]


def test_aware_times_equal_across_zones_keep_their_own_wall_clock() -> None:
    utc = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    madrid = utc.astimezone(timezone(timedelta(hours=1)))
    assert utc == madrid  # the same instant, so a memo keyed by value would merge them
    process = purchases.c.occurred_at.type._cached_bind_processor(sqlite.dialect())
    stored = _stored([{"occurred_at": utc}, {"occurred_at": madrid}])
    assert stored == [(process(utc),), (process(madrid),)]
    assert stored[0] != stored[1]


def test_none_and_json_columns_go_through_their_processors() -> None:
    process = purchases.c["items"].type._cached_bind_processor(sqlite.dialect())
    stored = _stored(
        [{"items": [], "occurred_at": None}, {"items": [{"sku": "a"}], "occurred_at": None}]
    )
    assert stored == [(process([]), None), (process([{"sku": "a"}]), None)]
