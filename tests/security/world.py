"""One small world for the security sweeps: an app on its own SQLite file, two businesses with
one of each resource, and a credential of every kind a caller can hold. Built once per test
module (the sweeps send many requests; a database per test would cost more than the checks)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.params import Form
from fastapi.responses import Response
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from lealtad.analytics.api_schemas import SettingsIn
from lealtad.api import create_app
from lealtad.config import Settings
from lealtad.connectors import till_file_store
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.products import service as products
from lealtad.products.schemas import ProductIn
from lealtad.rewards.schemas import Texts
from lealtad.tenancy import service as tenancy
from lealtad.tenancy.model import Role
from lealtad.web import sessions
from lealtad.web.wallet.routes import PushSubscriptionIn
from tests.security.routes import (
    PATH_PARAM,
    SAMPLE_BODIES,
    Operation,
    Resources,
    api_operations,
    create_resources,
    minimal_body,
)
from tests.support import PASSWORD, Shop, make_shop

SECRET = "test-secret-key-that-is-long-enough-for-prod-0123456789"
NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
API = "/api/v1/"
B_ONLY = "Zebulon"
# Page routes that take a JSON body (the wallet's push subscription, sent by its script).
SAMPLE_BODIES[PushSubscriptionIn] = {
    "endpoint": "https://push.example/subscription",
    "keys": {"p256dh": "probe", "auth": "probe"},
}
SAMPLE_BODIES[SettingsIn] = {"enrolment_goal": 40}

# Valid forms for the page routes that check their fields before looking up the id in their
# address, so that what answers a caller of another business is the lookup, not a 422.
FORM_SAMPLES: dict[str, dict[str, str]] = {
    "POST /admin/settings/locations/{location_id}": {"name": "Probe", "timezone": "Europe/Madrid"},
    "POST /admin/settings/staff/{staff_id}/role": {"role": "staff"},
}


@dataclass(frozen=True)
class Credential:
    """What a caller holds. `kind`: anonymous, member, session (staff cookie), token (staff
    bearer token) or key (API key); `role` for the staff kinds."""

    name: str
    kind: str
    role: Role | None = None
    headers: dict[str, str] = field(default_factory=dict)
    csrf: str = ""


@dataclass
class World:
    client: TestClient
    settings: Settings
    db: Database
    a: Shop
    b: Shop
    a_res: Resources
    b_res: Resources
    # Business A's credentials by name, and B's staff and member sessions for the page sweeps.
    creds: dict[str, Credential]
    b_creds: dict[str, Credential]

    def values(self, shop: Shop, res: Resources) -> dict[str, Any]:
        """A value for every path parameter, naming `shop`'s own resources."""
        return res.ids | {
            "slug": shop.slug,
            "business_slug": shop.slug,
            "key_id": res.ids["api_key_id"],
            "table": "cohorts",
            "name": "coffee_shop",
            # Signed links (unsubscribe, survey) that are not valid: a public page says so.
            "value": "not-a-signed-link",
            "token": "not-a-signed-link",
        }


def fill(path: str, values: dict[str, Any]) -> str:
    return PATH_PARAM.sub(lambda m: str(values[m.group(1)]), path)


def unfillable(operations: list[Operation], values: dict[str, Any]) -> list[str]:
    return sorted(
        f"{op}: path parameter {name!r} has no value in tests/security/world.py"
        for op in operations
        for name in PATH_PARAM.findall(op.path)
        if name not in values
    )


def is_page(op: Operation) -> bool:
    return not op.path.startswith(API)


def send(world: World, op: Operation, cred: Credential, values: dict[str, Any]) -> Any:
    """One call of `op` as `cred`, with the cookie jar emptied first so that no session leaks
    from one call to the next. A signed-in caller sends its form token (as a field and as the
    header the wallet's and the dashboard's scripts use), so that what answers is the
    authorisation check, not the CSRF one."""
    client = world.client
    client.cookies.clear()
    headers = dict(cred.headers)
    if cred.csrf:
        headers["X-CSRF-Token"] = cred.csrf
    url = fill(op.path, values)
    kwargs: dict[str, Any] = {"headers": headers, "follow_redirects": False}
    if op.method in ("POST", "PUT", "PATCH", "DELETE"):
        if is_page(op) and not takes_json(op.route):
            form = FORM_SAMPLES.get(str(op), {})
            kwargs["data"] = form | ({"csrf": cred.csrf} if cred.csrf else {})
        else:
            body, _ = minimal_body(op.route)
            if body is not None:
                kwargs["json"] = body
    try:
        return client.request(op.method, url, **kwargs)
    finally:
        client.cookies.clear()


def takes_json(route: APIRoute) -> bool:
    body = route.body_field
    return body is not None and not isinstance(getattr(body, "field_info", None), Form)


def _cookie(response: Response) -> str:
    return response.headers["set-cookie"].split(";")[0]


def staff_session(settings: Settings, db: Database, shop: Shop, role: str) -> Credential:
    from lealtad.tenancy import store as tenancy_store

    response = Response()
    token = f"csrf-{role}-{shop.id}"
    with db.read() as conn:
        staff = tenancy_store.staff(conn, shop.id, shop.staff[role])
    sessions.start_staff(response, settings, staff, csrf=token)
    return Credential(
        f"{role} session", "session", Role(role), {"Cookie": _cookie(response)}, token
    )


def member_session(client: TestClient, settings: Settings, db: Database, shop: Shop) -> Credential:
    """The wallet cookie the e-mailed code gives; its form token read from the member's page."""
    from lealtad.members import store as member_store
    from tests.support import form_field

    member_id = shop.members[0]
    with db.read() as conn:
        member = member_store.member(conn, shop.id, member_id)
    response = Response()
    sessions.start_member(response, settings, shop.id, member_id, member.card_version)
    cookie = {"Cookie": _cookie(response)}
    client.cookies.clear()
    page = client.get(f"/w/{shop.slug}/me", headers=cookie)
    assert page.status_code == 200, page.text
    return Credential("member session", "member", None, cookie, form_field(page.text, "csrf"))


def staff_token(client: TestClient, shop: Shop, role: str) -> Credential:
    body = {"business": shop.slug, "email": shop.staff_emails[role], "password": PASSWORD}
    resp = client.post("/api/v1/auth/staff-token", json=body)
    assert resp.status_code == 200, resp.text
    token = resp.json()["token"]
    return Credential(f"{role} token", "token", Role(role), {"Authorization": f"Bearer {token}"})


def credentials(
    world_client: TestClient, settings: Settings, db: Database, shop: Shop
) -> dict[str, Credential]:
    creds = [Credential("anonymous", "anonymous")]
    creds.append(member_session(world_client, settings, db, shop))
    for role in Role:
        creds.append(staff_session(settings, db, shop, role.value))
    for role in Role:
        creds.append(staff_token(world_client, shop, role.value))
    for role in Role:
        creds.append(
            Credential(f"{role.value} key (one store)", "key", role, shop.auth(role.value))
        )
    # A key for every store: a key bound to a store must not be the only kind tested.
    with db.transaction() as conn:
        _, key = tenancy.create_api_key(
            conn, shop.id, name="all stores", role=Role.staff, location_id=None, now=NOW
        )
    creds.append(Credential("staff key (all stores)", "key", Role.staff, {"X-API-Key": key}))
    return {c.name: c for c in creds}


def build_world(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The body of each module's `world` fixture (a fixture of its own in each module, so that
    each module gets a fresh world and no conftest is shared with the other security tests)."""
    directory = tmp_path_factory.mktemp("security")
    shutil.copy(sqlite_template, directory / "lealtad.db")
    from tests.conftest import KEYS

    db = Database(f"sqlite:///{directory / 'lealtad.db'}", keys=KEYS)
    settings = Settings(
        env="test", secret_key=SECRET, data_dir=directory / "data", log_level="warning"
    )
    app = create_app(settings, db=db, clock=FixedClock(NOW))
    with TestClient(app) as client:
        a = make_shop(db, NOW, name="Alpha")
        b = make_shop(db, NOW, name="Bravo")
        # B first: the sample bodies made along the way then name A's reward, cause and member.
        b_res = create_resources(client, b)
        a_res = create_resources(client, a)
        # A product each: the console's product forms name one (there is no product API).
        for shop, res in ((a, a_res), (b, b_res)):
            with db.transaction() as conn:
                res.ids["product_id"] = products.add(
                    conn,
                    shop.id,
                    ProductIn(
                        sku="CAFE",
                        category="drinks",
                        title=Texts(es="Café", en="Coffee"),
                        price=150,
                    ),
                    NOW,
                )
        # A till file each with a rejected row, so that its rejects can be asked for (written
        # as the log keeps it: an import here would add an audit entry by no API key).
        for shop, res in ((a, a_res), (b, b_res)):
            with db.transaction() as conn:
                res.ids["file_id"] = till_file_store.insert_file(
                    conn,
                    business_id=shop.id,
                    source="upload",
                    file_name="till.csv",
                    received_at=NOW.replace(tzinfo=None),
                    actor="security probe",
                    outcome="with_rejects",
                    rejects="line,reason,receipt_id,amount\n3,amount: not a number,SEC-2,x\n",
                    rejects_cut=False,
                )
        # The wallet member's own voucher, so that the wallet's voucher forms find it.
        member = a.members[0]
        resp = client.post(
            f"/api/v1/members/{member}/adjustments",
            json={"amount": 100, "reason": "security probe"},
            headers=a.auth("owner"),
        )
        assert resp.status_code == 201, resp.text
        resp = client.post(
            f"/api/v1/members/{member}/redemptions",
            json={"reward_id": a_res.ids["reward_id"]},
            headers=a.auth("owner"),
        )
        assert resp.status_code == 201, resp.text
        a_res.ids["other_member_code"] = a_res.ids["code"]
        a_res.ids["code"] = resp.json()["code"]
        creds = credentials(client, settings, db, a)
        b_creds = {
            "owner session": staff_session(settings, db, b, "owner"),
            "staff session": staff_session(settings, db, b, "staff"),
            "member session": member_session(client, settings, db, b),
        }
        # Words only B's data holds, which no page of A may show.
        resp = client.post(
            "/api/v1/members",
            json={"name": f"{B_ONLY} Marsh", "email": "zebulon@bravo.example"},
            headers=b.auth("owner"),
        )
        assert resp.status_code == 201, resp.text
        yield World(client, settings, db, a, b, a_res, b_res, creds, b_creds)
    db.dispose()


def operations(world: World) -> list[Operation]:
    return api_operations(world.client.app)  # type: ignore[arg-type]
