"""Purchases, awards and redemptions counted when their transaction commits: the service adds to a
tally on the connection and the commit hook moves it to the process's Prometheus counters, so
neither a replayed idempotency key nor a rolled-back transaction is counted. Here, below the
domains that count, rather than in metrics.py, which holds the HTTP middleware and /metrics."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client import Counter
from sqlalchemy import Connection, Engine, event

PURCHASES = Counter("lealtad_purchases", "Purchases recorded (replays not counted)")
AWARDS = Counter("lealtad_awards", "Awards posted by purchases, by unit", ["unit"])
AWARDED = Counter(
    "lealtad_awarded_units",
    "Amount awarded by purchases, by unit (points, stamps, minor units)",
    ["unit"],
)
REDEMPTIONS = Counter("lealtad_redemptions", "Rewards redeemed for vouchers")
UNITS = ("points", "stamps", "cashback")
_TALLY = "lealtad_metrics_tally"


def _tally(conn: Connection) -> dict[str, int]:
    tally: dict[str, int] = conn.info.setdefault(_TALLY, {})
    return tally


def purchase_recorded(conn: Connection, awards: Iterable[Any]) -> None:
    """A purchase and its awards (objects with .unit and .amount), counted if the transaction
    commits."""
    tally = _tally(conn)
    tally["purchases"] = tally.get("purchases", 0) + 1
    for award in awards:
        # Stamps are kept per card ("stamps.coffee"): the label is the kind, so that series stay
        # few whatever cards a business has.
        kind = award.unit.split(".", 1)[0]
        unit = kind if kind in UNITS else "other"
        tally[unit] = tally.get(unit, 0) + 1
        tally["+" + unit] = tally.get("+" + unit, 0) + award.amount


def redemption_made(conn: Connection) -> None:
    tally = _tally(conn)
    tally["redemptions"] = tally.get("redemptions", 0) + 1


def _on_commit(conn: Connection) -> None:
    tally = conn.info.pop(_TALLY, None)
    if not tally:
        return
    for name, value in tally.items():
        if name == "purchases":
            PURCHASES.inc(value)
        elif name == "redemptions":
            REDEMPTIONS.inc(value)
        elif name.startswith("+"):
            AWARDED.labels(name[1:]).inc(value)
        else:
            AWARDS.labels(name).inc(value)


def _on_rollback(conn: Connection) -> None:
    conn.info.pop(_TALLY, None)


def count_commits(engine: Engine) -> None:
    """Moves what committed transactions recorded to the counters (once per engine)."""
    if not event.contains(engine, "commit", _on_commit):
        event.listen(engine, "commit", _on_commit)
        event.listen(engine, "rollback", _on_rollback)
