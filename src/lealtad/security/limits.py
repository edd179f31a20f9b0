"""Brute-force limits (issue 8): failures counted per account and per client address in the
database, so every app process sees them, with growing lockouts (limits_model.py).

Callers check before doing the real work (a locked account does not even get its password
checked, so a locked-out attacker learns nothing), then record the outcome in a transaction of
its own so that a failure stays counted when the request then raises."""

from __future__ import annotations

import hashlib
import ipaddress
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, insert, select, update

from lealtad.errors import LealtadError
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.security import limits_model as model
from lealtad.security.limits_tables import attempt_limits

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
    text = ":".join(str(part).strip().lower() for part in parts)
    return "a:" + hashlib.sha256(text.encode()).hexdigest()[:40]


def address_key(address: str) -> str:
    return "ip:" + address[:100]


def client_address(request: Any, trusted_proxies: str) -> str:
    """request.client.host, or the address a trusted proxy says it forwarded for. Only the
    proxies listed in the setting are believed: anyone else could write any X-Forwarded-For."""
    host = request.client.host if request.client else "unknown"
    trusted = {item.strip() for item in trusted_proxies.split(",") if item.strip()}
    if host not in trusted:
        return host
    forwarded = request.headers.get("x-forwarded-for", "")
    # The rightmost entry a trusted proxy did not add is the client.
    for entry in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
        if entry in trusted:
            continue
        try:
            return str(ipaddress.ip_address(entry))
        except ValueError:
            return host
    return host


def _policy(kind: str, key: str) -> model.Policy:
    if kind == MEMBER_LOOKUP:
        return model.LOOKUP_ADDRESS if key.startswith("ip:") else model.LOOKUP
    if key.startswith("ip:"):
        return model.ADDRESS
    # Each member code dies after its own five tries (members/login.py) and the member may ask
    # for a new one; the lock stops someone cycling through fresh codes.
    # Likewise a staff login attempt dies after five wrong two-step codes (tenancy/two_step.py).
    return model.ADDRESS if kind in (MEMBER_CODE, TWO_STEP_CODE) else model.ACCOUNT


def _load(conn: Connection, business_id: int, kind: str, key: str) -> Any:
    return conn.execute(
        select(attempt_limits).where(
            attempt_limits.c.business_id == business_id,
            attempt_limits.c.kind == kind,
            attempt_limits.c.key == key,
        )
    ).first()


def _state(row: Any) -> model.State:
    if row is None:
        return model.State()

    def at(value: datetime | None) -> datetime | None:
        return as_utc(value) if value is not None else None

    return model.State(
        failures=row.failures,
        window_started_at=at(row.window_started_at),
        level=row.level,
        locked_until=at(row.locked_until),
        last_failure_at=at(row.last_failure_at),
    )


def _save(
    conn: Connection, business_id: int, kind: str, key: str, row: Any, state: model.State
) -> None:
    def stored(value: datetime | None) -> datetime | None:
        return naive_utc(value) if value is not None else None

    values = {
        "failures": state.failures,
        "window_started_at": stored(state.window_started_at),
        "level": state.level,
        "locked_until": stored(state.locked_until),
        "last_failure_at": stored(state.last_failure_at),
    }
    if row is None:
        conn.execute(
            insert(attempt_limits).values(business_id=business_id, kind=kind, key=key, **values)
        )
    else:
        conn.execute(update(attempt_limits).where(attempt_limits.c.id == row.id).values(**values))


def check(
    conn: Connection, business_id: int, kind: str, keys: Iterable[str], now: datetime
) -> None:
    """Raises TooManyAttempts when any of the keys is locked."""
    longest = 0.0
    for key in keys:
        wait = model.retry_after(_state(_load(conn, business_id, kind, key)), as_utc(now))
        if wait is not None:
            longest = max(longest, wait.total_seconds())
    if longest:
        raise TooManyAttempts(math.ceil(longest))


def failed(
    conn: Connection, business_id: int, kind: str, keys: Iterable[str], now: datetime
) -> None:
    for key in keys:
        row = _load(conn, business_id, kind, key)
        state = model.after_failure(_state(row), as_utc(now), _policy(kind, key))
        _save(conn, business_id, kind, key, row, state)


def succeeded(conn: Connection, business_id: int, kind: str, keys: Iterable[str]) -> None:
    """Clears the failures of the account keys (an address keeps its own)."""
    for key in keys:
        if key.startswith("ip:"):
            continue
        row = _load(conn, business_id, kind, key)
        if row is not None:
            _save(conn, business_id, kind, key, row, model.after_success(_state(row)))


@dataclass(frozen=True)
class Attempt:
    """One guarded attempt: a kind, the account it is about (if known) and the address."""

    db: Any
    business_id: int
    kind: str
    keys: tuple[str, ...]
    now: datetime

    def check(self) -> None:
        with self.db.read() as conn:
            check(conn, self.business_id, self.kind, self.keys, self.now)

    def failed(self) -> None:
        with self.db.transaction() as conn:
            failed(conn, self.business_id, self.kind, self.keys, self.now)

    def succeeded(self) -> None:
        with self.db.transaction() as conn:
            succeeded(conn, self.business_id, self.kind, self.keys)


def attempt(
    db: Any,
    request: Any,
    settings: Any,
    business_id: int,
    kind: str,
    account: str | None,
    now: datetime,
) -> Attempt:
    keys = [address_key(client_address(request, settings.trusted_proxies))]
    if account is not None:
        keys.insert(0, account)
    return Attempt(db, business_id, kind, tuple(keys), now)


async def _too_many(_request: Any, exc: Exception) -> Any:
    from lealtad.http import error_response

    assert isinstance(exc, TooManyAttempts)
    response = error_response(exc.http_status, exc.code, exc.message, exc.details)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def install(app: Any) -> None:
    """JSON answers to a locked key carry Retry-After (pages add it themselves)."""
    app.add_exception_handler(TooManyAttempts, _too_many)


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
    where there is nothing to guess and nowhere to count."""
    from lealtad.tenancy import store  # tenancy imports security modules

    with db.read() as conn:
        business = store.business_by_slug(conn, business_slug.strip().lower())
    if business is None:
        return None
    account = account_key("staff", email)
    return attempt(db, request, settings, business.id, kind, account, now)


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
    """Runs `work` after the guard's check; errors for which `counts` is true are failures."""
    guard.check()
    try:
        result = work()
    except LealtadError as exc:
        if counts(exc):
            guard.failed()
        raise
    guard.succeeded()
    return result


def _documented() -> dict[int | str, dict[str, Any]]:
    from lealtad.http import ErrorEnvelope

    text = "too many failed attempts (too_many_attempts): wait for Retry-After seconds"
    return {429: {"model": ErrorEnvelope, "description": text}}


# For the routes that can answer 429, so that the OpenAPI description says so.
LIMITED = _documented()
