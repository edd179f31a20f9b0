"""The customers page: segments, the Pareto share, the R×F grid and predicted values, computed by
the refresh on a small history, in both languages, with CSV downloads."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import numpy as np

from lealtad.analytics.clv import BgNbd
from lealtad.analytics.clv_simulate import simulate_bgnbd
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.members import service as members
from lealtad.members.schemas import MemberIn
from lealtad.purchases import service as purchases
from lealtad.purchases.schemas import PurchaseIn
from tests.support import Shop, admin_login


def _history(db: Database, shop: Shop, clock: FixedClock) -> list[int]:
    """Ten members; member i buys i+1 times, 10 days apart, for 10.00 × (i+1) each time."""
    start = clock.at
    with db.transaction() as conn:
        people = [
            members.enrol(conn, shop.id, MemberIn(name=f"Cliente {i}"), channel="api", now=start)
            for i in range(10)
        ]
    for i, member in enumerate(people):
        for visit in range(i + 1):
            at = start + timedelta(days=10 * visit + 1)
            body = PurchaseIn(
                receipt_id=f"C{i}-{visit}",
                amount=1000 * (i + 1),
                currency="EUR",
                member_id=member,
                occurred_at=at,
            )
            with db.transaction() as conn:
                purchases.record(conn, shop.principal(), body, secret_key="s", now=at)
    clock.at = start + timedelta(days=120)
    return people


def test_the_customers_page_shows_segments_pareto_and_values_after_a_refresh(
    client, db: Database, shop: Shop, clock: FixedClock
) -> None:
    _history(db, shop, clock)
    csrf = admin_login(client, shop)
    before = client.get("/admin/customers?lang=en").text
    assert "Not computed yet" in before
    done = client.post("/admin/customers/refresh", data={"csrf": csrf}, follow_redirects=False)
    assert done.status_code == 303
    page = client.get("/admin/customers?lang=en&done=refreshed").text
    assert "Every customer has been scored again." in page
    # Spend is 10.00 × (i+1)² for i = 0..9: 3,850.00 in all; the top two of ten members (20%)
    # spent 100² + 81² = 16,561 → 1,000.00 + 810.00 = 1,810.00, i.e. 47% of the revenue.
    assert 'data-kpi="pareto">47%<' in page
    assert 'data-kpi="scored">10<' in page
    spanish = client.get("/admin/customers?lang=es").text
    assert "Ingresos de la quinta parte de clientes que más gasta" in spanish
    rows = list(csv.DictReader(io.StringIO(client.get("/admin/customers/segments.csv").text)))
    assert sum(int(r["members"]) for r in rows) == 10
    assert sum(int(r["revenue_minor"]) for r in rows) == 385_000
    grid = list(csv.DictReader(io.StringIO(client.get("/admin/customers/grid.csv").text)))
    assert len(grid) == 25
    assert sum(int(r["members"]) for r in grid) == 10


def test_the_refresh_needs_the_form_token_and_a_manager(client, shop: Shop) -> None:
    admin_login(client, shop)
    refused = client.post("/admin/customers/refresh", data={"csrf": "wrong"})
    assert refused.status_code == 403


def _simulated(db: Database, shop: Shop, clock: FixedClock, *, same_spend: bool) -> None:
    """Eighty members whose visits follow the BG/NBD story (a fixed seed); their orders follow
    Gamma-Gamma's story, or all cost 15.00 when `same_spend`."""
    rng = np.random.default_rng(5)
    x, t_x, _ = simulate_bgnbd(BgNbd(r=0.8, alpha=20.0, a=0.8, b=2.5), 80, 180, rng)
    start = clock.at
    with db.transaction() as conn:
        for i in range(80):
            member = members.enrol(conn, shop.id, MemberIn(), channel="api", now=start)
            repeats = int(x[i])
            spread = {int(d) for d in np.linspace(0, t_x[i], repeats + 1)[1:]}
            days = [0, *sorted(spread | {int(t_x[i])})]
            # Gamma-Gamma's story: each member's orders are Gamma(6, rate nu), nu ~ Gamma(4, 15).
            nu = rng.gamma(4.0, 1 / 15.0)
            for visit, day in enumerate(days[: repeats + 1]):
                at = start + timedelta(days=day, hours=1)
                amount = 1500 if same_spend else max(1, int(100 * rng.gamma(6.0, 1 / nu)))
                body = PurchaseIn(
                    receipt_id=f"V{i}-{visit}",
                    amount=amount,
                    currency="EUR",
                    member_id=member,
                    occurred_at=at,
                )
                purchases.record(conn, shop.principal(), body, secret_key="s", now=at)
    clock.at = start + timedelta(days=180)


def test_with_enough_history_the_page_shows_the_value_distribution_and_top_members(
    client, db: Database, shop: Shop, clock: FixedClock
) -> None:
    """The value models fit, and the page shows the total, the median, the parameters with
    their units and the members with the highest predicted value."""
    _simulated(db, shop, clock, same_spend=False)
    csrf = admin_login(client, shop)
    client.post("/admin/customers/refresh", data={"csrf": csrf})
    page = client.get("/admin/customers?lang=en").text
    assert 'data-kpi="clv-total">€' in page, re.findall(r'clv-reason">[^<]*', page)
    assert 'data-kpi="clv-median">€' in page
    # The parameters with their units (docs/models.md).
    assert 'data-param="r"' in page
    assert 'data-param="q"' in page
    assert "<td>days</td>" in page
    assert "minor units of EUR (1/100)" in page
    assert "Customers with the highest predicted value" in page
    rows = list(csv.DictReader(io.StringIO(client.get("/admin/customers/value.csv").text)))
    assert len(rows) == 80
    values = [int(r["predicted_value_12m_minor"]) for r in rows]
    assert values == sorted(values, reverse=True)
    assert all(0 <= float(r["p_alive"]) <= 1 for r in rows)


def test_when_everyone_spends_the_same_the_value_uses_the_overall_mean_spend(
    client, db: Database, shop: Shop, clock: FixedClock
) -> None:
    """Gamma-Gamma cannot be fitted when every order costs 15.00; each member's predicted value
    is then their expected visits × 15.00, and the page says why."""
    _simulated(db, shop, clock, same_spend=True)
    csrf = admin_login(client, shop)
    client.post("/admin/customers/refresh", data={"csrf": csrf})
    page = client.get("/admin/customers?lang=en").text
    assert 'data-kpi="clv-note">' in page
    assert "q=" not in page
    rows = list(csv.DictReader(io.StringIO(client.get("/admin/customers/value.csv").text)))
    assert len(rows) == 80
    for row in rows:
        expected = round(float(row["expected_visits_12m"]) * 1500)
        assert abs(int(row["predicted_value_12m_minor"]) - expected) <= 1, row
