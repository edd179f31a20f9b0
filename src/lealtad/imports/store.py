"""The import_runs table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from lealtad.imports.tables import import_runs


def _latest_run(conn: Connection, business_id: int, kind: str, sha256: str, status: str) -> Any:
    return conn.execute(
        select(import_runs)
        .where(
            import_runs.c.business_id == business_id,
            import_runs.c.kind == kind,
            import_runs.c.file_sha256 == sha256,
            import_runs.c.status == status,
        )
        .order_by(import_runs.c.id.desc())
        .limit(1)
    ).first()


def unfinished_run(conn: Connection, business_id: int, kind: str, sha256: str) -> Any:
    """The latest run of this file that did not reach its end, if any."""
    return _latest_run(conn, business_id, kind, sha256, "running")


def start_run(
    conn: Connection, business_id: int, kind: str, file_name: str, sha256: str, now: datetime
) -> int:
    values = dict(
        business_id=business_id,
        kind=kind,
        file_name=file_name[-500:],
        file_sha256=sha256,
        rows_done=0,
        loaded=0,
        already=0,
        rejected=0,
        status="running",
        started_at=now,
        updated_at=now,
    )
    return int(
        conn.execute(insert(import_runs).values(**values).returning(import_runs.c.id)).scalar_one()
    )


def record_batch(
    conn: Connection,
    business_id: int,
    run_id: int,
    *,
    rows: int,
    loaded: int,
    already: int,
    rejected: int,
    now: datetime,
) -> None:
    c = import_runs.c
    conn.execute(
        update(import_runs)
        .where(c.business_id == business_id, c.id == run_id)
        .values(
            rows_done=c.rows_done + rows,
            loaded=c.loaded + loaded,
            already=c.already + already,
            rejected=c.rejected + rejected,
            updated_at=now,
        )
    )


def finish_run(conn: Connection, business_id: int, run_id: int, now: datetime) -> None:
    conn.execute(
        update(import_runs)
        .where(import_runs.c.business_id == business_id, import_runs.c.id == run_id)
        .values(status="done", finished_at=now, updated_at=now)
    )


def run(conn: Connection, business_id: int, run_id: int) -> Any:
    return conn.execute(
        select(import_runs).where(
            import_runs.c.business_id == business_id, import_runs.c.id == run_id
        )
    ).one()


def finished_run(conn: Connection, business_id: int, kind: str, sha256: str) -> Any:
    """The latest run of this file that reached its end and was not undone, if any."""
    return _latest_run(conn, business_id, kind, sha256, "done")


def run_or_none(conn: Connection, business_id: int, run_id: int) -> Any:
    return conn.execute(
        select(import_runs).where(
            import_runs.c.business_id == business_id, import_runs.c.id == run_id
        )
    ).first()


def mark_undone(conn: Connection, business_id: int, run_id: int, now: datetime) -> None:
    """An undone run keeps its row (its counts, its file): the journal still names it."""
    conn.execute(
        update(import_runs)
        .where(import_runs.c.business_id == business_id, import_runs.c.id == run_id)
        .values(status="undone", updated_at=now)
    )
