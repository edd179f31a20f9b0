"""Hostile input at the edge (issue 16): deeply nested or large free-form JSON, dates at the ends of
time or given as numbers, and oversized bodies are refused with a 4xx that names the field and the
limit; dates at the ends of the accepted range, and older rows stored before the range existed,
still show on every console page."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from fastapi.testclient import TestClient
from sqlalchemy import update

from lealtad.analytics.tables import experiments
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock, naive_utc
from lealtad.members.tables import members
from lealtad.purchases.tables import purchases
from lealtad.rewards.tables import rewards, vouchers
from lealtad.rules import store as rules_store
from lealtad.rules.definition import ProgramDefinition
from lealtad.rules.earn_rule import DateRange, EarnRule, FixedPoints
from lealtad.rules.tables import program_versions
from lealtad.surveys.tables import surveys
from lealtad.tenancy.tables import api_keys, businesses
from tests.api.test_bad_input import assert_error
from tests.support import Shop, admin_login, purchase_body, wallet_login
from tests.surveys.conftest import survey_body

EARLIEST, LATEST = "1900-01-01T00:00:00Z", "2199-12-31T23:59:59Z"
YEAR_1, YEAR_9999 = "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"
# The zones furthest ahead of and behind UTC: the extremes shift most in them.
ZONES = ["Pacific/Kiritimati", "Etc/GMT+12"]
_ids = itertools.count(1)


def nested(levels: int) -> dict[str, Any]:
    """An object `levels` deep: nested(1) is {"a": 1}."""
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    return dict(value)


def event(shop: Shop, **fields: Any) -> dict[str, Any]:
    return {"event_id": f"E-{next(_ids)}", "name": "visit", "member_id": shop.members[0]} | fields


def reward(**fields: Any) -> dict[str, Any]:
    body = {
        "slug": f"far-{next(_ids)}",
        "kind": "free_product",
        "sku": "CAKE",
        "title": {"es": "Tarta lejana", "en": "Far cake"},
        "cost": 10,
    }
    return body | fields


def experiment(**fields: Any) -> dict[str, Any]:
    arms = [{"name": "control", "weight": 1}, {"name": "cake", "weight": 1}]
    return {"slug": f"far-{next(_ids)}", "name": "Far", "arms": arms} | fields


# --- free-form JSON ---------------------------------------------------------------------------


def test_event_properties_nested_256_or_900_levels_deep_are_a_422_naming_the_depth_limit(
    client: TestClient, shop: Shop
) -> None:
    for levels in (256, 900):
        body = event(shop, properties=nested(levels))
        answer = client.post("/api/v1/events", json=body, headers=shop.auth())
        error = assert_error(answer, 422, "json_too_deep")
        assert error["message"] == "properties is nested deeper than the limit of 8 levels"


def test_event_properties_up_to_8_levels_and_4000_bytes_are_kept_and_no_more(
    client: TestClient, shop: Shop
) -> None:
    def send(properties: dict[str, Any]) -> Any:
        return client.post(
            "/api/v1/events", json=event(shop, properties=properties), headers=shop.auth()
        )

    assert send(nested(8)).status_code == 201
    assert_error(send(nested(9)), 422, "json_too_deep")
    assert send({"n": "é" * 1996}).status_code == 201  # 4,000 bytes as compact JSON
    error = assert_error(send({"n": "é" * 1997}), 422, "json_too_large")
    assert error["message"] == "properties is larger than the limit of 4000 bytes of JSON"


def test_a_body_over_one_megabyte_is_a_413_whether_its_length_is_declared_or_not(
    client: TestClient, shop: Shop
) -> None:
    headers = shop.auth() | {"Content-Type": "application/json"}
    declared = client.post("/api/v1/purchases", content=b" " * 1_048_577, headers=headers)
    error = assert_error(declared, 413, "body_too_large")
    assert "1,048,576 bytes" in error["message"]

    def chunks() -> Iterator[bytes]:
        yield from (b"[" * 65_536 for _ in range(17))

    streamed = client.post("/api/v1/purchases", content=chunks(), headers=headers)
    assert_error(streamed, 413, "body_too_large")


def test_a_body_nested_too_deep_for_the_json_parser_is_a_400_not_a_500(
    client: TestClient, shop: Shop
) -> None:
    headers = shop.auth() | {"Content-Type": "application/json"}
    answer = client.post("/api/v1/events", content=b"[" * 500_000, headers=headers)
    assert_error(answer, 400)


# --- dates out of range or not ISO 8601 -------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/purchases", "/api/v1/events"])
def test_an_occurred_at_in_year_1_or_9999_is_a_422_naming_the_field_and_the_range(
    client: TestClient, shop: Shop, url: str
) -> None:
    # With an offset that puts year 1 below what a datetime holds, too.
    for at in (YEAR_1, YEAR_9999, "0001-01-01T00:00:00+05:00"):
        body = purchase_body(member_id=shop.members[0]) if "purchases" in url else event(shop)
        answer = client.post(url, json=body | {"occurred_at": at}, headers=shop.auth())
        error = assert_error(answer, 422, "date_out_of_range")
        assert error["message"] == (
            "occurred_at must be between 1900-01-01T00:00:00Z and 2199-12-31T23:59:59Z"
        )


def test_a_reward_valid_until_9999_or_from_year_1_is_a_422_when_made_or_changed(
    client: TestClient, shop: Shop
) -> None:
    for field, value in (("valid_until", YEAR_9999), ("valid_from", YEAR_1)):
        answer = client.post("/api/v1/rewards", json=reward(**{field: value}), headers=shop.auth())
        error = assert_error(answer, 422, "date_out_of_range")
        assert error["message"].startswith(f"{field} must be between 1900-01-01")
    assert client.get("/api/v1/rewards", headers=shop.auth()).json() == []
    made = client.post("/api/v1/rewards", json=reward(), headers=shop.auth())
    assert made.status_code == 201, made.text
    path = f"/api/v1/rewards/{made.json()['id']}"
    answer = client.patch(path, json={"valid_until": YEAR_9999}, headers=shop.auth())
    assert_error(answer, 422, "date_out_of_range")


def test_an_experiment_ending_in_9999_or_starting_in_year_1_is_a_422(
    client: TestClient, shop: Shop
) -> None:
    for field, value in (("ends_at", YEAR_9999), ("starts_at", YEAR_1)):
        body = experiment(**{field: value})
        answer = client.post("/api/v1/experiments", json=body, headers=shop.auth())
        error = assert_error(answer, 422, "date_out_of_range")
        assert error["message"].startswith(f"{field} must be between")


def test_numbers_for_dates_are_a_422_not_seconds_since_1970(client: TestClient, shop: Shop) -> None:
    for value in ("0.5", "1700000000"):
        answer = client.get(f"/api/v1/audit-log?until={value}", headers=shop.auth("owner"))
        error = assert_error(answer, 422, "date_not_iso")
        assert error["message"].startswith("until must be an ISO 8601 date-time")
    for opens_at in (0, 1.5, "1700000000"):
        body = survey_body(opens_at=opens_at)
        answer = client.post("/api/v1/surveys", json=body, headers=shop.auth())
        error = assert_error(answer, 422, "date_not_iso")
        assert error["message"].startswith("opens_at must be an ISO 8601 date-time")
    assert client.get("/api/v1/surveys", headers=shop.auth()).json() == []
    path = f"/api/v1/members/{shop.members[0]}"
    for birthday, code in ((19800101, "date_not_iso"), ("1899-12-31", "date_out_of_range")):
        answer = client.patch(path, json={"birthday": birthday}, headers=shop.auth())
        assert_error(answer, 422, code)


def test_a_program_rule_dated_before_1900_is_a_422(client: TestClient, shop: Shop) -> None:
    rule = {"id": "old", "name": "Old", "action": {"type": "fixed_points", "points": 5}}
    rule["conditions"] = {"date_range": {"start": "1066-10-14"}}
    body = {"definition": {"rules": [rule]}, "reason": "a promotion from long ago"}
    answer = client.put("/api/v1/program", json=body, headers=shop.auth("owner"))
    error = assert_error(answer, 422, "date_out_of_range")
    assert error["message"] == (
        "definition.rules.0.conditions.date_range.start must be between 1900-01-01 and 2199-12-31"
    )


# --- pages with dates at the extremes ---------------------------------------------------------


def _local_day(at: str, zone: str) -> date:
    return datetime.fromisoformat(at).astimezone(ZoneInfo(zone)).date()


def _in_zone(db: Database, shop: Shop, zone: str) -> None:
    with db.transaction() as conn:
        conn.execute(update(businesses).where(businesses.c.id == shop.id).values(timezone=zone))


def _made(answer: Any) -> int:
    assert answer.status_code in (200, 201), answer.text
    return int(answer.json()["id"])


def _dated_objects(client: TestClient, shop: Shop, start: str, end: str) -> dict[str, int]:
    """A reward, an experiment and a survey from `start` to `end`, a purchase at `start`, and a
    voucher of the reward, through the API."""
    h = shop.auth()
    member = shop.members[0]
    made = {
        "reward": _made(
            client.post(
                "/api/v1/rewards", json=reward(valid_from=start, valid_until=end), headers=h
            )
        ),
        "experiment": _made(
            client.post(
                "/api/v1/experiments", json=experiment(starts_at=start, ends_at=end), headers=h
            )
        ),
        "survey": _made(
            client.post(
                "/api/v1/surveys", json=survey_body(opens_at=start, closes_at=end), headers=h
            )
        ),
    }
    bought = client.post(
        "/api/v1/purchases", json=purchase_body(member_id=member, occurred_at=start), headers=h
    )
    assert bought.status_code == 201, bought.text
    redeemed = client.post(
        f"/api/v1/members/{member}/redemptions", json={"reward_id": made["reward"]}, headers=h
    )
    assert redeemed.status_code == 201, redeemed.text
    return made


def _console_pages(shop: Shop, made: dict[str, int]) -> list[str]:
    member, exp = shop.members[0], made["experiment"]
    return [
        "/admin",
        "/admin/rewards",
        f"/admin/rewards/{made['reward']}",
        "/admin/experiments",
        f"/admin/experiments/{exp}",
        "/admin/surveys",
        f"/admin/surveys/{made['survey']}",
        "/admin/members",
        "/admin/members.csv",
        f"/admin/members/{member}",
        "/admin/audit",
        "/admin/audit.csv",
        "/admin/audit.json",
        f"/counter/members/{member}",
    ]


def _assert_every_page_answers(
    client: TestClient, db: Database, shop: Shop, made: dict[str, int], *, keys: bool = False
) -> dict[str, str]:
    admin_login(client, shop)
    pages = {path: client.get(f"{path}?lang=en") for path in _console_pages(shop, made)}
    failed = {path: page.status_code for path, page in pages.items() if page.status_code != 200}
    # A draft has no report yet (409); a running one has one. Neither is a server error.
    report = client.get(f"/admin/experiments/{made['experiment']}/report.csv")
    assert report.status_code in (200, 409), report.text
    if keys:  # the owner's page; API keys get their dates from the server's clock
        admin_login(client, shop, role="owner")
        page = client.get("/admin/settings/api-keys")
        failed |= {} if page.status_code == 200 else {"api-keys": page.status_code}
    wallet_login(client, db, shop, shop.members[0])
    wallet = {p: client.get(f"/w/{shop.slug}/{p}?lang=en") for p in ("rewards", "vouchers")}
    failed |= {p: w.status_code for p, w in wallet.items() if w.status_code != 200}
    assert not failed, failed
    return {path: page.text for path, page in pages.items()}


@pytest.mark.parametrize("zone", ZONES)
def test_a_reward_an_experiment_and_a_survey_at_the_accepted_extremes_show_on_every_page(
    client: TestClient, db: Database, shop: Shop, zone: str
) -> None:
    _in_zone(db, shop, zone)
    # A sale at the earliest accepted instant needs a program in force then (D65).
    with db.transaction() as conn:
        since = program_versions.c.business_id == shop.id
        conn.execute(
            update(program_versions).where(since).values(effective_from=datetime(1900, 1, 1))
        )
    made = _dated_objects(client, shop, EARLIEST, LATEST)
    birthday = {"birthday": "1900-01-01"}
    patched = client.patch(f"/api/v1/members/{shop.members[0]}", json=birthday, headers=shop.auth())
    assert patched.status_code == 200, patched.text
    texts = _assert_every_page_answers(client, db, shop, made)
    # Shown in the business's zone, a day away from the UTC dates in one of them.
    first, last = (_local_day(at, zone) for at in (EARLIEST, LATEST))
    assert {first, last} != {date(1900, 1, 1), date(2199, 12, 31)}
    for path in ("/admin/rewards", "/admin/experiments"):
        for day in (first, last):
            assert format_date(day, "medium", locale="en_GB") in texts[path], path


@pytest.mark.parametrize("zone", ZONES)
def test_dates_stored_in_year_1_and_9999_before_the_range_existed_still_show_on_every_page(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock, zone: str
) -> None:
    _in_zone(db, shop, zone)
    made = _dated_objects(client, shop, "2026-01-01T00:00:00Z", "2026-12-31T00:00:00Z")
    assert client.post(
        f"/api/v1/experiments/{made['experiment']}/start", headers=shop.auth()
    ).is_success
    first, last = datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59)
    with db.transaction() as conn:
        for table, key, start, end in (
            (rewards, made["reward"], "valid_from", "valid_until"),
            (experiments, made["experiment"], "starts_at", "ends_at"),
            (surveys, made["survey"], "opens_at", "closes_at"),
        ):
            conn.execute(update(table).where(table.c.id == key).values({start: first, end: last}))
        conn.execute(
            update(vouchers).where(vouchers.c.business_id == shop.id).values(expires_at=last)
        )
        conn.execute(
            update(purchases).where(purchases.c.business_id == shop.id).values(occurred_at=first)
        )
        conn.execute(
            update(members).where(members.c.id == shop.members[0]).values(birthday=date(1, 1, 1))
        )
        conn.execute(
            update(api_keys).where(api_keys.c.business_id == shop.id).values(created_at=first)
        )
    _assert_every_page_answers(client, db, shop, made, keys=True)
    report = client.get(f"/api/v1/experiments/{made['experiment']}/report", headers=shop.auth())
    assert report.status_code == 200, report.text


def test_a_program_stored_with_a_rule_dated_in_year_1_still_loads_and_earns(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    definition = ProgramDefinition(
        rules=[
            EarnRule(
                id="always",
                name="Since forever",
                action=FixedPoints(points=7),
                conditions={"date_range": DateRange(start=date(2000, 1, 1))},
            )
        ]
    ).as_json()
    definition["rules"][0]["conditions"]["date_range"]["start"] = "0001-01-01"
    with db.transaction() as conn:
        rules_store.insert_version(
            conn,
            business_id=shop.id,
            version=2,
            effective_from=naive_utc(clock.now()),
            definition=definition,
            author="test",
            reason="stored before dates were bounded",
            diff=[],
            created_at=naive_utc(clock.now()),
        )
    body = purchase_body(member_id=shop.members[0])
    answer = client.post("/api/v1/purchases", json=body, headers=shop.auth())
    assert answer.status_code == 201, answer.text
    assert [a["amount"] for a in answer.json()["awards"]] == [7]


# --- the console's own date fields ------------------------------------------------------------


def test_console_date_filters_at_the_ends_of_time_answer_without_a_500(
    client: TestClient, shop: Shop
) -> None:
    admin_login(client, shop)
    for day in ("0001-01-01", "9999-12-31"):
        for path in ("/admin/members", "/admin/audit", "/admin/analytics"):
            page = client.get(f"{path}?start={day}&end={day}")
            assert page.status_code < 500, (path, page.text)


def test_the_reward_form_says_a_date_past_2199_is_out_of_range(
    client: TestClient, shop: Shop
) -> None:
    csrf = admin_login(client, shop)
    form = {
        "csrf": csrf,
        "lang": "en",
        "slug": "far-cake",
        "kind": "free_product",
        "title_es": "Tarta",
        "title_en": "Cake",
        "cost_unit": "points",
        "cost": "10",
        "sku": "CAKE",
        "valid_until": "9999-12-31T23:59",
        "voucher_days": "30",
        "on_expiry": "lapse",
        "limit_period": "lifetime",
    }
    page = client.post("/admin/rewards/new", data=form, follow_redirects=False)
    assert page.status_code in (200, 422), page.text
    assert "must be between 1900-01-01T00:00:00Z and 2199-12-31T23:59:59Z" in page.text
