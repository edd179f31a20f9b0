"""The analytics page of the console: headline cards and a chart for every KPI in Spanish and
English, the filters, each table as CSV, and the enrolment goal form."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from fastapi.testclient import TestClient

from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.members import service as members
from lealtad.members.schemas import MemberIn
from lealtad.purchases import service as purchases
from lealtad.purchases.schemas import PurchaseIn
from lealtad.tenancy.model import Principal, Role
from tests.support import Shop, admin_login

PAGE = "/admin/analytics"
CHARTS = {
    "enrolment",
    "members",
    "status",
    "tickets",
    "share",
    "visits",
    "points",
    "first-reward",
    "retention",
    "staff",
    "rewards",
    "causes",
}


def sales(db: Database, clock: FixedClock, shop: Shop) -> None:
    """Today (Mar 2): "staff" enrols Nora at Store 1 and sells her 12.00 and an anonymous
    customer 30.00; "manager" sells 10.00 to Omar at Store 2."""
    s1 = Principal(shop.id, Role.staff, shop.locations[0], staff_id=shop.staff["staff"])
    s2 = Principal(shop.id, Role.staff, shop.locations[1], staff_id=shop.staff["manager"])
    with db.transaction() as conn:
        nora = members.enrol(
            conn,
            shop.id,
            MemberIn(name="Nora"),
            channel="counter",
            now=clock.now(),
            location_id=shop.locations[0],
            staff_id=s1.staff_id,
        )
        for desk, member, amount in (
            (s1, nora, 1200),
            (s1, None, 3000),
            (s2, shop.members[0], 1000),
        ):
            body = PurchaseIn(
                receipt_id=f"W{amount}", amount=amount, currency="EUR", member_id=member
            )
            purchases.record(conn, desk, body, secret_key="s", now=clock.now())


def payload(html: str) -> dict[str, Any]:
    found = re.search(
        r'<script type="application/json" id="analytics-data">(.*?)</script>', html, re.S
    )
    assert found, "the page carries its charts' data"
    return dict(json.loads(found.group(1)))


def card(html: str, key: str) -> str:
    found = re.search(rf'<li class="card" data-card="{key}">(.*?)</li>', html, re.S)
    assert found, key
    return re.sub(r"[ \t\n]+", " ", re.sub(r"<[^>]+>", " ", found.group(1)))


def test_the_page_shows_every_figure_with_a_chart_in_spanish(
    client: TestClient, db: Database, clock: FixedClock, shop: Shop
) -> None:
    sales(db, clock, shop)
    admin_login(client, shop)
    page = client.get(f"{PAGE}?lang=es")
    assert page.status_code == 200, page.text
    html = page.text
    # The console's navigation names the page, marked as the one shown.
    assert '<a href="/admin/analytics" aria-current="page">Analítica</a>' in html
    assert "<h1>Analítica</h1>" in html
    data = payload(html)
    assert (data["lang"], data["currency"]) == ("es", "EUR")
    assert {c["id"] for c in data["charts"]} == CHARTS
    for chart in CHARTS - {"rewards", "causes"}:
        canvas = rf'<canvas data-chart="{chart}" role="img" aria-label="[^"]+"'
        assert re.search(canvas, html), chart
    assert "Aún no hay premios." in html, "no reward: a sentence instead of an empty chart"
    # 3 purchases, 2 by members: 66,7 %; goal 60 %
    assert "66,7\u00a0%" in card(html, "enrolment")
    assert "Por encima del objetivo" in card(html, "enrolment")
    # Members spent 12.00 + 10.00 of 52.00
    assert "22,00\u00a0€ de 52,00\u00a0€" in card(html, "share")
    assert "11,00\u00a0€" in card(html, "tickets")  # (12.00 + 10.00) / 2
    # The liability needs a value per point, which this program has not set
    assert "valor por punto" in card(html, "liability")
    enrolment = next(c for c in data["charts"] if c["id"] == "enrolment")
    assert enrolment["datasets"][1]["data"][-1] == 60.0, "the goal line"
    assert "toda la empresa" in html, "ledger figures say they are business-wide"
    assert "/static/vendor/chart.umd.min.js" in html
    assert "/static/analytics.js" in html


def test_the_page_speaks_english_with_money_in_the_business_currency(
    client: TestClient, db: Database, clock: FixedClock, shop: Shop
) -> None:
    sales(db, clock, shop)
    admin_login(client, shop)
    html = client.get(f"{PAGE}?lang=en").text
    assert "<h1>Analytics</h1>" in html
    assert "66.7%" in card(html, "enrolment")
    assert "€22.00 of €52.00" in card(html, "share")
    assert "Staff enrolment leaderboard" in html
    assert "whole business" in html
    leader = re.search(r'<tr data-staff="(\d+)"><td>1</td><th scope="row">([^<]+)</th>', html)
    assert leader
    assert leader.group(2) == "staff", "the only one who enrolled someone"


def test_the_filters_narrow_the_figures_and_say_so(
    client: TestClient, db: Database, clock: FixedClock, shop: Shop
) -> None:
    sales(db, clock, shop)
    admin_login(client, shop)
    query = {
        "lang": "en",
        "period": "custom",
        "start": "2026-02-18",
        "end": "2026-03-02",
        "grain": "week",
        "location": str(shop.locations[0]),
        "staff": str(shop.staff["staff"]),
    }
    html = client.get(PAGE, params=query).text
    # Whole weeks: Monday Feb 16 to Sunday Mar 8
    assert "From 16 Feb 2026 to 8 Mar 2026, week by week." in html
    assert "Location: Store 1." in html
    assert "Staff member: staff." in html
    assert f'<option value="{shop.locations[0]}" selected>Store 1</option>' in html
    # At Store 1 by "staff": Nora's 12.00 and an anonymous 30.00: 1 of 2
    assert "50%" in card(html, "enrolment")
    enrolment = next(c for c in payload(html)["charts"] if c["id"] == "enrolment")
    assert enrolment["labels"] == ["16 Feb", "23 Feb", "2 Mar"]
    monthly = client.get(PAGE, params={"lang": "en", "period": "12m"}).text
    assert "From 1 Apr 2025 to 31 Mar 2026, month by month." in monthly


def test_bad_filters_are_explained_on_the_page_with_a_4xx(
    client: TestClient, shop: Shop, other_shop: Shop
) -> None:
    admin_login(client, shop)
    cases = [
        ({"period": "custom", "start": "2026-13-01"}, 422, "Escribe las fechas"),
        ({"period": "custom", "start": "2026-03-02", "end": "2026-03-01"}, 422, "termina antes"),
        ({"period": "custom", "start": "2024-01-01", "end": "2026-03-01"}, 422, "por semana"),
        ({"period": "custom", "start": "1900-01-01", "grain": "month"}, 422, "2000"),
        ({"period": "7d"}, 422, "opciones"),
        ({"period": "custom", "grain": "year"}, 422, "opciones"),
        ({"location": "abc"}, 404, "local"),
        ({"location": "99999999999999999999"}, 404, "local"),
        ({"location": str(other_shop.locations[0])}, 404, "local"),
        ({"staff": str(other_shop.staff["staff"])}, 404, "empleado"),
    ]
    for params, status, words in cases:
        page = client.get(PAGE, params=params | {"lang": "es"})
        assert page.status_code == status, (params, page.text[:300])
        error = re.search(r'<p class="error" role="alert" id="filters-error">(.*?)</p>', page.text)
        assert error, params
        assert words in error.group(1), (params, error.group(1))
        assert "últimos 30 días" in error.group(1)


def rows_of(answer: Any) -> list[list[str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert not answer.content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(answer.content.decode("utf-8"))))


def test_every_table_downloads_as_csv_headed_in_the_page_language(
    client: TestClient, db: Database, clock: FixedClock, shop: Shop
) -> None:
    sales(db, clock, shop)
    admin_login(client, shop)
    html = client.get(f"{PAGE}?lang=es").text
    links = dict.fromkeys(re.findall(r'href="(/admin/analytics/(\w+)\.csv\?[^"]+)"', html))
    tables = {name: href.replace("&amp;", "&") for href, name in links}
    assert set(tables) == {"figures", "cohorts", "staff", "rewards", "causes"}
    staff = rows_of(client.get(tables["staff"]))
    assert staff == [
        ["Puesto", "Empleado", "Altas", "Compras", "Tasa de captación (%)"],
        ["1", "staff", "1", "2", "50"],
        ["2", "manager", "0", "1", "100"],
    ]
    cohorts = rows_of(client.get(tables["cohorts"]))
    assert cohorts[0][0] == "Cohorte"
    assert cohorts[1][:2] == ["2026-03-01", "3"]
    figures = rows_of(client.get(tables["figures"]))
    assert figures[0][0] == "Día"
    assert figures[-1][0] == "2026-03-02", "dates in ISO"
    column = figures[0].index("Tasa de captación: Compras de socios")
    assert figures[-1][column] == "66.7"
    ticket = figures[0].index("Ticket medio: Socios")
    assert figures[-1][ticket] == "11", "money in euros, not cents"
    assert rows_of(client.get(tables["causes"]))[0] == [
        "Causa",
        "Puntos donados",
        "Donantes",
        "Donaciones",
    ]
    english = rows_of(client.get("/admin/analytics/rewards.csv?lang=en"))
    assert english == [["Reward", "Id", "Redemptions", "Average rating", "Ratings"]]
    assert client.get("/admin/analytics/secrets.csv").status_code == 404
    bad = client.get("/admin/analytics/staff.csv?period=custom&start=2026-99-01")
    assert bad.status_code == 422


def test_a_manager_sets_the_enrolment_goal_with_the_form(client: TestClient, shop: Shop) -> None:
    csrf = admin_login(client, shop)
    form = {"csrf": csrf, "goal": "72", "lang": "en", "period": "12w"}
    saved = client.post(f"{PAGE}/goal", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"{PAGE}?period=12w&lang=en&notice=goal#goal"
    page = client.get(saved.headers["location"])
    assert "Goal saved." in page.text
    assert 'name="goal" type="number" min="1" max="100" step="1" required value="72"' in page.text
    assert client.get("/api/v1/analytics/settings", headers=shop.auth()).json() == {
        "enrolment_goal": 72
    }
    for bad in ("0", "101", "abc", "", "12.5", "-3"):
        answer = client.post(f"{PAGE}/goal", data=form | {"goal": bad, "lang": "es"})
        assert answer.status_code == 422, bad
        assert "porcentaje entero del 1 al 100" in answer.text
        assert 'aria-invalid="true"' in answer.text
    forged = client.post(f"{PAGE}/goal", data=form | {"csrf": "forged"}, follow_redirects=False)
    assert forged.status_code == 403
    assert client.get("/api/v1/analytics/settings", headers=shop.auth()).json() == {
        "enrolment_goal": 72
    }


def test_only_managers_open_the_analytics(client: TestClient, shop: Shop) -> None:
    answer = client.get(PAGE, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/admin/login")
    admin_login(client, shop, role="staff")
    assert client.get(PAGE, follow_redirects=False).status_code == 403
    assert client.get(f"{PAGE}/staff.csv", follow_redirects=False).status_code == 403
