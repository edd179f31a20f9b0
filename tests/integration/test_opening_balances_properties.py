"""Property: any opening balances brought in, settled at any later time, then undone, leave every
account at zero and the ledger verified; at each step every balance is what the file said minus
the lots whose expiry has come."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.ledger.maturity import settle
from lealtad.ledger.tables import accounts, postings
from tests.integration.test_opening_balances import (
    assert_verified,
    balances,
    bring,
    shop_with_members,
    undo,
)

_files = itertools.count()
NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)

rows = st.lists(
    st.tuples(
        st.integers(0, 2),  # member
        st.integers(0, 10**7),  # points
        st.integers(0, 9),  # stamps on the ten-stamp coffee card
        st.integers(0, 10**6),  # cashback
        st.integers(0, 800),  # earned this many days before the import
        st.one_of(st.none(), st.integers(1, 1200)),  # expires this many days after earning
    ).filter(lambda r: r[1] or r[2] or r[3]),
    min_size=1,
    max_size=12,
)


def _csv(path: Path, members: list[int], lots: list[tuple]) -> Path:  # type: ignore[type-arg]
    lines = ["member_id,points,earned_at,expires_at,stamps,stamp_card,cashback"]
    for who, points, stamps, cashback, ago, lasts in lots:
        earned = NOW - timedelta(days=ago, minutes=5)
        expires = "" if lasts is None else (earned + timedelta(days=lasts)).isoformat()
        if not (points or cashback):
            expires = ""
        lines.append(
            f"{members[who]},{points or ''},{earned.isoformat()},{expires},"
            f"{stamps or ''},{'coffee' if stamps else ''},{cashback or ''}"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def _left(lots: list[tuple], who: int, at: datetime | None) -> dict[str, int]:  # type: ignore[type-arg]
    """What member `who` holds once settled at `at` (None: before any settling, when even a lot
    brought in already past its expiry is held until the expiry job or a spend settles it)."""
    held = {"points": 0, "cashback": 0, "stamps.coffee": 0}
    for member, points, stamps, cashback, ago, lasts in lots:
        if member != who:
            continue
        earned = NOW - timedelta(days=ago, minutes=5)
        alive = at is None or lasts is None or earned + timedelta(days=lasts) > at
        held["points"] += points if alive else 0
        held["cashback"] += cashback if alive else 0
        held["stamps.coffee"] += stamps
    return held


def _system_totals(db: Database, shop_id: int) -> dict[str, int]:
    query = (
        select(accounts.c.code, accounts.c.unit, func.sum(postings.c.amount))
        .join(postings, postings.c.account_id == accounts.c.id)
        .where(accounts.c.business_id == shop_id, accounts.c.member_id.is_(None))
        .group_by(accounts.c.code, accounts.c.unit)
    )
    with db.read() as conn:
        return {f"{c}:{u}": int(t) for c, u, t in conn.execute(query)}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lots=rows, later=st.integers(0, 1500))
def test_opening_balances_settled_at_any_time_then_undone_leave_every_account_at_zero(
    db: Database,
    tmp_path: Path,
    lots: list[tuple],
    later: int,  # type: ignore[type-arg]
) -> None:
    clock = FixedClock(NOW)
    shop = shop_with_members(db, clock)
    path = _csv(tmp_path / f"balances-{next(_files)}.csv", shop.members, lots)

    done = bring(db, shop, path, clock)
    assert done.loaded == len(lots)
    for who, member in enumerate(shop.members):
        held = balances(db, shop, member)
        assert {k: held.get(k, 0) for k in _left(lots, who, None)} == _left(lots, who, None)
    assert_verified(db, shop)

    at = NOW + timedelta(days=later)
    with db.transaction() as conn:
        settle(conn, shop.id, at)
    for who, member in enumerate(shop.members):
        held = balances(db, shop, member)
        assert {k: held.get(k, 0) for k in _left(lots, who, at)} == _left(lots, who, at)
    assert_verified(db, shop)

    undo(db, shop, done.run_id, FixedClock(at))

    for member in shop.members:
        assert set(balances(db, shop, member).values()) <= {0}
    assert set(_system_totals(db, shop.id).values()) <= {0}
    assert_verified(db, shop)
