"""Two workers at once on the same outbox: every event reaches the webhook exactly once."""

from __future__ import annotations

import threading
from collections import Counter

from lealtad.comms import webhook_delivery
from lealtad.comms.dispatch import dispatch
from lealtad.comms.outbox import emit
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from tests.api.test_webhooks import Receiver, create, receiver  # noqa: F401  (the fixture)
from tests.support import Shop

EVENTS = 1000


def test_two_workers_deliver_a_thousand_events_exactly_once_each(
    client,
    db: Database,
    shop: Shop,
    clock: FixedClock,
    receiver: Receiver,  # noqa: F811
) -> None:
    create(client, shop, receiver, "/hooks", topics=["tier.changed"])
    with db.transaction() as conn:
        for i in range(EVENTS):
            emit(conn, shop.id, "tier.changed", {"member_id": shop.members[0], "n": i}, clock.now())
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            while True:
                fanned = dispatch(db, clock.now(), limit=100, business_id=shop.id)
                sent = webhook_delivery.deliver_due(db, clock.now(), limit=100)
                if fanned == 0 and sent["claimed"] == 0:
                    return
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    got = receiver.at("/hooks")
    assert all(r.verified for r in got)
    numbers = Counter(r.body["data"]["n"] for r in got)
    assert len(numbers) == EVENTS, f"{EVENTS - len(numbers)} events never arrived"
    assert max(numbers.values()) == 1, "an event was delivered twice"
