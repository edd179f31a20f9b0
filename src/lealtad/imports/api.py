"""JSON routes of opening balances: the rows of a balances file in a request, all or nothing, and
the undoing of a run. A file bigger than a request may carry goes through `lealtad import
balances`, which streams it; both check and load rows with the same code (imports/opening.py)."""

from __future__ import annotations

import json
import tempfile
from datetime import datetime
from pathlib import Path

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from lealtad.deps import AppSettings, Db, Manager, Now
from lealtad.errors import Conflict, Invalid, NotFound
from lealtad.http import ERROR_RESPONSES
from lealtad.imports import model, opening, store
from lealtad.kit.clock import FixedClock, as_utc
from lealtad.kit.ids import IdPath

router = APIRouter(prefix="/api/v1", tags=["imports"], responses=ERROR_RESPONSES)
MAX_ROWS = 10_000


class BalanceRowIn(BaseModel):
    """One row of a balances file; the columns and their checks are those of the CSV file."""

    model_config = ConfigDict(extra="forbid")

    member_id: int | None = None
    email: str | None = Field(default=None, max_length=320)
    card_number: str | None = Field(default=None, max_length=40)
    points: int | None = Field(default=None, description="whole points of one lot")
    earned_at: str | None = Field(
        default=None, max_length=40, description="YYYY-MM-DD (in the business's zone) or ISO 8601"
    )
    expires_at: str | None = Field(default=None, max_length=40, description="as earned_at")
    stamps: int | None = None
    stamp_card: str | None = Field(default=None, max_length=64)
    cashback: int | None = Field(default=None, description="minor units, e.g. cents")
    lifetime_spend: int | None = Field(
        default=None,
        description="what the member spent in total in the previous system, in minor units; "
        "shown apart, never counted in Lealtad's figures",
    )
    lifetime_visits: int | None = Field(
        default=None, description="visits the previous system counted in total"
    )
    lifetime_points: int | None = Field(
        default=None, description="points the member earned in total in the previous system"
    )
    lifetime_as_of: str | None = Field(
        default=None,
        max_length=40,
        description="the day the lifetime figures were taken (YYYY-MM-DD); default the import's",
    )


class BalancesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rows: list[BalanceRowIn] = Field(min_length=1, max_length=MAX_ROWS)


class ImportRunOut(BaseModel):
    run_id: int
    kind: str
    status: str = Field(description="running, done or undone")
    rows: int
    loaded: int
    rejected: int
    started_at: datetime
    finished_at: datetime | None


class UndoOut(BaseModel):
    run_id: int
    entries_reversed: int


@router.post("/imports/balances", response_model=ImportRunOut, status_code=201)
def import_balances(
    body: BalancesIn, principal: Manager, db: Db, now: Now, settings: AppSettings
) -> ImportRunOut:
    """Opening balances from the previous system, through the ledger against the "migrated"
    account (manager role and up). Every row is checked first: one bad row and nothing is
    loaded, the 422 naming each bad row (1 is the first) with its reason. The same rows a second
    time are a 409 (they would double every balance); undo the run first."""
    with tempfile.TemporaryDirectory(prefix="lealtad-balances-") as folder:
        path = Path(folder) / "api-request.jsonl"
        with path.open("w", encoding="utf-8") as f:
            for row in body.rows:
                f.write(json.dumps(row.model_dump(exclude_none=True)) + "\n")
        try:
            done = opening.import_balances(
                db,
                principal.business_id,
                path,
                secret_key=settings.effective_secret_key,
                clock=FixedClock(now),
                by=principal.actor,
            )
        except opening.FileErrors as exc:
            raise Invalid(
                f"{len(exc.problems)} row(s) cannot be imported; nothing was loaded",
                code="import_rows_invalid",
                details=[{"row": p.line, "reason": p.reason} for p in exc.problems[:1000]],
            ) from None
        except model.FileProblem as exc:
            raise Conflict(
                str(exc).removeprefix(f"{path.name}: "), code="import_repeated"
            ) from None
    return _run_out(db, principal.business_id, done.run_id)


@router.get("/imports/{run_id}", response_model=ImportRunOut)
def import_run(run_id: IdPath, principal: Manager, db: Db) -> ImportRunOut:
    """An import run: what it loaded and whether it was undone."""
    return _run_out(db, principal.business_id, run_id)


@router.post("/imports/{run_id}/undo", response_model=UndoOut)
def undo(run_id: IdPath, principal: Manager, db: Db, now: Now) -> UndoOut:
    """Undoes a balances import as a whole with compensating entries, and removes the lifetime
    figures it brought (the member shows an earlier run's, if any). 409
    `opening_balance_used`, with nothing undone, once units it brought were spent."""
    count = opening.undo_run(
        db, principal.business_id, run_id, by=principal.actor, clock=FixedClock(now)
    )
    return UndoOut(run_id=run_id, entries_reversed=count)


def _run_out(db: Db, business_id: int, run_id: int) -> ImportRunOut:
    with db.read() as conn:
        run = store.run_or_none(conn, business_id, run_id)
    if run is None:
        raise NotFound(f"no import run {run_id} in this business", code="import_run_not_found")
    return ImportRunOut(
        run_id=run.id,
        kind=run.kind,
        status=run.status,
        rows=run.rows_done,
        loaded=run.loaded,
        rejected=run.rejected,
        started_at=as_utc(run.started_at),
        finished_at=as_utc(run.finished_at) if run.finished_at else None,
    )
