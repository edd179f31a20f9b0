"""The refresh's figures as they stood at a past instant (`--as-of`): replayed from the
purchases and refunds that occurred by then, never from member_stats (which holds the whole
history), so that scores and models as of a date use nothing that happened after it."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
from sqlalchemy import Connection

from lealtad.analytics import model_inputs, rebuild, store, zone_store
from lealtad.analytics.refresh import Figures
from lealtad.kit.clock import as_utc, naive_utc

_EPOCH = date(1970, 1, 1)


def figures(conn: Connection, business_id: int, now: datetime) -> Figures:
    """As `refresh.load` reads them, for the members who had bought by `now`."""
    found = rebuild.figures_until(conn, business_id, naive_utc(now))
    tz = zone_store.zone(conn, business_id)
    ids: list[int] = []
    first_days: list[int] = []
    last_days: list[int] = []
    visits: list[int] = []
    spend: list[int] = []
    for member_id, f in sorted(found.items()):
        if f.purchases <= 0 or f.first_purchase_at is None or f.last_day is None:
            continue
        ids.append(member_id)
        first_days.append((as_utc(f.first_purchase_at).astimezone(tz).date() - _EPOCH).days)
        last_days.append((f.last_day - _EPOCH).days)
        visits.append(f.visit_days)
        spend.append(f.spend)
    first = np.array(first_days, dtype=np.int64)
    last = np.array(last_days, dtype=np.int64)
    today = (as_utc(now).astimezone(tz).date() - _EPOCH).days
    bought = np.array(ids, dtype=np.int64)
    first_day = np.minimum(first, last)
    return Figures(
        member_id=bought,
        recency_days=np.maximum(today - last, 0),
        visit_days=np.maximum(np.array(visits, dtype=np.int64), 1),
        spend=np.array(spend, dtype=np.int64),
        first_day=first_day,
        last_day=last,
        today=today,
        first_spend=model_inputs.first_day_spend(conn, business_id, bought, first_day, tz, now),
    )


def clear_not_yet_bought(conn: Connection, business_id: int, now: datetime) -> int:
    """Clears the scores of the members who had not bought by `now` (a refresh of today may
    have scored them); returns how many there are."""
    return store.clear_scores_first_bought_after(conn, business_id, naive_utc(now))
