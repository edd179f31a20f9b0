"""The catalog: rewards a business offers, and what one member can see and afford."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from lealtad.analytics import segments
from lealtad.errors import Conflict, NotFound
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.ledger import service as ledger
from lealtad.rewards import donations_store, model, store
from lealtad.rewards.schemas import RewardIn, RewardOut, RewardPatch
from lealtad.tiers import service as tiers


def _utc(value: datetime | None) -> datetime | None:
    return naive_utc(value) if value else None


def create(conn: Connection, business_id: int, data: RewardIn, now: datetime) -> int:
    if store.reward_by_slug(conn, business_id, data.slug) is not None:
        raise Conflict(f"a reward {data.slug!r} already exists", code="duplicate_reward")
    if data.cause_id is not None and not donations_store.cause_exists(
        conn, business_id, data.cause_id
    ):
        raise NotFound(f"no cause {data.cause_id} in this business", code="cause_not_found")
    values = data.model_dump(exclude={"title", "description", "valid_from", "valid_until"})
    return store.insert_reward(
        conn,
        business_id=business_id,
        title=data.title.model_dump(),
        description=data.description.model_dump(),
        valid_from=_utc(data.valid_from),
        valid_until=_utc(data.valid_until),
        rating_count=0,
        rating_total=0,
        created_at=naive_utc(now),
        **values,
    )


def get(conn: Connection, business_id: int, reward_id: int, *, lock: bool = False) -> Any:
    row = store.reward(conn, business_id, reward_id, lock=lock)
    if row is None:
        raise NotFound(f"no reward {reward_id} in this business", code="reward_not_found")
    return row


def update(conn: Connection, business_id: int, reward_id: int, patch: RewardPatch) -> None:
    get(conn, business_id, reward_id)
    values: dict[str, Any] = {}
    for name in patch.model_fields_set:
        value = getattr(patch, name)
        if name in ("title", "description") and value is not None:
            value = value.model_dump()
        if name == "valid_until":
            value = _utc(value)
        if name in ("title", "cost", "featured", "active") and value is None:
            continue
        if name == "description" and value is None:
            value = {}  # null clears the description; the answer's schema has no null for it
        values[name] = value
    if values:
        store.update_reward(conn, business_id, reward_id, **values)


def out(row: Any, affordable: bool | None = None) -> RewardOut:
    average = round(row.rating_total / row.rating_count, 2) if row.rating_count else None
    return RewardOut(
        id=row.id,
        slug=row.slug,
        kind=row.kind,
        title=row.title,
        description=row.description or {},  # rows a null PATCH stored before the fix above
        cost_unit=row.cost_unit,
        cost=row.cost,
        value=row.value,
        sku=row.sku,
        stock=row.stock,
        valid_from=as_utc(row.valid_from) if row.valid_from else None,
        valid_until=as_utc(row.valid_until) if row.valid_until else None,
        limit_per_member=row.limit_per_member,
        limit_period=row.limit_period,
        visible_tiers=row.visible_tiers,
        visible_segments=row.visible_segments,
        featured=row.featured,
        image_url=row.image_url,
        voucher_days=row.voucher_days,
        on_expiry=row.on_expiry,
        cause_id=row.cause_id,
        active=row.active,
        rating_average=average,
        rating_count=row.rating_count,
        affordable=affordable,
    )


def for_member(
    conn: Connection, business_id: int, member_id: int, now: datetime
) -> list[RewardOut]:
    """What this member sees: active, in its dates, meant for their tier or segment, in stock;
    featured first, and whether their balance covers each."""
    tier = tiers.current(conn, business_id, member_id)
    held = ledger.balances(conn, business_id, member_id)
    member_segments = segments.of_member(conn, business_id, member_id, now)
    at = naive_utc(now)
    shown = []
    for row in store.catalog(conn, business_id, active_only=True):
        if not model.in_window(row.valid_from, row.valid_until, at):
            continue
        if not model.visible_to(row.visible_tiers, row.visible_segments, tier, member_segments):
            continue
        if row.stock == 0:
            continue
        shown.append(out(row, held.get(row.cost_unit, 0) >= row.cost))
    return shown
