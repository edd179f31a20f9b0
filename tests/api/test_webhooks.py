"""Webhooks end to end: endpoints configured over the API, outbox events fanned out to them and
delivered to a real HTTP receiver that checks every Standard Webhooks signature on its own."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from lealtad.comms import webhook_delivery, webhooks
from lealtad.comms.tables import outbox, webhook_deliveries, webhook_endpoints
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from tests.support import Shop, purchase_body

API = "/api/v1"


# An independent verifier, as a receiver would write it from the Standard Webhooks spec.


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    msg_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    if not msg_id or not timestamp.isdigit() or not secret.startswith("whsec_"):
        return False
    key = base64.b64decode(secret[len("whsec_") :])
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for candidate in headers.get("webhook-signature", "").split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature, expected):
            return True
    return False


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    verified: bool
    answered: int

    @property
    def msg_id(self) -> str:
        return self.headers["webhook-id"]


class Receiver:
    """A real HTTP server on 127.0.0.1 that verifies signatures with the secret set for each path
    (401 when it fails), answers 500 to the first `fail_first` requests, then 200."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}
        self.fail_first = 0
        self.delay = 0.0
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def url(self, path: str) -> str:
        return self.base + path

    def _answer(self, path: str, headers: Message, raw: bytes) -> int:
        flat = {k.lower(): v for k, v in headers.items()}
        ok = verify(self.secrets.get(path, ""), flat, raw)
        with self.lock:
            failing = ok and len([r for r in self.received if r.verified]) < self.fail_first
            status = 401 if not ok else 500 if failing else 200
            self.received.append(Received(path, flat, json.loads(raw), ok, status))
        return status

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                if receiver.delay:
                    threading.Event().wait(receiver.delay)
                status = receiver._answer(self.path, self.headers, raw)
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"no")

            def log_message(self, *_args: Any) -> None:
                pass

        return Handler

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(db: Database) -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()
    # PostgreSQL keeps one database per run: pause this test's endpoints, so that a later
    # test's deliver_due does not try a receiver that is gone.
    with db.transaction() as conn:
        conn.execute(
            update(webhook_endpoints)
            .where(webhook_endpoints.c.url.startswith(server.base + "/"))
            .values(active=False)
        )


# Helpers


def create(
    client: TestClient, shop: Shop, receiver: Receiver, path: str, topics: list[str] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"url": receiver.url(path)}
    if topics is not None:
        body["topics"] = topics
    resp = client.post(f"{API}/webhooks", json=body, headers=shop.auth("owner"))
    assert resp.status_code == 201, resp.text
    endpoint = resp.json()
    receiver.secrets[path] = endpoint["secret"]
    return dict(endpoint)


def fan_out(db: Database, shop: Shop, now: datetime) -> int:
    """What the worker does for each outbox row: here for every row of this shop's business."""
    with db.transaction() as conn:
        rows = conn.execute(
            select(outbox).where(outbox.c.business_id == shop.id).order_by(outbox.c.id)
        ).all()
        return sum(webhook_delivery.fan_out(conn, row, now) for row in rows)


def topics_of(db: Database, shop: Shop) -> set[str]:
    with db.read() as conn:
        return set(
            conn.execute(select(outbox.c.topic).where(outbox.c.business_id == shop.id)).scalars()
        )


def log(client: TestClient, shop: Shop, endpoint_id: int) -> list[dict[str, Any]]:
    resp = client.get(f"{API}/webhooks/{endpoint_id}/deliveries", headers=shop.auth("manager"))
    assert resp.status_code == 200, resp.text
    return list(resp.json())


def purchase(client: TestClient, shop: Shop, **fields: Any) -> dict[str, Any]:
    body = purchase_body(member_id=shop.members[0], **fields)
    resp = client.post(f"{API}/purchases", json=body, headers=shop.auth("staff"))
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# Signing


def test_the_signature_reproduces_the_standard_webhooks_test_vector() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    signature = webhook_delivery.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": f"v1,bm9wZQ== {signature}",
    }
    assert verify(secret, headers, body)


def test_a_wrong_secret_a_changed_body_or_a_changed_id_fails_verification() -> None:
    secret, other = webhooks.new_secret(), webhooks.new_secret()
    body = b'{"type":"purchase.recorded"}'
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": "1772447400",
        "webhook-signature": webhook_delivery.sign(secret, "msg_1", 1772447400, body),
    }
    assert verify(secret, headers, body)
    assert not verify(other, headers, body)
    assert not verify(secret, headers, body.replace(b"purchase", b"refund"))
    assert not verify(secret, headers | {"webhook-id": "msg_2"}, body)
    assert not verify(secret, headers | {"webhook-timestamp": "1772447401"}, body)


def test_retries_back_off_exponentially_to_six_hours_with_at_most_ten_percent_jitter() -> None:
    rng = random.Random(7)
    for attempts, base in [(1, 30), (2, 120), (3, 480), (4, 1920), (5, 7680), (6, 21600)]:
        for _ in range(50):
            wait = webhook_delivery.backoff(attempts, rng).total_seconds()
            assert base <= wait <= base * 1.1, (attempts, wait)
    assert webhook_delivery.backoff(8, rng) <= timedelta(hours=6.6)


# Delivery


def test_a_purchase_reaches_the_endpoint_signed_and_is_retried_after_500s_until_it_succeeds(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock, receiver: Receiver
) -> None:
    endpoint = create(client, shop, receiver, "/hooks", ["purchase.recorded"])
    receiver.fail_first = 2
    sale = purchase(client, shop, amount=2350)
    now = clock.now()

    assert fan_out(db, shop, now) == 1
    assert webhook_delivery.deliver_due(db, now) == {
        "claimed": 1,
        "succeeded": 0,
        "retrying": 1,
        "failed": 0,
    }
    [first] = log(client, shop, endpoint["id"])
    assert (first["status"], first["attempts"], first["last_status_code"]) == ("pending", 1, 500)
    assert first["last_error"].startswith("HTTP 500")
    wait = at(first["next_attempt_at"]) - now
    assert timedelta(seconds=30) <= wait <= timedelta(seconds=34), wait

    # Not due yet: nothing is sent before the backoff has passed.
    assert webhook_delivery.deliver_due(db, now + timedelta(seconds=20))["claimed"] == 0
    assert len(receiver.received) == 1

    now += timedelta(seconds=34)
    assert webhook_delivery.deliver_due(db, now)["retrying"] == 1
    [second] = log(client, shop, endpoint["id"])
    assert (second["attempts"], second["last_status_code"]) == (2, 500)
    wait = at(second["next_attempt_at"]) - now
    assert timedelta(minutes=2) <= wait <= timedelta(minutes=2.3), wait

    now += timedelta(minutes=2.5)
    assert webhook_delivery.deliver_due(db, now)["succeeded"] == 1
    [done] = log(client, shop, endpoint["id"])
    assert (done["status"], done["attempts"], done["last_status_code"]) == ("succeeded", 3, 200)
    assert done["last_error"] is None
    assert done["next_attempt_at"] is None
    assert at(done["delivered_at"]) >= now

    # Three tries of one message, each signed with the endpoint's secret, the same webhook-id.
    tries = receiver.at("/hooks")
    assert [r.answered for r in tries] == [500, 500, 200]
    assert all(r.verified for r in tries)
    assert {r.msg_id for r in tries} == {done["message_id"]}
    assert all(r.headers["content-type"] == "application/json" for r in tries)
    last = tries[-1]
    assert abs(int(last.headers["webhook-timestamp"]) - now.timestamp()) < 5
    assert last.body["type"] == "purchase.recorded"
    assert last.body["timestamp"] == "2026-03-02T10:30:00Z"
    data = last.body["data"]
    assert (data["id"], data["receipt_id"], data["amount"]) == (
        sale["id"],
        sale["receipt_id"],
        2350,
    )
    assert data["member_id"] == shop.members[0]
    assert data["balances"] == sale["balances"]


def test_a_receiver_holding_a_wrong_secret_rejects_the_delivery_and_the_log_shows_it(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock, receiver: Receiver
) -> None:
    endpoint = create(client, shop, receiver, "/hooks", ["purchase.recorded"])
    receiver.secrets["/hooks"] = webhooks.new_secret()
    purchase(client, shop)
    fan_out(db, shop, clock.now())
    assert webhook_delivery.deliver_due(db, clock.now())["retrying"] == 1
    [seen] = receiver.at("/hooks")
    assert (seen.verified, seen.answered) == (False, 401)
    [entry] = log(client, shop, endpoint["id"])
    assert (entry["status"], entry["attempts"], entry["last_status_code"]) == ("pending", 1, 401)


def test_a_delivery_that_keeps_failing_is_given_up_after_eight_attempts(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock, receiver: Receiver
) -> None:
    endpoint = create(client, shop, receiver, "/down", ["purchase.recorded"])
    receiver.fail_first = 1000
    purchase(client, shop)
    now = clock.now()
    fan_out(db, shop, now)
    results = []
    for _ in range(webhook_delivery.MAX_ATTEMPTS):
        stats = webhook_delivery.deliver_due(db, now)
        results.append("failed" if stats["failed"] else "retrying" if stats["retrying"] else "-")
        now += timedelta(hours=7)
    assert results == ["retrying"] * 7 + ["failed"]
    assert webhook_delivery.deliver_due(db, now + timedelta(days=1))["claimed"] == 0
    [entry] = log(client, shop, endpoint["id"])
    assert (entry["status"], entry["attempts"], entry["next_attempt_at"]) == ("failed", 8, None)
    assert len(receiver.at("/down")) == 8


def test_fanning_out_the_same_outbox_row_twice_queues_one_delivery(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock, receiver: Receiver
) -> None:
    endpoint = create(client, shop, receiver, "/hooks", ["purchase.recorded"])
    purchase(client, shop)
    assert fan_out(db, shop, clock.now()) == 1
    assert fan_out(db, shop, clock.now()) == 0
    assert len(log(client, shop, endpoint["id"])) == 1


def test_an_endpoint_gets_only_the_topics_it_subscribed_to(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock, receiver: Receiver
) -> None:
    create(client, shop, receiver, "/refunds", ["refund.recorded"])
    create(client, shop, receiver, "/sales", ["purchase.recorded", "tier.changed"])
    create(client, shop, receiver, "/all", ["*"])
    sale = purchase(client, shop)
    resp = client.post(
        f"{API}/refunds",
        json={"refund_id": "RF-1", "receipt_id": sale["receipt_id"], "amount": 400},
        headers=shop.auth("staff"),
    )
    assert resp.status_code == 201, resp.text
    fan_out(db, shop, clock.now())
    webhook_delivery.deliver_due(db, clock.now())

    def topics(path: str) -> list[str]:
        return sorted(r.body["type"] for r in receiver.at(path))

    assert topics("/refunds") == ["refund.recorded"]
    assert topics("/sales") == ["purchase.recorded"]
    assert set(topics("/all")) == topics_of(db, shop) >= {"purchase.recorded", "refund.recorded"}
    assert all(r.verified for r in receiver.received)


def test_an_inactive_endpoint_gets_nothing_and_a_paused_one_resumes_where_it_stopped(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock, receiver: Receiver
) -> None:
    paused = create(client, shop, receiver, "/paused", ["*"])
    resp = client.patch(
        f"{API}/webhooks/{paused['id']}", json={"active": False}, headers=shop.auth("owner")
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["active"] is False
    later = create(client, shop, receiver, "/later", ["purchase.recorded"])
    purchase(client, shop)
    now = clock.now()
    assert fan_out(db, shop, now) == 1  # for /later only
    assert log(client, shop, paused["id"]) == []

    # /later is paused after its delivery was queued: it waits, and goes once resumed.
    owner = shop.auth("owner")
    client.patch(f"{API}/webhooks/{later['id']}", json={"active": False}, headers=owner)
    assert webhook_delivery.deliver_due(db, now)["claimed"] == 0
    assert receiver.received == []
    client.patch(f"{API}/webhooks/{later['id']}", json={"active": True}, headers=owner)
    assert webhook_delivery.deliver_due(db, now)["succeeded"] == 1
    assert [r.path for r in receiver.received] == ["/later"]


def test_an_endpoint_of_one_business_never_receives_another_business_s_events(
    client: TestClient,
    db: Database,
    shop: Shop,
    other_shop: Shop,
    clock: FixedClock,
    receiver: Receiver,
) -> None:
    mine = create(client, shop, receiver, "/a", ["*"])
    theirs = create(client, other_shop, receiver, "/b", ["*"])
    purchase(client, shop)
    purchase(client, other_shop)
    purchase(client, other_shop)
    fan_out(db, shop, clock.now())
    fan_out(db, other_shop, clock.now())
    webhook_delivery.deliver_due(db, clock.now())

    def message_ids(who: Shop) -> set[str]:
        with db.read() as conn:
            ids = conn.execute(select(outbox.c.id).where(outbox.c.business_id == who.id))
            return {f"msg_{i}" for i in ids.scalars()}

    assert {r.msg_id for r in receiver.at("/a")} == message_ids(shop)
    assert {r.msg_id for r in receiver.at("/b")} == message_ids(other_shop)
    assert {r.body["data"].get("member_id") for r in receiver.at("/a")} <= {None, *shop.members}
    assert {d["message_id"] for d in log(client, shop, mine["id"])} == message_ids(shop)
    # Neither business can read the other's endpoint or its log.
    for who, endpoint in ((shop, theirs), (other_shop, mine)):
        for path in (f"/webhooks/{endpoint['id']}", f"/webhooks/{endpoint['id']}/deliveries"):
            assert client.get(API + path, headers=who.auth("owner")).status_code == 404


def test_the_test_route_sends_a_webhook_test_event_to_that_endpoint_only(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock, receiver: Receiver
) -> None:
    target = create(client, shop, receiver, "/target", ["refund.recorded"])
    create(client, shop, receiver, "/bystander", ["*"])
    resp = client.post(f"{API}/webhooks/{target['id']}/test", headers=shop.auth("owner"))
    assert resp.status_code == 202, resp.text
    with db.transaction() as conn:
        row = conn.execute(
            select(outbox)
            .where(outbox.c.business_id == shop.id, outbox.c.topic == "webhook.test")
            .order_by(outbox.c.id.desc())
        ).first()
        assert webhook_delivery.fan_out(conn, row, clock.now()) == 1
    assert webhook_delivery.deliver_due(db, clock.now())["succeeded"] == 1
    [seen] = receiver.received
    assert (seen.path, seen.verified, seen.body["type"]) == ("/target", True, "webhook.test")
    assert seen.body["data"]["endpoint_id"] == target["id"]


def test_two_workers_delivering_at_once_send_each_message_exactly_once(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock, receiver: Receiver
) -> None:
    endpoint = create(client, shop, receiver, "/hooks", ["purchase.recorded"])
    receiver.delay = 0.02
    for _ in range(12):
        purchase(client, shop)
    now = clock.now()
    assert fan_out(db, shop, now) == 12
    start = threading.Barrier(2)
    sent: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            start.wait()
            while (stats := webhook_delivery.deliver_due(db, now, limit=3))["claimed"]:
                sent.append(stats["succeeded"])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    counts = Counter(r.msg_id for r in receiver.at("/hooks"))
    assert len(counts) == 12
    assert set(counts.values()) == {1}, counts
    assert sum(sent) == 12
    assert {d["status"] for d in log(client, shop, endpoint["id"])} == {"succeeded"}


# Endpoints over the API


def test_creating_or_changing_an_endpoint_needs_the_owner_role(
    client: TestClient, shop: Shop, receiver: Receiver
) -> None:
    body = {"url": receiver.url("/hooks")}
    resp = client.post(f"{API}/webhooks", json=body, headers=shop.auth("manager"))
    assert resp.status_code == 403, resp.text
    assert resp.json()["error"]["code"] == "role_required"
    endpoint = create(client, shop, receiver, "/hooks")
    path = f"{API}/webhooks/{endpoint['id']}"
    manager = shop.auth("manager")
    assert client.patch(path, json={"active": False}, headers=manager).status_code == 403
    assert client.post(f"{path}/test", headers=manager).status_code == 403
    # Managers read the configuration and the delivery log; cashiers do not.
    assert client.get(f"{API}/webhooks", headers=manager).status_code == 200
    assert client.get(f"{path}/deliveries", headers=manager).status_code == 200
    assert client.get(f"{API}/webhooks", headers=shop.auth("staff")).status_code == 403
    assert client.get(path, headers=shop.auth("staff")).status_code == 403


def test_the_secret_is_shown_once_at_creation(
    client: TestClient, shop: Shop, receiver: Receiver
) -> None:
    endpoint = create(client, shop, receiver, "/hooks", ["purchase.recorded", "refund.recorded"])
    secret = endpoint["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    assert endpoint["topics"] == ["purchase.recorded", "refund.recorded"]
    assert endpoint["active"] is True
    owner = shop.auth("owner")
    path = f"{API}/webhooks/{endpoint['id']}"
    answers = [
        client.get(path, headers=owner),
        client.get(f"{API}/webhooks", headers=owner),
        client.patch(path, json={"topics": ["*"]}, headers=owner),
        client.get(f"{API}/audit-log", headers=owner),
    ]
    for resp in answers:
        assert resp.status_code == 200, resp.text
        assert "secret" not in resp.text
        assert secret not in resp.text
    assert answers[0].json() == {k: v for k, v in endpoint.items() if k != "secret"}
    assert answers[2].json()["topics"] == ["*"]
    actions = [e["action"] for e in answers[3].json()]
    assert {"webhook.create", "webhook.update"} <= set(actions)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"url": "ftp://example.com/hooks"}, id="ftp"),
        pytest.param({"url": "javascript:alert(1)"}, id="javascript"),
        pytest.param({"url": "example.com/hooks"}, id="no-scheme"),
        pytest.param({"url": "http://"}, id="no-host"),
        pytest.param({"url": ""}, id="empty"),
        pytest.param({"url": "https://example.com/" + "a" * 500}, id="too-long"),
        pytest.param({"url": "https://example.com/\x00"}, id="nul"),
        pytest.param({}, id="no-url"),
        pytest.param({"url": "https://example.com", "topics": ["purchase.made"]}, id="topic"),
        pytest.param({"url": "https://example.com", "topics": []}, id="no-topics"),
        pytest.param(
            {"url": "https://example.com", "topics": ["*", "purchase.recorded"]}, id="star-mixed"
        ),
        pytest.param({"url": "https://example.com", "secret": "whsec_x"}, id="own-secret"),
    ],
)
def test_an_invalid_endpoint_is_a_422(client: TestClient, shop: Shop, body: Any) -> None:
    resp = client.post(f"{API}/webhooks", json=body, headers=shop.auth("owner"))
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "invalid_request"


def test_a_patch_to_an_invalid_url_or_to_null_is_a_422_and_changes_nothing(
    client: TestClient, shop: Shop, receiver: Receiver
) -> None:
    endpoint = create(client, shop, receiver, "/hooks")
    path, owner = f"{API}/webhooks/{endpoint['id']}", shop.auth("owner")
    for body in ({"url": "mailto:owner@example.com"}, {"url": None}, {"active": None}):
        assert client.patch(path, json=body, headers=owner).status_code == 422, body
    assert client.get(path, headers=owner).json()["url"] == receiver.url("/hooks")


def test_an_unknown_endpoint_is_a_404(client: TestClient, shop: Shop) -> None:
    for method, path in [
        ("GET", "/webhooks/999999999"),
        ("PATCH", "/webhooks/999999999"),
        ("GET", "/webhooks/999999999/deliveries"),
        ("POST", "/webhooks/999999999/test"),
    ]:
        resp = client.request(method, API + path, json={}, headers=shop.auth("owner"))
        assert resp.status_code == 404, resp.text
        assert resp.json()["error"]["code"] == "webhook_not_found"


def test_the_delivery_log_is_newest_first_and_pages_backwards(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock, receiver: Receiver
) -> None:
    endpoint = create(client, shop, receiver, "/hooks", ["purchase.recorded"])
    for _ in range(3):
        purchase(client, shop)
    fan_out(db, shop, clock.now())
    entries = log(client, shop, endpoint["id"])
    ids = [d["id"] for d in entries]
    assert len(ids) == 3
    assert ids == sorted(ids, reverse=True)
    resp = client.get(
        f"{API}/webhooks/{endpoint['id']}/deliveries",
        params={"limit": 2, "before": ids[0]},
        headers=shop.auth("manager"),
    )
    assert [d["id"] for d in resp.json()] == ids[1:]
    with db.read() as conn:
        stored = conn.execute(
            select(webhook_deliveries.c.status).where(
                webhook_deliveries.c.endpoint_id == endpoint["id"]
            )
        ).scalars()
        assert set(stored) == {"pending"}
