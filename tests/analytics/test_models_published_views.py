"""The value models fitted as published, seen from outside: the refresh leaves the first visit
day's spend (several purchases, a refund) out of the spend model; the parameters with their
units, log-likelihoods and customer counts in the API, the CLI and the customers page; a member's
value taken apart; the back-test run from the page, with its chart data and CSV, and bad dates
answered with a page, never an error."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from lealtad.analytics import clv, clv_spend, refresh
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from tests.analytics.test_models_published import cli  # noqa: F401 (a fixture)
from tests.analytics.test_refresh import Story, _value_plan
from tests.support import admin_login, make_shop


def value_story(db: Database, clock: FixedClock) -> tuple[Story, list[list[tuple[int, int]]]]:
    """The thirty members of the refresh's value test; member 0 also buys 7.00 on their first
    day, of which 2.00 is refunded the same day: their first day is then 3 purchases, one
    refund, and none of it repeat spend."""
    shop = make_shop(db, clock.now(), members_count=30)
    story = Story(db, clock, shop)
    plan = _value_plan()
    for n in range(100):
        buying = [
            (m, amount) for m, visits in enumerate(plan) for day, amount in visits if day == n
        ]
        if buying:
            story.day(n)
            for m, amount in buying:
                story.buy(shop.members[m], amount)
            if n == plan[0][0][0]:
                extra = story.buy(shop.members[0], 700)
                story.refund(extra["receipt_id"], 200)
    story.day(100)
    return story, plan


def by_hand(plan: list[list[tuple[int, int]]]) -> tuple[Any, ...]:
    x = np.array([len(v) - 1 for v in plan], dtype=float)
    t_x = np.array([v[-1][0] - v[0][0] for v in plan], dtype=float)
    T = np.array([100 - v[0][0] for v in plan], dtype=float)
    # The first day's purchases (and member 0's extra 5.00 net) are not repeat spend.
    m = np.array([sum(a for _, a in v[1:]) / max(len(v) - 1, 1) for v in plan])
    bg = clv.fit_bgnbd(x, t_x, T)
    gg = clv_spend.fit_gamma_gamma(x[x > 0], m[x > 0])
    return x, t_x, T, m, bg, gg


def test_the_first_days_purchases_and_refunds_stay_out_of_the_spend_model(
    db: Database, clock: FixedClock
) -> None:
    story, plan = value_story(db, clock)
    story.refresh()
    x, t_x, T, m, bg, gg = by_hand(plan)
    expected = clv.expected_purchases(bg, 365, x, t_x, T) * clv_spend.expected_spend(gg, x, m)
    with db.read() as conn:
        _, payload = refresh.snapshot(conn, story.shop.id, "clv") or (None, {})
        first = refresh.member_scores(conn, story.shop.id, story.shop.members[0])
    assert payload["gamma_gamma"] == pytest.approx(vars(gg), rel=1e-6)
    assert payload["fit"]["gamma_gamma"]["customers"] == 22
    assert first.predicted_value == round(float(expected[0]))


def test_the_api_gives_the_parameters_with_units_and_a_members_value_taken_apart(
    client: TestClient, db: Database, clock: FixedClock
) -> None:
    story, plan = value_story(db, clock)
    shop = story.shop
    before = client.get("/api/v1/analytics/model", headers=shop.auth("manager"))
    assert before.status_code == 200, before.text
    assert before.json()["fitted"] is False
    assert before.json()["bgnbd"] is None
    story.refresh()
    x, t_x, T, m, bg, gg = by_hand(plan)
    found = client.get("/api/v1/analytics/model", headers=shop.auth("manager")).json()
    assert found["fitted"] is True
    assert found["currency"] == "EUR"
    assert found["bgnbd"]["alpha"] == pytest.approx(bg.alpha, rel=1e-6)
    assert found["bgnbd"]["customers"] == 30
    assert found["bgnbd"]["log_likelihood"] == pytest.approx(
        float(clv.bgnbd_log_likelihood(bg, x, t_x, T).sum()), rel=1e-9
    )
    assert found["gamma_gamma"]["gamma"] == pytest.approx(gg.v, rel=1e-6)
    assert found["gamma_gamma"]["customers"] == 22
    assert found["units"]["bgnbd"]["alpha"] == "days"
    assert found["units"]["gamma_gamma"]["gamma"] == "EUR minor units (1/100 EUR)"
    member = shop.members[3]
    value = client.get(
        f"/api/v1/analytics/members/{member}/value", headers=shop.auth("manager")
    ).json()
    alive = clv.p_alive(bg, x, t_x, T)[3]
    visits = clv.expected_purchases(bg, 365, x, t_x, T)[3]
    per_visit = clv_spend.expected_spend(gg, x, m)[3]
    assert value["p_alive"] == pytest.approx(alive, rel=1e-6)
    assert value["expected_purchases"] == pytest.approx(visits, rel=1e-6)
    # The spend per purchase is the stored value over the stored visits: within rounding.
    assert value["expected_spend_per_purchase"] == pytest.approx(per_visit, abs=0.5 / visits)
    assert value["predicted_value"] == round(float(visits * per_visit))
    assert value["horizon_days"] == 365
    # Another business's member is not found; staff keys cannot read the models.
    other = make_shop(db, clock.now(), members_count=1)
    missing = client.get(
        f"/api/v1/analytics/members/{other.members[0]}/value", headers=shop.auth("manager")
    )
    assert missing.status_code == 404
    assert client.get("/api/v1/analytics/model", headers=shop.auth("staff")).status_code == 403


def test_the_model_command_prints_the_parameters_with_units(
    cli: Any,  # noqa: F811
    sqlite_db: Database,
    clock: FixedClock,
) -> None:
    story, _ = value_story(sqlite_db, clock)
    story.refresh()
    done = cli("analytics", "model", "--business", story.shop.slug, "--format", "json")
    assert done.exit_code == 0, done.output
    found = json.loads(done.stdout)
    assert set(found["bgnbd"]) == {"r", "alpha", "a", "b", "log_likelihood", "customers"}
    assert set(found["gamma_gamma"]) == {"p", "q", "gamma", "log_likelihood", "customers"}
    assert found["units"]["bgnbd"] == {"r": "none", "alpha": "days", "a": "none", "b": "none"}
    text = cli("analytics", "model", "--business", story.shop.slug)
    assert text.exit_code == 0, text.output
    assert "days" in text.stdout
    assert "EUR minor units (1/100 EUR)" in text.stdout
    assert "customers / clientes 22" in text.stdout
    unknown = cli("analytics", "model", "--business", "no-such-shop")
    assert unknown.exit_code == 1


def test_the_customers_page_shows_the_models_and_runs_a_backtest(
    client: TestClient, db: Database, clock: FixedClock
) -> None:
    story, _ = value_story(db, clock)
    story.refresh()
    csrf = admin_login(client, story.shop)
    page = client.get("/admin/customers?lang=en")
    assert page.status_code == 200
    assert "data-models" in page.text
    assert "days" in page.text
    assert "minor units of EUR (1/100)" in page.text
    assert "No back-test yet." in page.text
    # The member's page takes the value apart: visits times spend per visit.
    member = client.get(f"/admin/members/{story.shop.members[3]}?lang=en").text
    assert 'data-value="per-visit"' in member
    assert "Expected spend per visit" in member
    # Bad dates and too little history answer the page with a message, never an error.
    for form, said in (
        ({"calibration_end": "not a day"}, "failed=dates"),
        ({"calibration_end": "2026-03-01", "holdout_end": "2026-01-01"}, "failed=dates"),
        ({"calibration_end": "9999-12-30", "holdout_end": "9999-12-31"}, "failed=dates"),
        ({"calibration_end": "2020-01-01", "holdout_end": "2020-06-01"}, "failed=history"),
    ):
        answer = client.post(
            "/admin/customers/backtest", data=form | {"csrf": csrf}, follow_redirects=False
        )
        assert answer.status_code == 303, answer.text
        assert said in answer.headers["location"]
    shown = client.get("/admin/customers?lang=en&failed=history")
    assert "not enough purchase history up to that date" in shown.text
    # Calibration on the first 60 days of the story, holdout to day 99.
    start = story.start.date()
    form = {
        "csrf": csrf,
        "calibration_end": _day(start, 59),
        "holdout_end": _day(start, 99),
    }
    answer = client.post("/admin/customers/backtest", data=form, follow_redirects=False)
    assert answer.status_code == 303
    assert "done=backtest" in answer.headers["location"]
    page = client.get("/admin/customers?lang=en&done=backtest")
    assert "The back-test has been run." in page.text
    assert 'id="chart-tracking"' in page.text
    data = json.loads(
        page.text.split('id="customers-data" type="application/json">')[1].split("</script>")[0]
    )
    tracking = data["tracking"]
    assert tracking["calibration_end"] == _day(start, 59)
    assert tracking["labels"][-1] == _day(start, 99)
    assert len(tracking["actual"]) == len(tracking["predicted"]) == len(tracking["forecast"])
    download = client.get("/admin/customers/backtest.csv")
    assert download.status_code == 200
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert rows[-1]["end"] == _day(start, 99)
    assert rows[-1]["phase"] == "holdout"
    assert int(rows[-1]["cumulative_actual"]) == tracking["actual"][-1]


def _day(start: date, days: int) -> str:
    return (start + timedelta(days=days)).isoformat()
