from datetime import UTC, datetime, timedelta

import pytest

from lealtad.errors import InsufficientBalance
from lealtad.ledger.model import (
    Entry,
    MemberLeg,
    OpenLot,
    SystemLeg,
    UnbalancedEntry,
    allocate,
    check_entry,
    spend_order,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_an_entry_whose_units_do_not_sum_to_zero_is_refused() -> None:
    entry = Entry(
        "earn", "x", (MemberLeg(1, "points", "points", 10), SystemLeg("issued", "points", -9)), NOW
    )
    with pytest.raises(UnbalancedEntry):
        check_entry(entry)


def test_each_unit_must_balance_on_its_own() -> None:
    legs = (
        MemberLeg(1, "points", "points", 10),
        SystemLeg("issued", "cashback", -10),
    )
    with pytest.raises(UnbalancedEntry):
        check_entry(Entry("earn", "x", legs, NOW))


def test_a_balanced_entry_passes() -> None:
    legs = (MemberLeg(1, "points", "points", 10), SystemLeg("issued", "points", -10))
    check_entry(Entry("earn", "x", legs, NOW))


def test_spends_take_the_soonest_expiring_lots_first_and_never_expiring_last() -> None:
    lots = [
        OpenLot(1, 5, None, None),
        OpenLot(2, 5, NOW + timedelta(days=30), None),
        OpenLot(3, 5, NOW + timedelta(days=3), None),
    ]
    assert [lot.id for lot in spend_order(lots)] == [3, 2, 1]


def test_a_refund_takes_its_own_purchase_lots_first() -> None:
    lots = [OpenLot(1, 5, NOW, 7), OpenLot(2, 5, NOW + timedelta(days=1), 9)]
    assert [lot.id for lot in spend_order(lots, prefer_purchase_id=9)] == [2, 1]


def test_allocation_splits_across_lots_and_refuses_more_than_they_hold() -> None:
    lots = [OpenLot(1, 3, None, None), OpenLot(2, 4, None, None)]
    assert allocate(lots, 5) == [(1, 3), (2, 2)]
    with pytest.raises(InsufficientBalance):
        allocate(lots, 8)
