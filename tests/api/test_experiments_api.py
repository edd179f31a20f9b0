"""Experiments over HTTP: create, list, read, change, start, stop and the report in JSON and CSV,
for managers and owners only, with a 4xx and a code for every bad request."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lealtad.analytics import uplift
from tests.api.test_bad_input import assert_error
from tests.support import Shop, purchase_body

URL = "/api/v1/experiments"


def body(**fields: Any) -> dict[str, Any]:
    return {
        "slug": "free-cake",
        "name": "A free cake brings members back",
        "hypothesis": "members offered a cake visit more",
        "arms": [{"name": "control", "weight": 1}, {"name": "cake", "weight": 1}],
    } | fields


def create(client: TestClient, shop: Shop, **fields: Any) -> dict[str, Any]:
    answer = client.post(URL, json=body(**fields), headers=shop.auth())
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_a_manager_creates_lists_reads_starts_and_stops_an_experiment(client, shop, clock) -> None:
    made = create(client, shop)
    assert made["status"] == "draft"
    assert not made["in_effect"]
    assert [(a["name"], a["weight"], a["control"]) for a in made["arms"]] == [
        ("control", 1, True),
        ("cake", 1, False),
    ]
    assert made["arms"][1]["segment"] == "exp:free-cake:cake"
    assert made["ends_at"] is None
    assert [e["slug"] for e in client.get(URL, headers=shop.auth("owner")).json()] == ["free-cake"]
    assert client.get(f"{URL}/{made['id']}", headers=shop.auth()).json() == made

    changed = client.patch(
        f"{URL}/{made['id']}",
        json={"arms": [{"name": "control", "weight": 3}, {"name": "cake", "weight": 1}]},
        headers=shop.auth(),
    )
    assert changed.status_code == 200, changed.text
    assert [a["weight"] for a in changed.json()["arms"]] == [3, 1]

    started = client.post(f"{URL}/{made['id']}/start", headers=shop.auth())
    assert started.status_code == 200, started.text
    assert (started.json()["status"], started.json()["in_effect"]) == ("running", True)
    frozen = client.patch(f"{URL}/{made['id']}", json={"arms": body()["arms"]}, headers=shop.auth())
    assert_error(frozen, 409, "arms_frozen")
    renamed = client.patch(f"{URL}/{made['id']}", json={"name": "Cake"}, headers=shop.auth())
    assert renamed.json()["name"] == "Cake"
    assert_error(client.post(f"{URL}/{made['id']}/start", headers=shop.auth()), 409)

    clock.at = clock.at + timedelta(days=7)
    stopped = client.post(f"{URL}/{made['id']}/stop", headers=shop.auth())
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["status"] == "stopped"
    assert stopped.json()["ends_at"].startswith(clock.now().strftime("%Y-%m-%dT%H:%M"))
    assert_error(client.post(f"{URL}/{made['id']}/stop", headers=shop.auth()), 409, "not_running")


def test_the_report_gives_each_arms_figures_and_uplift_in_json_and_csv(client, shop, clock) -> None:
    made = create(client, shop)
    assert_error(
        client.get(f"{URL}/{made['id']}/report", headers=shop.auth()),
        409,
        "experiment_not_started",
    )
    client.post(f"{URL}/{made['id']}/start", headers=shop.auth())
    # Twenty members; every one buys once for 10.00 EUR, and those of the "cake" arm once more.
    people = [
        client.post("/api/v1/members", json={}, headers=shop.auth("staff")).json()["id"]
        for _ in range(20)
    ]
    arms = dict(
        zip(
            people,
            uplift.assign_many("free-cake", people, [("control", 1), ("cake", 1)]),
            strict=True,
        )
    )
    clock.at = clock.at + timedelta(hours=1)
    for member_id in people:
        client.post(
            "/api/v1/purchases", json=purchase_body(member_id=member_id), headers=shop.auth("staff")
        )
    clock.at = clock.at + timedelta(days=1)
    # One control member comes back too, so control's visits vary (ids, hence arms, differ from
    # run to run on the shared PostgreSQL database).
    regular = next(m for m, a in arms.items() if a == "control")
    for member_id, arm in arms.items():
        if arm == "cake" or member_id == regular:
            client.post(
                "/api/v1/purchases",
                json=purchase_body(member_id=member_id, amount=500),
                headers=shop.auth("staff"),
            )
    clock.at = clock.at + timedelta(days=1)
    answer = client.get(f"{URL}/{made['id']}/report", headers=shop.auth())
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["currency"] == "EUR"
    assert report["confidence"] == 0.95
    counted = {a["arm"]: a for a in report["arms"]}
    # The shop's two members from make_shop count too, with nothing bought.
    extra = uplift.assign_many("free-cake", shop.members, [("control", 1), ("cake", 1)])
    n_cake = sum(1 for a in arms.values() if a == "cake") + extra.count("cake")
    n_control = len(people) + len(shop.members) - n_cake
    assert (counted["control"]["members"], counted["cake"]["members"]) == (n_control, n_cake)
    visits, spend = report["comparisons"]
    assert (visits["metric"], spend["metric"]) == ("visits", "spend")
    bought_control = sum(1 for a in arms.values() if a == "control")
    bought_cake = n_cake - extra.count("cake")
    assert visits["mean_control"] == pytest.approx((bought_control + 1) / n_control)
    assert visits["mean_variant"] == pytest.approx(2 * bought_cake / n_cake)
    assert spend["mean_variant"] == pytest.approx(1500 * bought_cake / n_cake)
    assert visits["uplift"]["difference"] == pytest.approx(
        visits["mean_variant"] - visits["mean_control"]
    )
    assert visits["uplift"]["difference_low"] < visits["uplift"]["difference_high"]
    assert visits["minimum_detectable_effect"] > 0

    wider = client.get(f"{URL}/{made['id']}/report?confidence=0.99", headers=shop.auth()).json()
    assert wider["comparisons"][0]["uplift"]["difference_low"] < visits["uplift"]["difference_low"]

    sheet = client.get(f"{URL}/{made['id']}/report.csv", headers=shop.auth())
    assert sheet.status_code == 200
    assert sheet.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(sheet.text)))
    assert [(r["arm"], r["metric"], r["unit"]) for r in rows] == [
        ("cake", "visits", "visits"),
        ("cake", "spend", "EUR"),
    ]
    assert float(rows[1]["mean_variant"]) == pytest.approx(15 * bought_cake / n_cake, abs=1e-4)


def test_only_managers_and_owners_reach_experiments(client, shop, other_shop) -> None:
    made = create(client, shop)
    for method, path in (
        ("post", URL),
        ("get", URL),
        ("get", f"{URL}/{made['id']}"),
        ("post", f"{URL}/{made['id']}/start"),
        ("get", f"{URL}/{made['id']}/report"),
        ("get", f"{URL}/{made['id']}/report.csv"),
    ):
        kwargs: dict[str, Any] = {"json": body(slug="x")} if method == "post" else {}
        assert_error(getattr(client, method)(path, headers=shop.auth("staff"), **kwargs), 403)
        assert_error(getattr(client, method)(path, **kwargs), 401)
    # Another business sees none of it.
    assert client.get(URL, headers=other_shop.auth()).json() == []
    assert_error(
        client.get(f"{URL}/{made['id']}", headers=other_shop.auth()), 404, "experiment_not_found"
    )
    assert_error(client.post(f"{URL}/{made['id']}/start", headers=other_shop.auth()), 404)


@pytest.mark.parametrize(
    "bad",
    [
        {"slug": "Bad Slug"},
        {"slug": ""},
        {"name": ""},
        {"arms": [{"name": "control"}]},
        {"arms": [{"name": f"a{i}"} for i in range(6)]},
        {"arms": [{"name": "control", "weight": 0}, {"name": "b"}]},
        {"arms": [{"name": "control", "weight": -1}, {"name": "b"}]},
        {"arms": [{"name": "control", "weight": "x"}, {"name": "b"}]},
        {"arms": [{"name": "control"}, {"name": "control"}]},
        {"arms": "control,b"},
        {"starts_at": "2026-05-01T00:00:00Z", "ends_at": "2026-04-01T00:00:00Z"},
        {"starts_at": "yesterday"},
        {"unknown": 1},
    ],
)
def test_bad_experiments_are_refused_with_422(client, shop, bad: dict[str, Any]) -> None:
    assert_error(client.post(URL, json=body(**bad), headers=shop.auth()), 422, "invalid_request")


def test_conflicts_and_odd_requests_are_4xx_with_a_code(client, shop, clock) -> None:
    create(client, shop)
    assert_error(client.post(URL, json=body(), headers=shop.auth()), 409, "duplicate_experiment")
    past = (clock.now() - timedelta(days=1)).isoformat()
    assert_error(
        client.post(URL, json=body(slug="late", ends_at=past), headers=shop.auth()),
        422,
        "ends_in_past",
    )
    assert_error(
        client.post(
            URL, content=b"{not json", headers=shop.auth() | {"content-type": "application/json"}
        ),
        400,
        "malformed_json",
    )
    assert_error(client.get(f"{URL}/0", headers=shop.auth()), 422)
    assert_error(client.get(f"{URL}/{2**63}", headers=shop.auth()), 422)
    assert_error(client.get(f"{URL}/99999999/report", headers=shop.auth()), 404)
    made = client.get(URL, headers=shop.auth()).json()[0]
    for confidence in ("0", "1", "abc", "0.3"):
        assert_error(
            client.get(f"{URL}/{made['id']}/report?confidence={confidence}", headers=shop.auth()),
            422,
        )
    assert_error(
        client.patch(f"{URL}/{made['id']}", json={"slug": "renamed"}, headers=shop.auth()), 422
    )
