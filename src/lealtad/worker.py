"""The background worker: runs the program's time-driven jobs (unlocking and expiring points,
birthdays and anniversaries, the tier review) for every business, over and over. Each job is
idempotent, so several workers, or a worker and `lealtad jobs run`, may overlap safely."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict

from lealtad import metrics
from lealtad.comms import messages, webhook_delivery
from lealtad.comms.dispatch import dispatch
from lealtad.config import Settings
from lealtad.connectors import service as connectors
from lealtad.db.engine import Database
from lealtad.events.jobs import DailyRun, run_daily
from lealtad.kit.clock import Clock, SystemClock
from lealtad.passes import google_sync
from lealtad.passes import push as pass_push
from lealtad.tenancy import store as tenancy_store
from lealtad.wiring import wire

log = logging.getLogger("lealtad.worker")


def run_once(db: Database, settings: Settings, clock: Clock) -> dict[int, DailyRun]:
    with db.read() as conn:
        ids = [row.id for row in tenancy_store.all_businesses(conn)]
    done = {}
    for business_id in ids:
        # One transaction per business: a failure in one does not hold back the others.
        try:
            with db.transaction() as conn:
                done[business_id] = run_daily(
                    conn,
                    business_id,
                    clock.now(),
                    settings.effective_secret_key,
                    settings.public_base_url,
                    settings=settings,
                )
                done[business_id].deliveries_pruned = connectors.prune_log(
                    conn, business_id, clock.now(), settings.connector_log_days
                )
        except Exception:
            log.exception("daily jobs failed for business %s", business_id)
    return done


def deliver(db: Database, settings: Settings, clock: Clock) -> dict[str, int]:
    """Outbox events to messages and webhook deliveries, then sends what is due. Separate from
    the daily jobs so that it can run every few seconds."""
    counts = {"events": 0}
    while True:
        batch = dispatch(db, clock.now())
        counts["events"] += batch
        if batch == 0:
            break
    for name, count in webhook_delivery.deliver_due(
        db, clock.now(), allow_private=settings.private_addresses_allowed
    ).items():
        counts[f"webhooks_{name}"] = count
    for name, count in messages.send_due(db, settings, clock.now()).items():
        counts[name if name.startswith(("push_", "sms_", "whatsapp_")) else f"email_{name}"] = count
    # Wallet passes whose balance changed, pushed to the devices that hold them.
    counts |= pass_push.push_changes(db, settings.effective_secret_key, clock.now())
    counts |= google_sync.sync_changes(db, settings.effective_secret_key, clock.now())
    return counts


def run_forever(
    db: Database,
    settings: Settings,
    *,
    interval: float,
    clock: Clock | None = None,
    keep_going: Callable[[], bool] = lambda: True,
) -> None:
    clock = clock or SystemClock()
    wire()  # lealtad/wiring.py
    while keep_going():
        started = time.monotonic()
        delivered = deliver(db, settings, clock)
        metrics.worker_did(delivered)
        if any(delivered.values()):
            log.info("delivered: %s", delivered)
        for business_id, run in run_once(db, settings, clock).items():
            metrics.worker_did(asdict(run))
            if (
                run.birthdays
                or run.anniversaries
                or run.tier_changes
                or run.unlocked
                or run.expired
            ):
                log.info("business %s: %s", business_id, run)
        time.sleep(max(0.0, interval - (time.monotonic() - started)))
