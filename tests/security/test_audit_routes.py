"""Every mutating route (POST/PUT/PATCH/DELETE under /api/v1, POST under /admin and /counter)
either writes an audit entry, named in tests/security/audit_routes.py, or is excluded there
with its reason. Generated from the route table: a new mutating route in neither table fails.
Each audited route is then called by the owner (console session for pages, API key for the
API) with the sweep's sample input; when that call changes something, the entry must be there,
with who, what, the address and the way in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from lealtad.tenancy.tables import audit_log
from tests.security.audit_routes import AUDITED, EXCLUDED
from tests.security.routes import Operation
from tests.security.world import World, build_world, fill, is_page, operations, send

MUTATING = ("POST", "PUT", "PATCH", "DELETE")
# Audited routes whose sample call must succeed, so the sweep proves their entry is written
# (the others need a fuller form than the sweep's; their entry is proved where the world is
# built, below, or by their own tests).
MUST_WRITE = {
    "DELETE /api/v1/api-keys/{api_key_id}",
    "PATCH /api/v1/members/{member_id}",
    "POST /api/v1/members/{member_id}/card/reissue",
    "POST /api/v1/members/{member_id}/adjustments",
    "PATCH /api/v1/rewards/{reward_id}",
    "POST /api/v1/vouchers/{code}/cancel",
    "PATCH /api/v1/ratings/{rating_id}",
    "PATCH /api/v1/causes/{cause_id}",
    "PATCH /api/v1/surveys/{survey_id}",
    "PUT /api/v1/members/{member_id}/tier-floor",
    "PUT /api/v1/analytics/settings",
    "PATCH /api/v1/experiments/{experiment_id}",
    "POST /api/v1/experiments/{experiment_id}/start",
    "POST /api/v1/experiments/{experiment_id}/stop",
    "PATCH /api/v1/webhooks/{webhook_endpoint_id}",
    "POST /api/v1/webhooks/{webhook_endpoint_id}/test",
    "POST /api/v1/campaigns/{campaign_id}/cancel",
    "POST /admin/rewards/{reward_id}/active",
    "POST /admin/rewards/{reward_id}/ratings/{rating_id}",
    "POST /admin/settings/locations/{location_id}",
    "POST /admin/settings/staff/{staff_id}/active",
    "POST /admin/settings/api-keys",
}
# Written while the world is built, through the API with each business's owner key.
BUILT_WITH_THE_WORLD = {
    "location.create",
    "staff.create",
    "api_key.create",
    "program.change",
    "challenge.create",
    "cause.create",
    "campaign.create",
    "reward.create",
    "webhook.create",
    "survey.create",
    "experiment.create",
}


# Bodies that change something, for the updates whose sample body ({}) changes nothing.
CHANGE_BODIES: dict[str, dict[str, Any]] = {
    "PATCH /api/v1/rewards/{reward_id}": {"cost": 12},
    "PATCH /api/v1/causes/{cause_id}": {"active": False},
    "PATCH /api/v1/surveys/{survey_id}": {"name": "Renamed by the audit sweep"},
    "PATCH /api/v1/experiments/{experiment_id}": {"name": "Renamed by the audit sweep"},
    "PATCH /api/v1/webhooks/{webhook_endpoint_id}": {"url": "http://127.0.0.1:9/moved"},
}

# Console forms that change something, for the pages whose empty form is refused.
PAGE_FORMS: dict[str, dict[str, str]] = {
    "POST /admin/settings": {"name": "Alpha renamed", "locale": "en", "timezone": "Europe/Madrid"},
    "POST /admin/settings/locations": {"name": "Audit annex", "timezone": "Europe/Madrid"},
    "POST /admin/settings/staff": {
        "name": "Audited",
        "email": "audited@alpha.example",
        "role": "staff",
        "password": "long enough password",
    },
    "POST /admin/members/{member_id}/tags": {"tag": "vip", "action": "add"},
    "POST /admin/members/{member_id}/adjustments": {
        "unit": "points",
        "amount": "5",
        "reason": "audit sweep",
        "key": "audit-sweep-1",
    },
    "POST /admin/members/{member_id}/card/reissue": {"confirm": "true"},
    "POST /admin/reports": {"daily": "boss@alpha.example"},
    "POST /admin/products": {"sku": "AUDIT-1", "name_es": "Auditoría", "price": "1,00"},
    "POST /admin/products/{product_id}": {
        "sku": "AUDIT-2",
        "name_es": "Renombrado",
        "price": "2,00",
        "active": "true",
    },
}
MUST_WRITE |= set(PAGE_FORMS)


@pytest.fixture(scope="module")
def world(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from build_world(sqlite_template, tmp_path_factory)


def mutating(world: World) -> list[Operation]:
    return [
        op
        for op in operations(world)
        if op.method in MUTATING
        and (op.path.startswith("/api/v1/") or op.path.startswith(("/admin", "/counter")))
    ]


def test_every_mutating_route_is_audited_or_excluded_with_a_reason(world: World) -> None:
    names = {str(op) for op in mutating(world)}
    missing = sorted(names - AUDITED.keys() - EXCLUDED.keys())
    assert not missing, f"say in tests/security/audit_routes.py what these write: {missing}"
    both = sorted(AUDITED.keys() & EXCLUDED.keys())
    assert not both, f"in both tables: {both}"
    stale = sorted((AUDITED.keys() | EXCLUDED.keys()) - names)
    assert not stale, f"no longer routes: {stale}"
    assert all(reason.strip() for reason in EXCLUDED.values())


def _entries_after(world: World, last: int) -> list[Any]:
    with world.db.read() as conn:
        return list(conn.execute(select(audit_log).where(audit_log.c.id > last)))


def test_what_the_world_was_built_with_is_in_the_log_with_who_and_where(world: World) -> None:
    with world.db.read() as conn:
        rows = list(conn.execute(select(audit_log).where(audit_log.c.business_id == world.a.id)))
    actions = {row.action for row in rows}
    assert actions >= BUILT_WITH_THE_WORLD, BUILT_WITH_THE_WORLD - actions
    for row in rows:
        assert row.actor.startswith("api_key:")
        assert (row.channel, row.ip) == ("api", "testclient")
        assert row.request_id


def test_a_call_by_the_owner_writes_its_entry_with_actor_address_and_changes(world: World) -> None:
    values = world.values(world.a, world.a_res)
    problems: list[str] = []
    written: set[str] = set()
    for op in mutating(world):
        name = str(op)
        if name not in AUDITED:
            continue
        page = is_page(op)
        cred = world.creds["owner session" if page else "owner key (one store)"]
        with world.db.read() as conn:
            last = conn.execute(select(func.max(audit_log.c.id))).scalar() or 0
        if name in CHANGE_BODIES:
            world.client.cookies.clear()
            url = fill(op.path, values)
            body = CHANGE_BODIES[name]
            resp = world.client.request(op.method, url, json=body, headers=cred.headers)
        elif name in PAGE_FORMS:
            world.client.cookies.clear()
            resp = world.client.request(
                op.method,
                fill(op.path, values),
                data=PAGE_FORMS[name] | {"csrf": cred.csrf},
                headers=cred.headers,
                follow_redirects=False,
            )
        else:
            resp = send(world, op, cred, values)
        entries = [e for e in _entries_after(world, last) if e.action == AUDITED[name]]
        if resp.status_code >= 400:
            if name in MUST_WRITE:
                problems.append(f"{name}: the sample call failed with {resp.status_code}")
            continue
        if not entries:
            if name in MUST_WRITE:
                problems.append(f"{name}: {resp.status_code} but no {AUDITED[name]} entry")
            continue
        written.add(name)
        entry = entries[-1]
        want_channel = "admin" if page else "api"
        want_actor = f"staff:{world.a.staff['owner']}" if page else None
        if entry.business_id != world.a.id or entry.channel != want_channel:
            problems.append(f"{name}: written for {entry.business_id} by {entry.channel}")
        if want_actor and entry.actor != want_actor:
            problems.append(f"{name}: actor {entry.actor}, not {want_actor}")
        if not page and not entry.actor.startswith("api_key:"):
            problems.append(f"{name}: actor {entry.actor} is not the key")
        if entry.ip != "testclient" or not entry.request_id:
            problems.append(f"{name}: no address or request id")
        if entry.action.endswith((".update", ".cancel")) and not any(
            isinstance(value, dict) and {"before", "after"} <= set(value)
            for value in entry.details.values()
        ):
            problems.append(f"{name}: no before and after in {entry.details}")
    assert not problems, "\n".join(problems)
    assert written >= MUST_WRITE, MUST_WRITE - written
