"""The lockout schedule, pure: no database, no clock but the one passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from lealtad.security import limits_model as model

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
POLICY = model.ACCOUNT


def lock(state: model.State, now: datetime) -> model.State:
    for _ in range(POLICY.max_failures):
        state = model.after_failure(state, now, POLICY)
    return state


def test_four_failures_leave_the_key_open_and_the_fifth_locks_it_for_a_minute() -> None:
    state = model.State()
    for _ in range(POLICY.max_failures - 1):
        state = model.after_failure(state, START, POLICY)
    assert model.retry_after(state, START) is None
    state = model.after_failure(state, START, POLICY)
    assert model.retry_after(state, START) == timedelta(minutes=1)


def test_failures_further_apart_than_the_window_do_not_add_up() -> None:
    state = model.State()
    for step in range(20):
        state = model.after_failure(state, START + step * POLICY.window, POLICY)
        assert model.retry_after(state, START + step * POLICY.window) is None


def test_a_success_clears_the_failures_of_the_window() -> None:
    state = model.State()
    for _ in range(POLICY.max_failures - 1):
        state = model.after_failure(state, START, POLICY)
    state = model.after_success(state)
    state = model.after_failure(state, START, POLICY)
    assert model.retry_after(state, START) is None


@given(st.integers(min_value=1, max_value=12))
def test_each_lockout_in_a_row_lasts_at_least_as_long_as_the_one_before_up_to_a_day(
    rounds: int,
) -> None:
    state, now, lengths = model.State(), START, []
    for _ in range(rounds):
        state = lock(state, now)
        wait = model.retry_after(state, now)
        assert wait is not None
        lengths.append(wait)
        now += wait
    assert lengths == sorted(lengths)
    assert max(lengths) <= timedelta(hours=24)
    if rounds >= 2:
        assert lengths[1] > lengths[0]


@given(
    st.integers(min_value=1, max_value=8),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=10)),
)
def test_a_lock_always_ends_and_quiet_days_forgive_one_level_each(
    rounds: int, extra: timedelta
) -> None:
    state, now = model.State(), START
    for _ in range(rounds):
        state = lock(state, now)
        now = state.locked_until or now
    assert model.retry_after(state, now) is None
    later = model.decayed(state, now + extra, POLICY)
    forgiven = int(extra / POLICY.quiet)
    assert later.level == max(rounds - forgiven, 0)


@given(st.integers(min_value=0, max_value=50))
def test_tries_while_locked_do_not_lengthen_the_lock(tries: int) -> None:
    state = lock(model.State(), START)
    until = state.locked_until
    for _ in range(tries):
        state = model.after_failure(state, START + timedelta(seconds=30), POLICY)
    assert state.locked_until == until


def test_an_address_takes_more_failures_than_an_account() -> None:
    assert model.ADDRESS.max_failures > model.ACCOUNT.max_failures
