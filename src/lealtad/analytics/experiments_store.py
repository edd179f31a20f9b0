"""All SQL of experiments (analytics.experiments holds their life: draft, running, stopped)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from lealtad.analytics.tables import experiments


def experiment_by_slug(conn: Connection, business_id: int, slug: str) -> Any:
    """The id of the business's experiment with this slug, stopped or not; None if none."""
    return conn.execute(
        select(experiments.c.id).where(
            experiments.c.business_id == business_id, experiments.c.slug == slug
        )
    ).first()


def insert_experiment(conn: Connection, **values: Any) -> int:
    return int(
        conn.execute(insert(experiments).values(**values).returning(experiments.c.id)).scalar_one()
    )


def experiments_of(conn: Connection, business_id: int) -> list[Any]:
    """Newest first."""
    return list(
        conn.execute(
            select(experiments)
            .where(experiments.c.business_id == business_id)
            .order_by(experiments.c.created_at.desc(), experiments.c.id.desc())
        )
    )


def experiment(conn: Connection, business_id: int, experiment_id: int, *, lock: bool) -> Any:
    """The row, or None; locked FOR UPDATE (where the database can) for a change of it."""
    query = select(experiments).where(
        experiments.c.business_id == business_id, experiments.c.id == experiment_id
    )
    return conn.execute(query.with_for_update() if lock else query).first()


def update_experiment(
    conn: Connection, business_id: int, experiment_id: int, **values: Any
) -> None:
    conn.execute(
        update(experiments)
        .where(experiments.c.business_id == business_id, experiments.c.id == experiment_id)
        .values(**values)
    )
