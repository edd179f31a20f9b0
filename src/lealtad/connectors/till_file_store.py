"""All SQL of the CSV drop's log (till_files), read with the counts of each file's import run."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select

from lealtad.connectors.till_file_tables import till_files
from lealtad.imports.tables import import_runs

_RUN_COLUMNS = (
    import_runs.c.rows_done,
    import_runs.c.loaded,
    import_runs.c.already,
    import_runs.c.rejected,
)


def insert_file(conn: Connection, **values: Any) -> int:
    query = insert(till_files).values(**values).returning(till_files.c.id)
    return int(conn.execute(query).scalar_one())


def _with_runs(business_id: int) -> Any:
    joined = till_files.outerjoin(
        import_runs,
        (import_runs.c.id == till_files.c.run_id)
        & (import_runs.c.business_id == till_files.c.business_id),
    )
    columns = [c for c in till_files.c if c.name != "rejects"]
    # Whether rejects are kept, without reading them for every row of the history.
    has = till_files.c.rejects.is_not(None).label("has_rejects")
    return (
        select(*columns, has, *_RUN_COLUMNS)
        .select_from(joined)
        .where(till_files.c.business_id == business_id)
    )


def recent(conn: Connection, business_id: int, limit: int) -> list[Any]:
    query = _with_runs(business_id).order_by(
        till_files.c.received_at.desc(), till_files.c.id.desc()
    )
    return list(conn.execute(query.limit(limit)))


def one(conn: Connection, business_id: int, file_id: int) -> Any:
    return conn.execute(_with_runs(business_id).where(till_files.c.id == file_id)).first()


def rejects(conn: Connection, business_id: int, file_id: int) -> Any:
    c = till_files.c
    query = select(c.file_name, c.rejects).where(c.business_id == business_id, c.id == file_id)
    return conn.execute(query).first()
