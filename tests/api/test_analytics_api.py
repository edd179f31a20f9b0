"""The analytics API: every KPI as JSON for a period, store and staff member, the tables as JSON
and CSV, and the enrolment goal; for managers and owners only, with clear 4xx answers."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.kit.ids import MAX_ID
from lealtad.members import service as members
from lealtad.members.schemas import MemberIn
from lealtad.purchases import service as purchases
from lealtad.purchases.schemas import PurchaseIn
from lealtad.tenancy.model import Principal, Role
from tests.support import Shop, admin_login, purchase_body

API = "/api/v1/analytics"
DAY = {"start": "2026-03-02", "end": "2026-03-02"}


def assert_error(resp: Any, status: int, code: str | None = None) -> None:
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    assert error["message"]
    if code is not None:
        assert error["code"] == code, error


def some_sales(client: TestClient, db: Database, clock: FixedClock, shop: Shop) -> None:
    """On Mar 2 at Store 1: "staff" enrols Nora and sells her 12.00; an anonymous 30.00; a
    key (no staff member) sells 10.00 to the shop's first member."""
    desk = Principal(shop.id, Role.staff, shop.locations[0], staff_id=shop.staff["staff"])
    with db.transaction() as conn:
        nora = members.enrol(
            conn,
            shop.id,
            MemberIn(name="Nora"),
            channel="counter",
            now=clock.now(),
            location_id=shop.locations[0],
            staff_id=desk.staff_id,
        )
        for member, amount in ((nora, 1200), (None, 3000)):
            body = PurchaseIn(
                receipt_id=f"A{amount}", amount=amount, currency="EUR", member_id=member
            )
            purchases.record(conn, desk, body, secret_key="s", now=clock.now())
    answer = client.post(
        "/api/v1/purchases",
        json=purchase_body(member_id=shop.members[0], amount=1000),
        headers=shop.auth("staff"),
    )
    assert answer.status_code == 201, answer.text


def test_a_manager_key_reads_every_kpi_of_the_day(
    client: TestClient, db: Database, clock: FixedClock, shop: Shop
) -> None:
    some_sales(client, db, clock, shop)
    answer = client.get(f"{API}/dashboard", params=DAY, headers=shop.auth("manager"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["currency"] == "EUR"
    assert body["scope"] == {
        "start": "2026-03-02",
        "end": "2026-03-02",
        "grain": "day",
        "location_id": None,
        "staff_id": None,
        "today": "2026-03-02",
    }
    assert set(body["kpis"]) == {
        "enrolment_rate",
        "members",
        "members_vs_others",
        "points",
        "cashback",
        "first_reward",
        "retention",
    }
    rate = body["kpis"]["enrolment_rate"]
    # 3 purchases, 2 by members (Nora's and the first member's)
    assert (rate["value"], rate["goal"], rate["unit"]) == (66.7, 60.0, "percent")
    assert rate["labels"] == ["2026-03-02"]
    assert rate["series"] == {"rate": [66.7]}
    # 22.00 by members of 52.00
    assert body["kpis"]["members_vs_others"]["extra"]["member_revenue"] == 2200
    assert body["kpis"]["members_vs_others"]["value"] == 42.3
    # The shop's two members and Nora joined today
    assert body["kpis"]["members"]["value"] == 3.0
    # 12 + 10 points
    assert body["kpis"]["points"]["extra"]["issued"] == 22


def test_the_store_and_staff_filters_narrow_the_figures(
    client: TestClient, db: Database, clock: FixedClock, shop: Shop
) -> None:
    some_sales(client, db, clock, shop)
    by_staff = DAY | {"staff_id": shop.staff["staff"]}
    rate = client.get(f"{API}/dashboard", params=by_staff, headers=shop.auth()).json()
    # "staff" sold to Nora and to an anonymous customer: 1 of 2
    assert rate["kpis"]["enrolment_rate"]["value"] == 50.0
    assert rate["scope"]["staff_id"] == shop.staff["staff"]
    at_2 = DAY | {"location_id": shop.locations[1]}
    empty = client.get(f"{API}/dashboard", params=at_2, headers=shop.auth()).json()
    assert empty["kpis"]["enrolment_rate"]["value"] is None, "nothing sold at Store 2"


def test_weeks_and_months_are_whole_and_presets_need_no_dates(
    client: TestClient, shop: Shop
) -> None:
    weekly = {"start": "2026-02-04", "end": "2026-03-04", "grain": "week"}
    scope = client.get(f"{API}/dashboard", params=weekly, headers=shop.auth()).json()["scope"]
    # Wednesday Feb 4 is in the week of Monday Feb 2; Wednesday Mar 4 in the one ending Mar 8
    assert (scope["start"], scope["end"]) == ("2026-02-02", "2026-03-08")
    months = client.get(f"{API}/dashboard", params={"period": "12m"}, headers=shop.auth()).json()
    assert (months["scope"]["start"], months["scope"]["end"]) == ("2025-04-01", "2026-03-31")
    assert len(months["kpis"]["enrolment_rate"]["labels"]) == 12
    days = client.get(f"{API}/dashboard", headers=shop.auth()).json()["scope"]
    assert (days["start"], days["end"], days["grain"]) == ("2026-02-01", "2026-03-02", "day")


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        pytest.param({"start": "2026-13-01"}, 422, None, id="not-a-date"),
        pytest.param({"start": "yesterday"}, 422, None, id="a-word"),
        pytest.param(
            {"start": "2026-03-02", "end": "2026-03-01"}, 422, "invalid_period", id="end-first"
        ),
        pytest.param(
            {"start": "2024-01-01", "end": "2026-03-01"}, 422, "period_too_long", id="too-many-days"
        ),
        pytest.param(
            {"start": "1900-01-01", "grain": "month"}, 422, "period_out_of_range", id="1900"
        ),
        # Past the dates the whole API takes (kit/dates.py), refused before the period is read.
        pytest.param(
            {"end": "9999-12-31", "grain": "month"}, 422, "date_out_of_range", id="year-9999"
        ),
        pytest.param({"start": "0.5"}, 422, "date_not_iso", id="a-number"),
        pytest.param({"grain": "year"}, 422, None, id="unknown-grain"),
        pytest.param({"period": "7d"}, 422, None, id="unknown-period"),
        pytest.param({"location_id": 0}, 422, None, id="location-zero"),
        pytest.param({"location_id": 2**70}, 422, None, id="location-beyond-64-bits"),
        pytest.param({"location_id": MAX_ID}, 404, "location_not_found", id="location-unknown"),
        pytest.param({"staff_id": "x"}, 422, None, id="staff-text"),
        pytest.param({"staff_id": MAX_ID}, 404, "staff_not_found", id="staff-unknown"),
    ],
)
def test_a_bad_scope_is_a_4xx_with_a_code(
    client: TestClient, shop: Shop, params: dict[str, Any], status: int, code: str
) -> None:
    for route in ("dashboard", "cohorts.csv", "staff", "rewards"):
        answer = client.get(f"{API}/{route}", params=params, headers=shop.auth())
        assert_error(answer, status, code)


def test_a_store_or_staff_member_of_another_business_is_a_404(
    client: TestClient, shop: Shop, other_shop: Shop
) -> None:
    theirs = {"location_id": other_shop.locations[0]}
    assert_error(
        client.get(f"{API}/dashboard", params=theirs, headers=shop.auth()),
        404,
        "location_not_found",
    )
    theirs = {"staff_id": other_shop.staff["staff"]}
    assert_error(
        client.get(f"{API}/staff", params=theirs, headers=shop.auth()), 404, "staff_not_found"
    )


def test_only_managers_and_owners_read_analytics(
    client: TestClient, db: Database, clock: FixedClock, shop: Shop, other_shop: Shop
) -> None:
    assert_error(client.get(f"{API}/dashboard"), 401, "missing_credentials")
    assert_error(client.get(f"{API}/dashboard", headers=shop.auth("staff")), 403, "role_required")
    assert_error(client.get(f"{API}/rewards.csv", headers=shop.auth("staff")), 403)
    assert client.get(f"{API}/dashboard", headers=shop.auth("owner")).status_code == 200
    some_sales(client, db, clock, shop)
    # Another business's key reads its own figures: none of ours
    theirs = client.get(f"{API}/dashboard", params=DAY, headers=other_shop.auth()).json()
    assert theirs["kpis"]["enrolment_rate"]["extra"] == {"purchases": 0, "member_purchases": 0}
    assert client.get(f"{API}/staff", headers=other_shop.auth()).json()["rows"] == []


def test_the_console_session_of_a_manager_reads_it_but_not_a_staff_members(
    client: TestClient, shop: Shop
) -> None:
    admin_login(client, shop, role="manager")
    assert client.get(f"{API}/dashboard").status_code == 200
    client.cookies.clear()
    admin_login(client, shop, role="staff")
    assert_error(client.get(f"{API}/dashboard"), 403, "role_required")


def rows_of(answer: Any) -> list[list[str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"].startswith("attachment; filename=")
    assert not answer.content.startswith(b"\xef\xbb\xbf"), "no byte-order mark"
    return list(csv.reader(io.StringIO(answer.content.decode("utf-8"))))


def test_every_table_downloads_as_csv(
    client: TestClient, db: Database, clock: FixedClock, shop: Shop
) -> None:
    some_sales(client, db, clock, shop)
    march = {"start": "2026-03-01", "end": "2026-03-31", "grain": "month"}
    cohorts = rows_of(client.get(f"{API}/cohorts.csv", params=march, headers=shop.auth()))
    assert cohorts == [
        [
            "cohort",
            "members",
            "retained_30",
            "retained_60",
            "retained_90",
            "first_reward_90",
            "median_days_to_first_reward",
        ],
        ["2026-03-01", "3", "0", "0", "0", "0", ""],
    ]
    staff = rows_of(client.get(f"{API}/staff.csv", params=march, headers=shop.auth()))
    assert staff == [
        ["staff_id", "name", "enrolments", "purchases", "enrolment_rate"],
        [str(shop.staff["staff"]), "staff", "1", "2", "50"],
    ]
    reward = {"slug": "tote", "kind": "physical_gift", "title": {"es": "=Bolsa", "en": "Tote bag"}}
    made = client.post("/api/v1/rewards", json=reward | {"cost": 50}, headers=shop.auth())
    assert made.status_code == 201, made.text
    rewards = rows_of(client.get(f"{API}/rewards.csv", params=march, headers=shop.auth()))
    assert rewards[0] == [
        "reward_id",
        "slug",
        "title_es",
        "title_en",
        "redemptions",
        "rating",
        "ratings",
    ]
    # A title that a spreadsheet would run as a formula is written as text
    assert rewards[1][1:] == ["tote", "'=Bolsa", "Tote bag", "0", "", "0"]
    causes = rows_of(client.get(f"{API}/causes.csv", headers=shop.auth()))
    assert causes == [["cause_id", "name_es", "name_en", "points", "donors", "donations"]]
    figures = rows_of(client.get(f"{API}/dashboard.csv", params=march, headers=shop.auth()))
    header, only = figures
    assert header[0] == "bucket"
    assert "enrolment_rate.rate" in header
    assert "points.outstanding" in header
    assert only[0] == "2026-03-01"
    assert only[header.index("enrolment_rate.rate")] == "66.7"
    assert only[header.index("members.new")] == "3"
    assert only[header.index("members_vs_others.member_ticket")] == "1100"  # (1200 + 1000) / 2


def test_the_json_tables_carry_their_scope(
    client: TestClient, db: Database, clock: FixedClock, shop: Shop
) -> None:
    some_sales(client, db, clock, shop)
    body = client.get(f"{API}/staff", params=DAY, headers=shop.auth()).json()
    assert body["scope"]["start"] == "2026-03-02"
    assert body["rows"] == [
        {
            "staff_id": shop.staff["staff"],
            "name": "staff",
            "enrolments": 1,
            "purchases": 2,
            "enrolment_rate": 50.0,
        }
    ]
    cohorts = client.get(f"{API}/cohorts", params=DAY, headers=shop.auth()).json()["rows"]
    assert [(r["cohort"], r["members"]) for r in cohorts] == [("2026-03-01", 3)]
    assert client.get(f"{API}/rewards", headers=shop.auth()).json()["rows"] == []
    assert client.get(f"{API}/causes", headers=shop.auth()).json()["rows"] == []


def test_the_enrolment_goal_is_read_and_set_from_1_to_100(client: TestClient, shop: Shop) -> None:
    assert client.get(f"{API}/settings", headers=shop.auth()).json() == {"enrolment_goal": 60}
    saved = client.put(f"{API}/settings", json={"enrolment_goal": 75}, headers=shop.auth())
    assert saved.json() == {"enrolment_goal": 75}
    assert client.get(f"{API}/settings", headers=shop.auth()).json() == {"enrolment_goal": 75}
    board = client.get(f"{API}/dashboard", headers=shop.auth()).json()
    assert board["kpis"]["enrolment_rate"]["goal"] == 75.0
    for bad in (0, 101, -5, "lots", None, 12.5):
        answer = client.put(f"{API}/settings", json={"enrolment_goal": bad}, headers=shop.auth())
        assert_error(answer, 422)
    extra = {"enrolment_goal": 50, "reports": {}}
    assert_error(client.put(f"{API}/settings", json=extra, headers=shop.auth()), 422)
    staff = client.put(f"{API}/settings", json={"enrolment_goal": 10}, headers=shop.auth("staff"))
    assert_error(staff, 403, "role_required")
    assert client.get(f"{API}/settings", headers=shop.auth()).json() == {"enrolment_goal": 75}
    log = client.get("/api/v1/audit-log", headers=shop.auth()).json()
    goal = [e for e in log if e["action"] == "analytics.goal"]
    assert [e["details"] for e in goal] == [{"before": 60, "after": 75}]


def test_the_console_sets_the_goal_with_its_form_token(client: TestClient, shop: Shop) -> None:
    csrf = admin_login(client, shop)
    refused = client.put(f"{API}/settings", json={"enrolment_goal": 70})
    assert_error(refused, 403, "csrf_token_invalid")
    saved = client.put(
        f"{API}/settings", json={"enrolment_goal": 70}, headers={"X-CSRF-Token": csrf}
    )
    assert saved.status_code == 200, saved.text
    assert client.get(f"{API}/settings").json() == {"enrolment_goal": 70}
