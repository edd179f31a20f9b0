"""Brute-force limits (issue 8): failures counted per account and per client address in the
database, so every app process sees them, with growing lockouts (limits_model.py).

An attempt is claimed before its secret is checked: in one transaction that holds the keys' rows
(a row lock on PostgreSQL, the one writer on SQLite), a locked key refuses it and an open one
counts it as a failure at once. Checking first and counting after let concurrent guesses all
pass the check before any was counted (60 at once got 16 to 43 evaluated against a limit of 5).
An attempt that turns out right, or that was no guess at all, gives its failure back afterwards.
A locked account does not even get its password checked, so a locked-out attacker learns
nothing."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection

from lealtad.errors import LealtadError
from lealtad.kit.clock import as_utc
from lealtad.security import devices
from lealtad.security import limits_model as model
from lealtad.security import limits_store as store

STAFF_LOGIN = "staff_login"
MEMBER_CODE = "member_code"
TWO_STEP_CODE = "two_step_code"
CODE_REQUEST = "code_request"
CARD_PIN = "card_pin"
VOUCHER_CHECK = "voucher_check"
MEMBER_LOOKUP = "member_lookup"

T = TypeVar("T")


class TooManyAttempts(LealtadError):
    http_status = 429
    code = "too_many_attempts"

    def __init__(self, seconds: int) -> None:
        minutes = max(math.ceil(seconds / 60), 1)
        super().__init__(
            f"too many failed attempts; try again in {minutes} minute(s)",
            details={"retry_after": seconds},
        )
        self.retry_after = seconds
        self.minutes = minutes


def account_key(*parts: object) -> str:
    """A stable key for an account that does not store it in the clear (e.g. an e-mail)."""
    return "a:" + _digest(parts)


def pair_key(account: str, address: str) -> str:
    """One account tried from one address: what a single attacker is held to, without locking
    the account for its owner elsewhere."""
    return "p:" + _digest((account, address))


def device_key(account: str, device: str) -> str:
    """One account tried from a browser it signed in from before (security/devices.py)."""
    return "d:" + _digest((account, device))


def _digest(parts: Iterable[object]) -> str:
    text = ":".join(str(part).strip().lower() for part in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def address_key(address: str) -> str:
    return "ip:" + address[:100]


def client_address(request: Any) -> str:
    """The client's address: the socket's, or the one a trusted proxy forwarded for, as
    security/proxies.py put it in the request before anything else ran."""
    return request.client.host if request.client else "unknown"


# Kinds where a success proves the secret, so the account's earlier failures are forgiven. A
# member search or a voucher that is found proves nothing: someone walking card numbers must
# not clear their misses by looking up a card they know between guesses.
_PROVEN_BY_SUCCESS = frozenset({STAFF_LOGIN, MEMBER_CODE, TWO_STEP_CODE, CARD_PIN})


def _policy(kind: str, key: str) -> model.Policy:
    if kind == STAFF_LOGIN and key.startswith("a:"):
        return model.ACCOUNT_ANYWHERE
    if kind == MEMBER_LOOKUP:
        return model.LOOKUP_ADDRESS if key.startswith("ip:") else model.LOOKUP
    if key.startswith("ip:"):
        return model.ADDRESS
    # Each member code dies after its own five tries (members/login.py) and the member may ask
    # for a new one; the lock stops someone cycling through fresh codes.
    # Likewise a staff login attempt dies after five wrong two-step codes (tenancy/two_step.py).
    return model.ADDRESS if kind in (MEMBER_CODE, TWO_STEP_CODE) else model.ACCOUNT


def _state(row: Any) -> model.State:
    def at(value: datetime | None) -> datetime | None:
        return as_utc(value) if value is not None else None

    return model.State(
        failures=row.failures,
        window_started_at=at(row.window_started_at),
        level=row.level,
        locked_until=at(row.locked_until),
        last_failure_at=at(row.last_failure_at),
    )


@dataclass(frozen=True)
class Claim:
    """What one claimed attempt did to one key, to be given back if it was no wrong guess."""

    key: str
    before: model.State
    after: model.State


def claim(
    conn: Connection, business_id: int, kind: str, keys: Iterable[str], now: datetime
) -> tuple[Claim, ...]:
    """Raises TooManyAttempts when any key is locked; otherwise counts the attempt as a failure
    on every key and returns what it did."""
    now = as_utc(now)
    rows = store.held(conn, business_id, kind, keys)
    claims: list[Claim] = []
    longest = 0.0
    for key, row in rows.items():
        state = _state(row)
        outcome = model.claimed(state, now, _policy(kind, key))
        if outcome is None:
            wait = model.retry_after(state, now)
            longest = max(longest, wait.total_seconds() if wait else 1.0)
            continue
        claims.append(Claim(key, *outcome))
    if longest:
        # Nothing is counted: tries while locked do not lengthen the lock.
        raise TooManyAttempts(math.ceil(longest))
    for each in claims:
        store.save(conn, rows[each.key].id, each.after)
    return tuple(claims)


def give_back(
    conn: Connection, business_id: int, kind: str, claims: Iterable[Claim], *, success: bool
) -> None:
    """Undoes claims that were no wrong guess. On a success an account's earlier failures are
    forgotten too; an address keeps them (other people's tries may be among them)."""
    claims = tuple(claims)
    rows = store.held(conn, business_id, kind, [each.key for each in claims])
    for each in claims:
        row = rows[each.key]
        clear = success and kind in _PROVEN_BY_SUCCESS and not each.key.startswith("ip:")
        state = model.given_back(_state(row), each.before, each.after, clear=clear)
        store.save(conn, row.id, state)


class Attempt:
    """One guarded attempt: a kind, the keys it counts against (the account it is about, if
    known, and the address). Claim it before checking the secret; then say how it ended."""

    def __init__(
        self, db: Any, business_id: int, kind: str, keys: Iterable[str], now: datetime
    ) -> None:
        self.db = db
        self.business_id = business_id
        self.kind = kind
        self.keys = tuple(keys)
        self.now = now
        self._claims: tuple[Claim, ...] = ()

    def claim(self) -> None:
        """Raises TooManyAttempts when locked; otherwise the attempt counts as a failure until
        `succeeded` or `released` says otherwise."""
        with self.db.transaction() as conn:
            self._claims = claim(conn, self.business_id, self.kind, self.keys, self.now)

    def failed(self) -> None:
        """A wrong guess: it was counted when claimed, and stays counted."""
        self._claims = ()

    def succeeded(self) -> None:
        self._give_back(success=True)

    def released(self) -> None:
        """Not a guess after all (a form error, an unknown business): nothing is counted."""
        self._give_back(success=False)

    def _give_back(self, *, success: bool) -> None:
        claims, self._claims = self._claims, ()
        if claims:
            with self.db.transaction() as conn:
                give_back(conn, self.business_id, self.kind, claims, success=success)


def attempt(
    db: Any,
    request: Any,
    settings: Any,
    business_id: int,
    kind: str,
    account: str | None,
    now: datetime,
) -> Attempt:
    address = address_key(client_address(request))
    keys = (address,) if account is None else (account, address)
    return Attempt(db, business_id, kind, keys, now)


def staff_login_attempt(
    db: Any,
    request: Any,
    settings: Any,
    business_slug: str,
    email: str,
    now: datetime,
    kind: str = STAFF_LOGIN,
) -> Attempt | None:
    """The guard of a staff login (password or two-step code); None for an unknown business,
    where there is nothing to guess and nowhere to count.

    A password try counts against the account from this address (five tries), the address
    (ten, whatever the account) and the account from anywhere (ACCOUNT_ANYWHERE); from a browser
    the account signed in on before, against that browser only. So one attacker is held to five
    tries an address, many attackers at once are held back too, and neither locks the owner out
    of their own browser."""
    from lealtad.tenancy import store  # tenancy imports security modules

    with db.read() as conn:
        business = store.business_by_slug(conn, business_slug.strip().lower())
    if business is None:
        return None
    return staff_attempt(db, request, settings, business.id, email, now, kind)


def staff_attempt(
    db: Any,
    request: Any,
    settings: Any,
    business_id: int,
    email: str,
    now: datetime,
    kind: str = STAFF_LOGIN,
) -> Attempt:
    """The guard of a staff password (or two-step code) in a known business; see above."""
    account = account_key("staff", email)
    if kind != STAFF_LOGIN:
        return attempt(db, request, settings, business_id, kind, account, now)
    device = devices.known(request, settings, business_id, email)
    if device is not None:
        return Attempt(db, business_id, kind, (device_key(account, device),), now)
    address = address_key(client_address(request))
    return Attempt(db, business_id, kind, (pair_key(account, address), address, account), now)


def voucher_attempt(db: Any, request: Any, principal: Any, now: datetime) -> Attempt:
    """Unknown voucher codes count per caller (the staff person or API key) and per address."""
    settings = request.app.state.settings
    account = account_key("principal", principal.actor)
    return attempt(db, request, settings, principal.business_id, VOUCHER_CHECK, account, now)


def lookup_attempt(db: Any, request: Any, principal: Any, now: datetime) -> Attempt:
    """Member searches that match nobody count per caller (the staff person or API key) and per
    address, never per business: one person's misses must not lock every till of the shop."""
    settings = request.app.state.settings
    account = account_key("principal", principal.actor)
    return attempt(db, request, settings, principal.business_id, MEMBER_LOOKUP, account, now)


def guarded(guard: Attempt, counts: Callable[[LealtadError], bool], work: Callable[[], T]) -> T:
    """Runs `work` once the guard's attempt is claimed; errors for which `counts` is true are
    wrong guesses, any other outcome gives the claim back."""
    guard.claim()
    try:
        result = work()
    except LealtadError as exc:
        if counts(exc):
            guard.failed()
        else:
            guard.released()
        raise
    except BaseException:
        guard.released()
        raise
    guard.succeeded()
    return result
