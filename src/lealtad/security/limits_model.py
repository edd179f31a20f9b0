"""The lockout policy, pure: what one more failure, a success or the passing of time does to a
key's state. The store (limits.py) only loads and saves these states."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

# Each lockout lasts longer than the one before; the last step repeats (capped at a day).
STEPS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=4),
    timedelta(hours=24),
)


@dataclass(frozen=True)
class Policy:
    max_failures: int = 5
    # Failures further apart than this do not add up.
    window: timedelta = timedelta(minutes=15)
    # Each quiet period without a failure takes the lockout level down by one.
    quiet: timedelta = timedelta(hours=24)
    steps: tuple[timedelta, ...] = STEPS

    def lockout(self, level: int) -> timedelta:
        """The length of the `level`-th lockout (1 = the first)."""
        return self.steps[min(max(level, 1), len(self.steps)) - 1]


# An account (a staff e-mail, a member, a card) is locked after 5 failures; an address, which
# many honest people may share behind one router, after 10.
ACCOUNT = Policy()
ADDRESS = Policy(max_failures=10)
# Member searches that find nobody: a till sees honest typos all day, so more room than a
# password; someone walking through card numbers, phones or e-mails to see who is a member is
# stopped after 20 misses in 15 minutes. The address (often every till of a shop behind one
# router) gets three people's worth.
LOOKUP = Policy(max_failures=20)
LOOKUP_ADDRESS = Policy(max_failures=60)
# A staff account wherever the tries come from. Each address is held to five tries on the
# account (the pair's own ACCOUNT policy), so this many in fifteen minutes means many addresses
# at once: a spread-out attack. Its lock does not keep out a browser the person signed in from
# before (a device cookie, security/devices.py), so an attacker cannot lock the owner out.
ACCOUNT_ANYWHERE = Policy(max_failures=30)


@dataclass(frozen=True)
class State:
    failures: int = 0
    window_started_at: datetime | None = None
    level: int = 0
    locked_until: datetime | None = None
    last_failure_at: datetime | None = None


def retry_after(state: State, now: datetime) -> timedelta | None:
    """How long the key stays locked, or None when it is open."""
    if state.locked_until is None or state.locked_until <= now:
        return None
    return state.locked_until - now


def decayed(state: State, now: datetime, policy: Policy) -> State:
    """The state as time alone leaves it: an old window forgotten, quiet periods forgiven."""
    if state.last_failure_at is None:
        return state
    quiet = now - state.last_failure_at
    if state.locked_until is not None and state.locked_until > state.last_failure_at:
        # The quiet time only starts once the lockout is over.
        quiet = now - state.locked_until
    forgiven = int(quiet / policy.quiet) if quiet > timedelta(0) else 0
    level = max(state.level - forgiven, 0)
    window_open = (
        state.window_started_at is not None and now - state.window_started_at < policy.window
    )
    failures = state.failures if window_open else 0
    return replace(
        state,
        level=level,
        failures=failures,
        window_started_at=state.window_started_at if window_open else None,
    )


def after_failure(state: State, now: datetime, policy: Policy) -> State:
    state = decayed(state, now, policy)
    if retry_after(state, now) is not None:
        # Tries while locked are refused before they are checked; they do not lengthen it.
        return state
    started = state.window_started_at or now
    failures = state.failures + 1
    if failures < policy.max_failures:
        return replace(state, failures=failures, window_started_at=started, last_failure_at=now)
    level = state.level + 1
    return State(
        failures=0,
        window_started_at=None,
        level=level,
        locked_until=now + policy.lockout(level),
        last_failure_at=now,
    )


def claimed(state: State, now: datetime, policy: Policy) -> tuple[State, State] | None:
    """An attempt about to be checked, counted as a failure before its secret is looked at, so
    that concurrent tries cannot all pass a check made before any of them was counted. Returns
    (the state before, the state after) or None when the key is locked."""
    before = decayed(state, now, policy)
    if retry_after(before, now) is not None:
        return None
    return before, after_failure(before, now, policy)


def given_back(state: State, before: State, after: State, *, clear: bool) -> State:
    """The claim of an attempt that turned out not to be a wrong guess, undone on the state as it
    is now: the lock it set lifted, its failure taken back. `clear`: a success on an account,
    which also forgets the failures before it (after_success)."""
    if after.level > before.level and state.locked_until == after.locked_until:
        restored = replace(state, level=before.level, locked_until=before.locked_until)
        if clear:
            return after_success(restored)
        return replace(
            restored, failures=before.failures, window_started_at=before.window_started_at
        )
    if clear:
        return after_success(state)
    if state.failures > 0 and state.window_started_at == after.window_started_at:
        return replace(state, failures=state.failures - 1)
    return state


def after_success(state: State) -> State:
    """A success clears the failures in the window; the level stays until quiet time forgives it,
    so that one lucky guess in between does not reset a slow attacker's schedule."""
    return replace(state, failures=0, window_started_at=None)
