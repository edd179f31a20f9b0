"""Inside one business, no caller climbs above its role or reaches another person's things:
a manager cannot make or unmake an owner (by page or by key), nor change their own account,
and a wallet member cannot open or rate another member's voucher. The matrix checks who may
call a route; these check what the route lets an allowed caller do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from lealtad.tenancy.tables import staff_users as staff_table
from tests.security.world import Credential, World, build_world


@pytest.fixture(scope="module")
def world(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from build_world(sqlite_template, tmp_path_factory)


def post(world: World, cred: Credential, url: str, form: dict[str, str]) -> Any:
    world.client.cookies.clear()
    try:
        return world.client.post(
            url, data=form | {"csrf": cred.csrf}, headers=cred.headers, follow_redirects=False
        )
    finally:
        world.client.cookies.clear()


def accounts(world: World) -> list[tuple[Any, ...]]:
    with world.db.read() as conn:
        query = select(staff_table.c.id, staff_table.c.role, staff_table.c.active).where(
            staff_table.c.business_id == world.a.id
        )
        return sorted(map(tuple, conn.execute(query)))


def test_a_manager_cannot_make_change_or_disable_an_owner_nor_change_their_own_account(
    world: World,
) -> None:
    a = world.a
    manager = world.creds["manager session"]
    cashier = world.a_res.ids["staff_id"]
    attempts = {
        "add an owner": (
            "/admin/settings/staff",
            {
                "name": "Climber",
                "email": "climber@a.example",
                "role": "owner",
                "password": "long enough password",
            },
        ),
        "promote a cashier to owner": (f"/admin/settings/staff/{cashier}/role", {"role": "owner"}),
        "demote the owner": (f"/admin/settings/staff/{a.staff['owner']}/role", {"role": "staff"}),
        "disable the owner": (f"/admin/settings/staff/{a.staff['owner']}/active", {}),
        "reset the owner's two-step": (
            f"/admin/settings/staff/{a.staff['owner']}/two-step/reset",
            {},
        ),
        "promote themselves": (
            f"/admin/settings/staff/{a.staff['manager']}/role",
            {"role": "owner"},
        ),
        "disable themselves": (f"/admin/settings/staff/{a.staff['manager']}/active", {}),
    }
    before = accounts(world)
    failures = []
    for what, (url, form) in attempts.items():
        resp = post(world, manager, url, form)
        if resp.status_code != 403:
            failures.append(f"a manager could {what}? {resp.status_code} {resp.text[:150]!r}")
    resp = world.client.post(
        "/api/v1/staff",
        json={
            "email": "climber2@a.example",
            "name": "Climber",
            "role": "owner",
            "password": "long enough password",
        },
        headers=a.auth("manager"),
    )
    if resp.status_code != 403:
        failures.append(f"a manager key could add an owner? {resp.status_code} {resp.text}")
    assert not failures, "\n".join(failures)
    assert accounts(world) == before


def test_a_wallet_member_cannot_open_or_rate_another_member_s_voucher(world: World) -> None:
    member = world.creds["member session"]
    slug, other = world.a.slug, world.a_res.ids["other_member_code"]
    world.client.cookies.clear()
    seen = world.client.get(f"/w/{slug}/vouchers/{other}", headers=member.headers)
    rated = post(world, member, f"/w/{slug}/vouchers/{other}/rate", {"stars": "1"})
    own = world.client.get(f"/w/{slug}/vouchers/{world.a_res.ids['code']}", headers=member.headers)
    world.client.cookies.clear()
    assert seen.status_code == 404, seen.text[:200]
    assert rated.status_code == 404, rated.text[:200]
    assert own.status_code == 200, own.text[:200]
