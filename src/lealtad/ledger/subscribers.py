"""Who hears of a ledger entry, named in one place.

The ledger core appends entries and knows nothing of the figures other domains keep about them
(the dashboard's issued and redeemed flows live in analytics). Those writers subscribe: each is
called in the poster's transaction with the entries just posted, single or set-wise alike.
`lealtad.wiring` names them and every entry point (the app, the CLI, the worker, the tests and
benchmarks) wires them before its first post. Posting in a process that never wired raises
instead of leaving the rollups silently behind the journal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection

from lealtad.ledger.model import Entry


@dataclass(frozen=True, slots=True)
class Posted:
    entry_id: int
    entry: Entry


class EntrySubscriber(Protocol):
    def __call__(self, conn: Connection, business_id: int, posted: Sequence[Posted]) -> None: ...


class NotWired(RuntimeError):
    """A ledger entry was posted in a process whose entry point never called `wiring.wire()`."""


_wired: list[tuple[EntrySubscriber, ...]] = []


def subscribe(subscribers: Sequence[EntrySubscriber]) -> None:
    """Replaces the subscribers (wiring twice with the same list is harmless)."""
    _wired[:] = [tuple(subscribers)]


def subscribers() -> tuple[EntrySubscriber, ...]:
    if not _wired:
        raise NotWired(
            "ledger subscribers are not wired: call lealtad.wiring.wire() in this entry point"
        )
    return _wired[0]


def notify(conn: Connection, business_id: int, posted: Sequence[Posted]) -> None:
    for subscriber in subscribers():
        subscriber(conn, business_id, posted)
