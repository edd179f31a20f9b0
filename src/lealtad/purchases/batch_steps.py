"""What a group-commit batch (db/group_commit.py) of purchases, refunds and redemptions does once
per business instead of once per job: the business's configuration read once, the analytics
counters' deltas summed and written once, the outbox events inserted in one executemany, all
before the batch commits. Named in one place so that every route handing work to the writer
takes the same steps."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

from lealtad.analytics import rollups
from lealtad.comms import outbox
from lealtad.tenancy import config


@contextmanager
def once_per_batch(conn: Connection, business_id: int) -> Iterator[None]:
    with config.pinned(conn, business_id), rollups.deferred(conn), outbox.deferred(conn):
        yield
