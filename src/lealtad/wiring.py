"""What is written beside a write, named in one place.

A ledger entry also moves the dashboard's rollups; the ledger core does not import analytics
(tests/unit/test_layers.py), so the writers that follow an entry are listed here and handed to
the ledger at start-up. Every entry point calls `wire()` before it serves: the app factory, the
CLI's database factory, the worker, the tests and the benchmarks. One that forgets fails on its
first post (ledger.subscribers.NotWired) instead of skipping the rollups."""

from __future__ import annotations

from lealtad.analytics import rollups
from lealtad.ledger import subscribers

# In the order they run, in the poster's transaction.
LEDGER_SUBSCRIBERS: tuple[subscribers.EntrySubscriber, ...] = (
    rollups.on_entries,  # issued/redeemed flows per day; a member's first reward
)


def wire() -> None:
    subscribers.subscribe(LEDGER_SUBSCRIBERS)
