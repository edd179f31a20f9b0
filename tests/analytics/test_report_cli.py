"""`lealtad report` and `lealtad analytics rebuild|refresh` on a SQLite file: the summary as
text, the series as CSV, JSON, and clear refusals with exit code 2 (bad arguments) or 1
(nothing by that name)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from typer.testing import CliRunner

from lealtad.analytics import preferences, report_text, reports
from lealtad.cli import app
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from tests.analytics.test_reports import build_business
from tests.comms.conftest import Inbox, _free_port
from tests.support import Shop

runner = CliRunner()


@pytest.fixture
def cli(
    sqlite_db: Database, tmp_path: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> Any:
    """Runs `lealtad ...` on the test's SQLite file (tmp_path/lealtad.db) at the test's clock."""
    for name in [n for n in os.environ if n.startswith("LEALTAD_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("lealtad.analytics.cli._now", clock.now)

    def run(*args: str, **env: str) -> Any:
        base = {"LEALTAD_DATA_DIR": str(tmp_path), "NO_COLOR": "1", "COLUMNS": "200"}
        return runner.invoke(app, list(args), env=base | env)

    return run


@pytest.fixture
def shop(sqlite_db: Database) -> Shop:
    return build_business(sqlite_db)


def test_the_report_prints_yesterdays_summary_in_the_business_language(
    cli, shop, sqlite_db, clock
) -> None:
    done = cli("report", "--business", shop.slug)
    assert done.exit_code == 0, done.output
    with sqlite_db.read() as conn:
        expected = report_text.text(reports.latest(conn, shop.id, "day", clock.now()), "es")
    assert done.stdout == expected + "\n"
    assert "Compras: 3 (+1 · +50 %)" in done.stdout
    english = cli("report", "--business", shop.slug, "--lang", "en", "--period", "week")
    assert english.exit_code == 0
    assert (
        "Feb 23, 2026 – Mar 1, 2026 (compared with Feb 16, 2026 – Feb 22, 2026)" in english.stdout
    )
    assert "Purchases: 5 (+5)" in english.stdout


def test_the_csv_has_one_row_per_day_with_every_series(cli, shop) -> None:
    done = cli(
        "report", "--business", shop.slug, "--period", "custom",
        "--start", "2026-02-28", "--end", "2026-03-01", "--format", "csv",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    # RFC 4180 lines end in CRLF; the test runner reads them back as "\n".
    assert done.stdout.split("\n") == [
        "period,purchases,member_purchases,revenue,member_revenue,refunds,enrolment_rate,"
        "new_members,visiting_members,member_ticket,other_ticket,visits_per_member,"
        "points_issued,points_redeemed,points_expired,points_outstanding,cashback_issued,"
        "cashback_redeemed,cashback_expired,cashback_outstanding",
        "2026-02-28,2,1,3000,1000,0,50,1,1,1000,2000,1,10,0,0,10,0,0,0,0",
        "2026-03-01,3,2,5000,3500,0,66.7,2,2,1750,1500,1,35,20,8,25,0,0,0,0",
        "",
    ]


def test_the_json_has_the_figures_the_change_and_the_series(cli, shop) -> None:
    done = cli("report", "--business", shop.slug, "--format", "json", "--grain", "week")
    assert done.exit_code == 0, done.output
    found = json.loads(done.stdout)
    assert (found["start"], found["end"], found["previous_end"]) == (
        "2026-03-01",
        "2026-03-01",
        "2026-02-28",
    )
    assert found["figures"]["revenue"] == {
        "unit": "money",
        "value": 5000,
        "previous": 3000,
        "change": 2000,
        "change_percent": 66.7,
    }
    assert found["figures"]["liability"]["value"] == 125
    assert found["top_rewards"][0]["title"] == {"es": "Taza", "en": "Cup"}
    # One week bucket (from Monday 23 February) for the one day asked for.
    assert [row["period"] for row in found["series"]] == ["2026-02-23"]
    assert found["series"][0]["purchases"] == 3


def test_one_locations_report_counts_its_purchases_and_members(cli, shop) -> None:
    other = cli("report", "--business", shop.slug, "--location", str(shop.locations[1]))
    assert other.exit_code == 0, other.output
    assert "Compras: 0 (±0)" in other.stdout
    assert "Los puntos y el pasivo son de todo el negocio." in other.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--business", "no-such-shop"], 1, "No business / no existe el negocio: no-such-shop"),
        (["--location", "999999"], 1, "no location 999999 in this business"),
        (["--period", "year"], 2, "Invalid value for '--period'"),
        (["--period", "custom"], 2, "--period custom needs --start and --end"),
        (["--start", "2026-03-01"], 2, "--start and --end go with --period custom"),
        (
            ["--period", "custom", "--start", "2026-03-02", "--end", "2026-03-01"],
            2,
            "--end is before --start",
        ),
        (["--period", "custom", "--start", "2026-3-x", "--end", "2026-03-01"], 2, "--start"),
        (
            [
                "--period",
                "custom",
                "--start",
                "2020-01-01",
                "--end",
                "2026-01-01",
                "--format",
                "csv",
            ],
            2,
            "more than 400 days: choose a coarser grain",
        ),
        (["--format", "xml"], 2, "Invalid value for '--format'"),
        (["--send"], 1, "No recipients for daily reports"),
    ],
)
def test_bad_arguments_are_refused_with_a_clear_message(cli, shop, args, code, message) -> None:
    if "--business" not in args:
        args = ["--business", shop.slug, *args]
    done = cli("report", *args)
    assert done.exit_code == code, done.output
    assert message in done.output
    assert "Traceback" not in done.output


def test_send_mails_the_summary_to_the_periods_recipients(cli, shop, sqlite_db) -> None:
    box, port = Inbox(), _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with sqlite_db.transaction() as conn:
            preferences.save(
                conn, shop.id, preferences.Preferences(reports={"weekly": ["a@x.org"]})
            )
        smtp = {"LEALTAD_SMTP_HOST": "127.0.0.1", "LEALTAD_SMTP_PORT": str(port)}
        done = cli("report", "--business", shop.slug, "--period", "week", "--send", **smtp,
                   LEALTAD_SMTP_SECURITY="none")  # fmt: skip
    finally:
        controller.stop()
    assert done.exit_code == 0, done.output
    assert "Sent / enviado: 1 of / de 1" in done.stderr
    assert [m["To"] for m in box.mails] == ["a@x.org"]
    with sqlite_db.read() as conn:  # a manual send does not stand for the scheduled one
        assert preferences.get(conn, shop.id).reports_sent == {}


def test_rebuild_replays_every_event_and_prints_the_counts(cli, shop) -> None:
    done = cli("analytics", "rebuild", "--business", shop.slug)
    assert done.exit_code == 0, done.output
    # 3 members, 5 purchases, 6 journal entries (3 earnings, as anonymous purchases earn
    # nothing, the redemption, the adjustment and its expiry) and 1 voucher.
    assert f"{shop.slug}: 15 events replayed" in done.stdout
    assert "3 members / socios" in done.stdout
    assert cli("analytics", "rebuild", "--business", "nope").exit_code == 1


def test_refresh_scores_the_members_who_bought(cli, shop) -> None:
    done = cli("analytics", "refresh", "--business", shop.slug)
    assert done.exit_code == 0, done.output
    assert f"{shop.slug}: 2 members scored / socios puntuados, 1 without purchases" in done.stdout


def test_the_daily_jobs_send_the_due_reports_once(cli, shop, sqlite_db) -> None:
    box, port = Inbox(), _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    smtp = {
        "LEALTAD_SMTP_HOST": "127.0.0.1",
        "LEALTAD_SMTP_PORT": str(port),
        "LEALTAD_SMTP_SECURITY": "none",
    }
    try:
        with sqlite_db.transaction() as conn:
            prefs = preferences.Preferences(reports={"daily": ["a@x.org"], "weekly": ["b@x.org"]})
            preferences.save(conn, shop.id, prefs)
        first = cli("jobs", "run", **smtp)
        again = cli("jobs", "run", **smtp)
    finally:
        controller.stop()
    assert first.exit_code == 0, first.output
    assert f"business {shop.id}:" in first.stdout
    assert "reports sent 2" in first.stdout
    assert "reports sent 0" in again.stdout
    assert sorted(m["To"] for m in box.mails) == ["a@x.org", "b@x.org"]
