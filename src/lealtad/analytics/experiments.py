"""Experiments: a control and up to four variants, members split between them by stable hashing
(analytics.uplift.assign, keyed by the slug), and the life of an experiment: draft → running →
stopped. A reward or rule variation targets an arm through the segment "exp:<slug>:<arm>"
(analytics.segments), so nothing here stores which member is in which arm (decisions D26).

Once running, the arms, their weights and the start are frozen: changing them would move members
from one arm to another half way through, and the report could no longer say what each arm saw.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import Connection

from lealtad.analytics import experiments_store
from lealtad.analytics.segments import experiment_segment
from lealtad.errors import Conflict, Invalid, NotFound
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.kit.dates import IsoDateTime

SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"
ARM_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"
STATUSES = ("draft", "running", "stopped")


class ArmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=ARM_PATTERN, description="lower-case letters, digits, - and _")
    weight: int = Field(default=1, ge=1, le=1000, description="its share: weight / sum of weights")


def _unique_arms(arms: list[ArmIn]) -> list[ArmIn]:
    names = [a.name for a in arms]
    if len(set(names)) != len(names):
        raise ValueError("arm names must be unique")
    return arms


Arms = Field(
    min_length=2, max_length=5, description="the first arm is the control; 2 to 5 arms in all"
)


class ExperimentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Field(
        pattern=SLUG_PATTERN, description='the key of the split and of the segments "exp:<slug>:…"'
    )
    name: str = Field(min_length=1, max_length=200)
    hypothesis: str = Field(default="", max_length=1000)
    arms: list[ArmIn] = Arms
    starts_at: IsoDateTime | None = Field(default=None, description="now if omitted")
    ends_at: IsoDateTime | None = Field(default=None, description="open-ended if omitted")

    _arms = field_validator("arms")(_unique_arms)

    @model_validator(mode="after")
    def _ordered(self) -> ExperimentIn:
        if self.starts_at and self.ends_at and as_utc(self.ends_at) <= as_utc(self.starts_at):
            raise ValueError("the experiment must end after it starts")
        return self


class ExperimentPatch(BaseModel):
    """Any of these; arms and start only while a draft, the end only until stopped."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    hypothesis: str | None = Field(default=None, max_length=1000)
    arms: list[ArmIn] | None = Field(default=None, min_length=2, max_length=5)
    starts_at: IsoDateTime | None = None
    ends_at: IsoDateTime | None = None

    @field_validator("arms")
    @classmethod
    def _arms(cls, arms: list[ArmIn] | None) -> list[ArmIn] | None:
        return None if arms is None else _unique_arms(arms)


class ArmOut(BaseModel):
    name: str
    weight: int
    control: bool
    segment: str = Field(description="target this arm with it in a rule or a reward")


class ExperimentOut(BaseModel):
    id: int
    slug: str
    name: str
    hypothesis: str
    arms: list[ArmOut]
    status: str = Field(description="draft, running or stopped")
    in_effect: bool = Field(description="running, started and not yet ended: arms get segments")
    starts_at: datetime
    ends_at: datetime | None
    created_at: datetime


def arms_of(row: Any) -> list[tuple[str, int]]:
    return [(str(name), int(weight)) for name, weight in row.arms]


def in_effect(row: Any, now: datetime) -> bool:
    at = naive_utc(now)
    ended = row.ends_at is not None and row.ends_at <= at
    return row.status == "running" and row.starts_at <= at and not ended


def out(row: Any, now: datetime) -> ExperimentOut:
    arms = arms_of(row)
    return ExperimentOut(
        id=row.id,
        slug=row.slug,
        name=row.name,
        hypothesis=row.hypothesis,
        arms=[
            ArmOut(name=a, weight=w, control=i == 0, segment=experiment_segment(row.slug, a))
            for i, (a, w) in enumerate(arms)
        ],
        status=row.status,
        in_effect=in_effect(row, now),
        starts_at=as_utc(row.starts_at),
        ends_at=as_utc(row.ends_at) if row.ends_at else None,
        created_at=as_utc(row.created_at),
    )


def _window_check(starts_at: datetime, ends_at: datetime | None, now: datetime) -> None:
    if ends_at is None:
        return
    if ends_at <= naive_utc(now):
        raise Invalid("the end is already past", code="ends_in_past")
    if ends_at <= starts_at:
        raise Invalid("the experiment must end after it starts", code="ends_before_start")


def create(conn: Connection, business_id: int, data: ExperimentIn, now: datetime) -> int:
    taken = experiments_store.experiment_by_slug(conn, business_id, data.slug)
    if taken is not None:
        # Even a stopped one: the slug is the hash key, so a reused slug would repeat its split.
        raise Conflict(f"an experiment {data.slug!r} already exists", code="duplicate_experiment")
    starts_at = naive_utc(data.starts_at or now)
    ends_at = naive_utc(data.ends_at) if data.ends_at else None
    _window_check(starts_at, ends_at, now)
    return experiments_store.insert_experiment(
        conn,
        business_id=business_id,
        slug=data.slug,
        name=data.name,
        hypothesis=data.hypothesis,
        arms=[[a.name, a.weight] for a in data.arms],
        status="draft",
        starts_at=starts_at,
        ends_at=ends_at,
        created_at=naive_utc(now),
    )


def list_all(conn: Connection, business_id: int) -> list[Any]:
    """Newest first."""
    return experiments_store.experiments_of(conn, business_id)


def get(conn: Connection, business_id: int, experiment_id: int, *, lock: bool = False) -> Any:
    row = experiments_store.experiment(conn, business_id, experiment_id, lock=lock)
    if row is None:
        raise NotFound(
            f"no experiment {experiment_id} in this business", code="experiment_not_found"
        )
    return row


def _save(conn: Connection, row: Any, **values: Any) -> None:
    experiments_store.update_experiment(conn, row.business_id, row.id, **values)


def update(
    conn: Connection, business_id: int, experiment_id: int, patch: ExperimentPatch, now: datetime
) -> None:
    row = get(conn, business_id, experiment_id, lock=True)
    fields = patch.model_fields_set
    if row.status != "draft" and "arms" in fields:
        raise Conflict(
            "the arms cannot change once the experiment has started: members would move "
            "between arms",
            code="arms_frozen",
        )
    if row.status != "draft" and "starts_at" in fields:
        raise Conflict(
            "the start cannot change once the experiment has started", code="start_frozen"
        )
    if row.status == "stopped" and "ends_at" in fields:
        raise Conflict("the experiment is stopped", code="experiment_stopped")
    values: dict[str, Any] = {}
    if patch.name is not None:
        values["name"] = patch.name
    if patch.hypothesis is not None:
        values["hypothesis"] = patch.hypothesis
    if patch.arms is not None:
        values["arms"] = [[a.name, a.weight] for a in patch.arms]
    if "starts_at" in fields:
        values["starts_at"] = naive_utc(patch.starts_at or now)
    if "ends_at" in fields:
        values["ends_at"] = naive_utc(patch.ends_at) if patch.ends_at else None
    if "starts_at" in values or "ends_at" in values:
        _window_check(
            values.get("starts_at", row.starts_at), values.get("ends_at", row.ends_at), now
        )
    if values:
        _save(conn, row, **values)


def _wrong_status(row: Any, code: str, message: str) -> Conflict:
    return Conflict(message, code=code, details={"status": row.status})


def start(conn: Connection, business_id: int, experiment_id: int, now: datetime) -> None:
    """From draft to running. A start already past moves to now, so the report's window begins
    when members could first see the variation."""
    row = get(conn, business_id, experiment_id, lock=True)
    if row.status != "draft":
        code = "already_running" if row.status == "running" else "experiment_stopped"
        raise _wrong_status(row, code, f"only a draft can start; this one is {row.status}")
    starts_at = max(row.starts_at, naive_utc(now))
    _window_check(starts_at, row.ends_at, now)
    _save(conn, row, status="running", starts_at=starts_at)


def stop(conn: Connection, business_id: int, experiment_id: int, now: datetime) -> None:
    """From running to stopped, for good: the arms lose their segments and the report's window
    closes now (or at the planned end, if that came first)."""
    row = get(conn, business_id, experiment_id, lock=True)
    if row.status != "running":
        raise _wrong_status(row, "not_running", f"only a running one can stop; it is {row.status}")
    at = naive_utc(now)
    # One stopped before its planned start has an empty window, not an end before its start.
    ends_at = max(min(row.ends_at or at, at), row.starts_at)
    _save(conn, row, status="stopped", ends_at=ends_at)
