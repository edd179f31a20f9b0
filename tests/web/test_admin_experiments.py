"""Experiments in the admin console: the list and the form with its errors on the page, start
and stop behind the form token, and the report as a table, a chart and a CSV, in both
languages."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from lealtad.analytics import uplift
from tests.support import admin_login, purchase_body

PAGE = "/admin/experiments"


def _form(csrf: str, **overrides: Any) -> dict[str, Any]:
    form = {
        "csrf": csrf,
        "lang": "en",
        "slug": "free-cake",
        "name": "A free cake",
        "hypothesis": "Members offered a cake come back more",
        "arm_1": "control",
        "weight_1": "1",
        "arm_2": "cake",
        "weight_2": "1",
        "arm_3": "",
        "weight_3": "",
        "starts_at": "",
        "ends_at": "2026-04-30T20:00",
    }
    return form | overrides


def _create(client: Any, csrf: str, **overrides: Any) -> str:
    answer = client.post(PAGE, data=_form(csrf, **overrides), follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"]).split("?")[0]


def test_a_manager_creates_starts_and_stops_an_experiment_from_the_console(client, shop) -> None:
    csrf = admin_login(client, shop)
    empty = client.get(f"{PAGE}?lang=es")
    assert empty.status_code == 200
    assert "Aún no hay experimentos." in empty.text
    assert 'href="/admin/experiments"' in empty.text, "the console's navigation links here"
    where = _create(client, csrf)
    page = client.get(f"{where}?lang=en")
    assert page.status_code == 200
    assert "A free cake" in page.text
    assert "exp:free-cake:cake" in page.text
    assert 'data-status="draft"' in page.text
    assert "The report appears once the experiment has started." in page.text
    assert "30 Apr 2026, 20:00" in page.text  # the end as typed, in the business's zone

    experiment = client.get("/api/v1/experiments", headers=shop.auth()).json()[0]
    assert experiment["ends_at"].startswith("2026-04-30T18:00")  # Madrid is UTC+2 then
    listed = client.get(f"{PAGE}?lang=en")
    assert 'data-experiment="free-cake"' in listed.text

    forged = client.post(f"{where}/start", data={"csrf": "nope"}, follow_redirects=False)
    assert forged.status_code == 403
    started = client.post(
        f"{where}/start", data={"csrf": csrf, "lang": "es"}, follow_redirects=False
    )
    assert started.status_code == 303
    running = client.get(started.headers["location"])
    assert 'data-status="running"' in running.text
    assert "En curso" in running.text
    again = client.post(f"{where}/start", data={"csrf": csrf, "lang": "en"})
    assert again.status_code == 409
    assert "This experiment is already running." in again.text
    stopped = client.post(f"{where}/stop", data={"csrf": csrf, "lang": "en"})
    assert stopped.status_code == 200  # followed the redirect
    assert 'data-status="stopped"' in stopped.text


def test_mistakes_in_the_form_are_shown_next_to_their_fields_in_the_pages_language(
    client, shop
) -> None:
    csrf = admin_login(client, shop)
    for overrides, expected, lang in (
        ({"slug": "Free Cake"}, "has characters that are not allowed here", "en"),
        ({"arm_2": ""}, "needs at least 2 entries", "en"),
        ({"arm_2": "control"}, "arm names must be unique", "en"),
        ({"arm_2": "control"}, "los nombres de los grupos deben ser únicos", "es"),
        ({"weight_2": "x"}, "must be a number", "en"),
        ({"weight_2": "0"}, "must be at least 1", "en"),
        ({"starts_at": "2026-05-10T10:00"}, "the experiment must end after it starts", "en"),
        ({"ends_at": "2026-02-01T10:00"}, "the end is already past", "en"),
        ({"ends_at": "not a date"}, "is not a valid date or time", "en"),
    ):
        answer = client.post(PAGE, data=_form(csrf, lang=lang, **overrides))
        assert 400 <= answer.status_code < 500, (overrides, answer.status_code)
        assert expected in answer.text, (overrides, expected)
        assert 'role="alert"' in answer.text
    # What was typed stays in the form.
    kept = client.post(PAGE, data=_form(csrf, slug="Free Cake", name="Kept name"))
    assert 'value="Kept name"' in kept.text
    _create(client, csrf)
    twice = client.post(PAGE, data=_form(csrf))
    assert twice.status_code == 409
    assert "another experiment already has this id" in twice.text
    # An arm on the fifth row, with the third and fourth left empty, is the third arm sent; its
    # mistake is still shown on the fifth row.
    third = client.post(PAGE, data=_form(csrf, slug="more", arm_5="Bad Name", weight_5="2"))
    assert third.status_code == 422
    assert 'id="e-arm_5"' in third.text
    assert 'id="e-arm_3"' not in third.text


def test_the_report_shows_each_arm_the_uplift_a_chart_and_a_csv(client, shop, clock) -> None:
    csrf = admin_login(client, shop)
    where = _create(client, csrf, ends_at="")
    client.post(f"{where}/start", data={"csrf": csrf, "lang": "en"})
    people = [
        client.post("/api/v1/members", json={}, headers=shop.auth("staff")).json()["id"]
        for _ in range(12)
    ]
    arms = uplift.assign_many("free-cake", people, [("control", 1), ("cake", 1)])
    clock.at = clock.at + timedelta(hours=2)
    for member_id, arm in zip(people, arms, strict=True):
        amount = 2000 if arm == "cake" else 1000
        client.post(
            "/api/v1/purchases",
            json=purchase_body(member_id=member_id, amount=amount),
            headers=shop.auth("staff"),
        )
    clock.at = clock.at + timedelta(days=1)
    page = client.get(f"{where}?lang=es")
    assert page.status_code == 200
    assert 'data-arm="control"' in page.text
    assert 'data-comparison="cake-visits"' in page.text
    assert 'data-comparison="cake-spend"' in page.text
    assert "Mejora sobre el control" in page.text
    assert "€" in page.text
    assert "/static/vendor/chart.umd.min.js" in page.text
    assert "/static/admin_experiments.js" in page.text
    found = re.search(r'<script type="application/json" id="uplift-data">(.*?)</script>', page.text)
    assert found
    visits, spend = json.loads(found.group(1))
    assert (visits["metric"], spend["metric"]) == ("visits", "spend")
    assert visits["labels"] == spend["labels"] == ["cake"]
    assert spend["title"] == "Gasto por socio: diferencia con el control (EUR)"
    # The same differences as the report's, spend in euros rather than cents.
    experiment_id = where.rsplit("/", 1)[1]
    report = client.get(f"/api/v1/experiments/{experiment_id}/report", headers=shop.auth()).json()
    by_metric = {c["metric"]: c["uplift"] for c in report["comparisons"]}
    assert visits["points"] == [round(by_metric["visits"]["difference"], 3)]
    assert spend["points"] == [round(by_metric["spend"]["difference"] / 100, 3)]
    low, high = spend["ranges"][0]
    assert low == round(by_metric["spend"]["difference_low"] / 100, 3)
    assert low <= spend["points"][0] <= high
    assert client.get("/static/admin_experiments.js").status_code == 200

    sheet = client.get(f"{where}/report.csv")
    assert sheet.status_code == 200
    assert sheet.headers["content-type"].startswith("text/csv")
    lines = sheet.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("arm,metric,unit,n_control,n_variant")
    assert lines[2].startswith("cake,spend,EUR,")


def test_the_console_answers_odd_addresses_and_other_roles_without_an_error(
    client, shop, other_shop
) -> None:
    csrf = admin_login(client, shop)
    missing = client.get(f"{PAGE}/99999999?lang=en")
    assert missing.status_code == 404
    assert "There is no such experiment in this business." in missing.text
    assert client.get(f"{PAGE}/0").status_code == 422
    assert client.post(f"{PAGE}/99999999/start", data={"csrf": csrf}).status_code == 404
    theirs = client.post(
        "/api/v1/experiments",
        json={"slug": "theirs", "name": "Theirs", "arms": [{"name": "a"}, {"name": "b"}]},
        headers=other_shop.auth(),
    ).json()
    assert client.get(f"{PAGE}/{theirs['id']}").status_code == 404
    assert client.post(f"{PAGE}/{theirs['id']}/start", data={"csrf": csrf}).status_code == 404
    assert client.get(f"{PAGE}/{theirs['id']}/report.csv").status_code == 404
    client.post("/admin/logout", data={"csrf": csrf})
    admin_login(client, shop, role="staff")
    assert client.get(PAGE).status_code == 403
