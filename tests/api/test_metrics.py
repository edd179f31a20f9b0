"""/metrics: Prometheus text that parses, counters that move with purchases, awards and
redemptions (never with a replay), the outbox's lag read from the database, and the guard."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from lealtad.api import create_app
from lealtad.comms.dispatch import dispatch
from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from tests.api.test_rewards import create, grant, redeem
from tests.conftest import SECRET
from tests.e2e.test_demo_serves import free_port
from tests.support import PROD_FIELD_KEYS, Shop, make_shop, purchase_body, stamp_card_program

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: TestClient, **headers: str) -> Samples:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_a_scrape_after_purchases_shows_purchases_awards_and_requests_counted_once(
    client: TestClient, shop: Shop
) -> None:
    before = scrape(client)
    member = shop.members[0]
    first = purchase_body(member_id=member, amount=1250)
    for body in (first, purchase_body(member_id=member, amount=800), first):
        answer = client.post("/api/v1/purchases", json=body, headers=shop.auth("staff"))
        assert answer.status_code == 201, answer.text
    after = scrape(client)
    # Three answers, two purchases: the replayed receipt recorded and awarded nothing.
    assert moved(before, after, "lealtad_purchases_total") == 2
    assert moved(before, after, "lealtad_awards_total", unit="points") == 2
    assert moved(before, after, "lealtad_awarded_units_total", unit="points") == 12 + 8
    route = {"method": "POST", "route": "/api/v1/purchases"}
    assert moved(before, after, "lealtad_http_requests_total", status="201", **route) == 3
    assert moved(before, after, "lealtad_http_request_duration_seconds_count", **route) == 3
    assert (
        moved(before, after, "lealtad_http_request_duration_seconds_bucket", le="+Inf", **route)
        == 3
    )


def test_redemptions_are_counted_and_a_refused_one_is_not(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    member = shop.members[1]
    grant(db, shop, member, 150, clock)
    reward = create(client, shop, cost=100)
    before = scrape(client)
    assert redeem(client, shop, member, reward["id"]).status_code == 201
    refused = redeem(client, shop, member, reward["id"])  # 50 points left: not enough
    assert refused.status_code == 409, refused.text
    after = scrape(client)
    assert moved(before, after, "lealtad_redemptions_total") == 1
    route = {"method": "POST", "route": "/api/v1/members/{member_id}/redemptions"}
    assert moved(before, after, "lealtad_http_requests_total", status="409", **route) == 1


def test_the_outbox_lag_shows_a_pending_event_until_a_worker_delivers_it(
    sqlite_db: Database, settings: Settings, clock: FixedClock
) -> None:
    shop = make_shop(sqlite_db, clock.now())
    with TestClient(create_app(settings, db=sqlite_db, clock=clock)) as client:
        dispatch(sqlite_db, clock.now())  # whatever the shop's set-up queued
        assert value(scrape(client), "lealtad_outbox_pending") == 0
        body = purchase_body(member_id=shop.members[0])
        assert client.post("/api/v1/purchases", json=body, headers=shop.auth()).status_code == 201
        clock.at += timedelta(seconds=90)
        waiting = scrape(client)
        assert value(waiting, "lealtad_outbox_pending") == 1
        assert value(waiting, "lealtad_outbox_oldest_pending_age_seconds") == 90
        dispatch(sqlite_db, clock.now())
        delivered = scrape(client)
        assert value(delivered, "lealtad_outbox_pending") == 0
        assert value(delivered, "lealtad_outbox_oldest_pending_age_seconds") == 0


def test_the_scrape_is_prometheus_text_with_every_family_documented(client: TestClient) -> None:
    text = client.get("/metrics").text
    families = {family.name: family for family in text_string_to_metric_families(text)}
    for name, kind in {
        "lealtad_http_requests": "counter",
        "lealtad_http_request_duration_seconds": "histogram",
        "lealtad_purchases": "counter",
        "lealtad_redemptions": "counter",
        "lealtad_outbox_pending": "gauge",
        "lealtad_outbox_oldest_pending_age_seconds": "gauge",
        "lealtad_messages_queued": "gauge",
        "lealtad_webhook_deliveries_pending": "gauge",
    }.items():
        assert families[name].type == kind, name
        assert families[name].documentation, name


def test_with_a_token_set_metrics_answer_only_its_bearer(
    db: Database, settings: Settings, clock: FixedClock
) -> None:
    guarded = settings.model_copy(update={"metrics_token": "scrape-me-" + "x" * 20})
    with TestClient(create_app(guarded, db=db, clock=clock)) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
            answer = client.get("/metrics", headers=headers)
            assert answer.status_code == 401
            assert answer.json()["error"]["code"] == "unauthorized"
            assert answer.headers["www-authenticate"].startswith("Bearer")
        scrape(client, Authorization="Bearer scrape-me-" + "x" * 20)


def test_in_production_metrics_are_off_without_a_token(db: Database, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    prod = Settings(
        env="prod",
        secret_key=SECRET,
        **PROD_FIELD_KEYS,
        database_url="sqlite://",
        data_dir=tmp_path,
        log_level="warning",
    )
    with TestClient(create_app(prod, db=db, clock=clock)) as client:
        assert client.get("/metrics").status_code == 404
    with TestClient(
        create_app(prod.model_copy(update={"metrics_token": "t" * 32}), db=db, clock=clock)
    ) as client:
        scrape(client, Authorization="Bearer " + "t" * 32)


def test_with_the_database_down_the_scrape_still_answers_and_says_so(
    settings: Settings, clock: FixedClock, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    unreachable = Database(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none")
    with TestClient(create_app(settings, db=unreachable, clock=clock)) as client:
        samples = scrape(client)
    assert value(samples, "lealtad_database_up") == 0
    assert ("lealtad_outbox_pending", ()) not in samples
    unreachable.dispose()


def test_a_multiprocess_directory_holding_other_files_is_a_clear_503(
    client: TestClient, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    shared = tmp_path / "data"
    shared.mkdir()
    (shared / "lealtad.db").write_bytes(b"SQLite format 3\x00" + b"\x01" * 5000)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(shared))
    answer = client.get("/metrics")
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "metrics_unavailable"
    assert "PROMETHEUS_MULTIPROC_DIR" in answer.json()["error"]["message"]


def test_stamps_on_any_card_are_counted_as_stamps(
    client: TestClient, db: Database, clock: FixedClock
) -> None:
    program = stamp_card_program()
    shop = make_shop(db, clock.now(), program=program)
    before = scrape(client)
    body = purchase_body(member_id=shop.members[0], amount=450)
    assert (
        client.post("/api/v1/purchases", json=body, headers=shop.auth("staff")).status_code == 201
    )
    after = scrape(client)
    assert moved(before, after, "lealtad_awards_total", unit="stamps") == 1
    assert moved(before, after, "lealtad_awarded_units_total", unit="stamps") == 1
    assert moved(before, after, "lealtad_awards_total", unit="other") == 0
