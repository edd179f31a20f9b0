"""The connectors' delivery log is cleaned up by the daily jobs: deliveries older than
LEALTAD_CONNECTOR_LOG_DAYS (90 by default) go, newer ones and other businesses' stay, and the
purchases they recorded are untouched. Through the worker (both databases) and `lealtad jobs
run` (a run as of a past day cleans nothing)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from lealtad.config import Settings
from lealtad.connectors import service as connectors
from lealtad.connectors.tables import connector_deliveries
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.worker import run_once
from tests.conftest import SECRET
from tests.support import Shop, make_shop


def deliveries(db: Database, shop: Shop, clock: FixedClock, *ages: int) -> None:
    with db.transaction() as conn:
        for days in ages:
            connectors.log(
                conn,
                shop.id,
                "standard",
                clock.now() - timedelta(days=days),
                outcome="recorded",
                status_code=200,
                external_id=f"T-{days}",
            )


def kept(db: Database, shop: Shop) -> list[str]:
    with db.read() as conn:
        found = conn.scalars(
            select(connector_deliveries.c.external_id)
            .where(connector_deliveries.c.business_id == shop.id)
            .order_by(connector_deliveries.c.external_id)
        )
        return list(found)


def test_the_daily_jobs_delete_deliveries_past_the_retention(
    db: Database, shop: Shop, other_shop: Shop, clock: FixedClock, tmp_path: Path
) -> None:
    deliveries(db, shop, clock, 1, 29, 31, 400)
    deliveries(db, other_shop, clock, 1, 95)
    settings = Settings(
        env="test",
        secret_key=SECRET,
        data_dir=tmp_path / "data",
        log_level="warning",
        connector_log_days=30,
    )
    done = run_once(db, settings, clock)
    assert done[shop.id].deliveries_pruned == 2
    assert kept(db, shop) == ["T-1", "T-29"]
    assert kept(db, other_shop) == ["T-1"]
    # A second run the same day finds nothing more.
    assert run_once(db, settings, clock)[shop.id].deliveries_pruned == 0


def test_the_default_keeps_ninety_days(
    db: Database, shop: Shop, clock: FixedClock, tmp_path: Path
) -> None:
    deliveries(db, shop, clock, 89, 91)
    settings = Settings(env="test", secret_key=SECRET, data_dir=tmp_path / "d")
    assert settings.connector_log_days == 90
    run_once(db, settings, clock)
    assert kept(db, shop) == ["T-89"]


def test_jobs_run_prunes_and_a_run_as_of_a_past_day_does_not(
    sqlite_db: Database, tmp_path: Path
) -> None:
    from lealtad.cli import app
    from lealtad.kit.clock import SystemClock

    clock = FixedClock(SystemClock().now())
    shop = make_shop(sqlite_db, clock.now())
    deliveries(sqlite_db, shop, clock, 2, 10)
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("LEALTAD_")}
    env |= {
        "LEALTAD_DATABASE_URL": sqlite_db.engine.url.render_as_string(hide_password=False),
        "LEALTAD_SECRET_KEY": SECRET,
        "LEALTAD_DATA_DIR": str(tmp_path / "data"),
        "LEALTAD_LOG_LEVEL": "warning",
        "LEALTAD_CONNECTOR_LOG_DAYS": "5",
    }
    runner = CliRunner()
    past = (clock.now() - timedelta(days=1)).date().isoformat()
    as_of = runner.invoke(app, ["jobs", "run", "--as-of", past], env=env)
    assert as_of.exit_code == 0, as_of.output
    assert "connector deliveries pruned 0" in as_of.output
    assert kept(sqlite_db, shop) == ["T-10", "T-2"]
    today = runner.invoke(app, ["jobs", "run"], env=env)
    assert today.exit_code == 0, today.output
    assert "connector deliveries pruned 1" in today.output
    assert kept(sqlite_db, shop) == ["T-2"]
    bad = runner.invoke(app, ["jobs", "run"], env=env | {"LEALTAD_CONNECTOR_LOG_DAYS": "0"})
    assert bad.exit_code == 2
