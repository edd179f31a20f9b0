"""Fuzzing: schemathesis sends generated requests to every operation of the OpenAPI description of a
real server (uvicorn on a fresh SQLite database with a small business, called with the owner's
API key so the authenticated code runs), and checks that no answer is a server error and every
answer is one the description documents: its status code, content type and body schema.

The example count per operation is bounded for the suite; LEALTAD_FUZZ_EXAMPLES raises it for a
longer run (docs/fuzzing.md)."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from lealtad.api import create_app
from lealtad.config import Settings
from lealtad.purchases import service as purchases
from lealtad.purchases.schemas import PurchaseIn
from lealtad.tenancy import service as tenancy
from lealtad.tenancy.model import Role
from tests.comms.conftest import _free_port
from tests.conftest import SECRET, sqlite_database
from tests.security.openapi_fields import operations_taking_dates_or_json, put_at
from tests.support import Shop, make_shop

EXAMPLES = int(os.environ.get("LEALTAD_FUZZ_EXAMPLES", "15"))
CREDENTIALS = {"authorization", "x-api-key"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class Served:
    url: str
    shop: Shop
    key: str  # the fuzzer's own owner key
    key_id: int
    # Ids that exist in the business, so a pass with them reaches past "not found".
    known: dict[str, Any] = field(default_factory=dict)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@pytest.fixture(scope="module")
def served(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("fuzz")
    db = sqlite_database(sqlite_template, directory)
    now = datetime.now(UTC)
    shop = make_shop(db, now, members_count=3)
    make_shop(db, now, name="Other shop")  # ids of another business must stay out of reach
    with db.transaction() as conn:
        for n, member in enumerate([shop.members[0], None, shop.members[1]]):
            body = PurchaseIn(receipt_id=f"F{n}", amount=2500, currency="EUR", member_id=member)
            purchases.record(conn, shop.principal(), body, secret_key="s", now=now)
        key_id, key = tenancy.create_api_key(
            conn, shop.id, name="fuzzer", role=Role.owner, location_id=None, now=now
        )
    known = {
        "member_id": shop.members[0],
        "location_id": shop.locations[1],
        "staff_id": shop.staff["staff"],
        "business_slug": shop.slug,
        "purchase_id": 1,
        "version": 1,
        "name": "stars-tiers",  # a template with a happy-hour time window
    }
    port = _free_port()
    app_settings = Settings(
        env="test",
        secret_key=SECRET,
        data_dir=directory / "data",
        log_level="error",
        base_url=f"http://127.0.0.1:{port}",
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(app_settings, db=db),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the fuzzing server did not start")
        time.sleep(0.02)
    yield Served(f"http://127.0.0.1:{port}", shop, key, key_id, known)
    server.should_exit = True
    thread.join(timeout=10)
    db.dispose()


def _fuzz(operation: Any, mode: str, served: Served, seen: Counter[int]) -> None:
    generation = GenerationMode.NEGATIVE if mode == "negative" else GenerationMode.POSITIVE
    names = {p.name for p in operation.path_parameters}
    fixed = {k: v for k, v in served.known.items() if k in names} if mode == "known" else None
    if mode == "known" and not fixed:
        return

    @given(case=operation.as_strategy(generation_mode=generation, path_parameters=fixed))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def run(case: Any) -> None:
        # Schemathesis makes up credentials from the security schemes; the owner's key replaces
        # them so the requests get past authentication (refusals are the route matrix's tests).
        generated = case.headers or {}
        case.headers = {k: v for k, v in generated.items() if k.lower() not in CREDENTIALS}
        if (case.path_parameters or {}).get("api_key_id") == served.key_id:
            case.path_parameters["api_key_id"] = served.key_id + 1  # the fuzzer keeps its key
        answer = case.call_and_validate(
            base_url=served.url, headers=served.auth, checks=CHECKS, timeout=30
        )
        seen[answer.status_code] += 1

    run()


def test_every_operation_answers_without_server_errors_and_as_documented(served: Served) -> None:
    # One hypothesis run per operation and mode (valid input, invalid input, valid input with
    # the ids of existing rows), all of them,
    # collecting every failure for one report (schemathesis' pytest loader fails on pytest 9).
    # The app builds its schema on the first request: on a machine busy with the rest of the
    # suite that once took over schemathesis' 10 s default.
    schema = schemathesis.openapi.from_url(f"{served.url}/openapi.json", timeout=60)
    failures: list[str] = []
    seen: Counter[int] = Counter()
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in ("positive", "negative", "known"):
            try:
                _fuzz(operation, mode, served, seen)
            except Unsatisfiable:
                continue  # nothing invalid can be said to an operation that takes no input
            # Every kind of failure (schemathesis groups them) is reported, then the test fails.
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label} ({mode}): {str(exc)[:2000]}")
    print(f"{operations} operations; answers by status: {dict(sorted(seen.items()))}")
    assert operations > 50
    # The owner's key reached the services: successes and refusals of valid-looking input.
    assert seen[200] + seen[201] > operations
    assert not failures, f"{len(failures)} of {operations} operations failed:\n" + "\n\n".join(
        failures
    )


def _nested(levels: int) -> dict[str, Any]:
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    return dict(value)


# What issue 16 sent: dates at the ends of time and past them, numbers for dates, and JSON nested
# far past the limit. Each is put into every field of its kind of one request; the in-range
# extremes reach the services, the rest must be refused with a 4xx.
HOSTILE: dict[str, list[Any]] = {
    "date-time": [
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "1900-01-01T00:00:00Z",
        "2199-12-31T23:59:59Z",
        "0001-01-01T00:00:00+14:00",
        0,
    ],
    "date": ["0001-01-01", "9999-12-31", "1900-01-01", "2199-12-31", 0],
    "json": [_nested(900), _nested(9), _nested(8)],
}
HOSTILE_EXAMPLES = 2  # generated requests per operation and value: the values do the work


def _send_hostile(operation: Any, takes: Any, served: Served, seen: Counter[int]) -> list[str]:
    failures: list[str] = []
    for kind in sorted(set(takes.query.values()) | set(takes.body.values())):
        for value in HOSTILE[kind]:
            _send_one_value(operation, takes, served, kind, value, seen, failures)
    return failures


def _send_one_value(
    operation: Any,
    takes: Any,
    served: Served,
    kind: str,
    value: Any,
    seen: Counter[int],
    failures: list[str],
) -> None:
    names = {p.name for p in operation.path_parameters}
    fixed = {k: v for k, v in served.known.items() if k in names} or None

    @given(case=operation.as_strategy(path_parameters=fixed))
    @settings(
        max_examples=HOSTILE_EXAMPLES,
        deadline=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def run(case: Any) -> None:
        generated = case.headers or {}
        case.headers = {k: v for k, v in generated.items() if k.lower() not in CREDENTIALS}
        for name, its_kind in takes.query.items():
            if its_kind == kind:
                case.query = (case.query or {}) | {name: str(value)}
        if isinstance(case.body, dict):
            for path, its_kind in takes.body.items():
                if its_kind == kind:
                    put_at(case.body, path, value)
        answer = case.call(base_url=served.url, headers=served.auth, timeout=30)
        seen[answer.status_code] += 1
        if answer.status_code >= 500:
            sent = str(case.body if isinstance(case.body, dict) else case.query)[:300]
            failures.append(f"{operation.label} {answer.status_code} for {sent}")

    run()


def test_deep_json_and_extreme_dates_sent_to_every_operation_taking_them_answer_below_500(
    served: Served,
) -> None:
    # The operations and their fields come from the OpenAPI description, so a new route or a
    # new date field is covered without being named here.
    spec = httpx.get(f"{served.url}/openapi.json", timeout=30).json()
    takes_by_operation = operations_taking_dates_or_json(spec)
    schema = schemathesis.openapi.from_dict(spec)
    failures: list[str] = []
    seen: Counter[int] = Counter()
    covered = set()
    for result in schema.get_all_operations():
        operation = result.ok()
        takes = takes_by_operation.get((operation.method.upper(), operation.path))
        if takes is not None:
            covered.add((operation.method.upper(), operation.path))
            failures += _send_hostile(operation, takes, served, seen)
    print(f"{len(covered)} operations take dates or free-form JSON; answers: {dict(seen)}")
    assert covered == set(takes_by_operation)
    assert ("POST", "/api/v1/events") in covered
    assert ("GET", "/api/v1/audit-log") in covered
    assert seen[422] > 0
    assert not failures, "\n".join(failures)


def test_a_reward_patched_with_a_null_description_still_answers(client: Any, shop: Shop) -> None:
    # Found by the longer run (docs/fuzzing.md): the null was stored and every read was a 500.
    body = {
        "slug": "latte",
        "kind": "free_product",
        "sku": "LAT",
        "title": {"es": "Latte", "en": "Latte"},
    }
    made = client.post("/api/v1/rewards", json=body | {"cost": 100}, headers=shop.auth())
    assert made.status_code == 201, made.text
    path = f"/api/v1/rewards/{made.json()['id']}"
    patched = client.patch(path, json={"description": None}, headers=shop.auth())
    assert patched.status_code == 200, patched.text
    assert patched.json()["description"] == {}
    assert client.get(path, headers=shop.auth()).status_code == 200
