"""Tenant isolation of ids that travel in a page's query or form rather than its address
(filters, the counter's search box and voucher field, the sign-up link's store and referral
code): business A naming B's gets a refusal or a 'not found', never B's data or a change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.security.test_tenant_pages import b_rows, leaked
from tests.security.world import Credential, World, build_world


@pytest.fixture(scope="module")
def world(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from build_world(sqlite_template, tmp_path_factory)


def call(world: World, cred: Credential, method: str, url: str, **kwargs: Any) -> Any:
    world.client.cookies.clear()
    if "data" in kwargs and cred.csrf:
        kwargs["data"] = kwargs["data"] | {"csrf": cred.csrf}
    try:
        return world.client.request(
            method, url, headers=cred.headers, follow_redirects=False, **kwargs
        )
    finally:
        world.client.cookies.clear()


def test_ids_of_business_b_in_queries_and_forms_get_business_a_nothing(world: World) -> None:
    b = world.b_res.ids
    card = world.b_res.member["card_number"]
    referral = world.client.get(
        f"/api/v1/members/{b['member_id']}/referral", headers=world.b.auth("owner")
    ).json()["code"]
    key = {"key": "tenant-probe-form-key-1"}
    join = {"name": "Cross", "accept_terms": "true", "consent": "true"}
    owner, staff = world.creds["owner session"], world.creds["staff session"]
    anonymous, api = world.creds["anonymous"], world.creds["manager key (one store)"]
    a = world.a
    probes: list[tuple[Credential, str, str, dict[str, Any]]] = [
        (owner, "GET", f"/admin/analytics?location={b['location_id']}", {}),
        (owner, "GET", f"/admin/analytics?staff={b['staff_id']}", {}),
        (owner, "GET", f"/admin/analytics/cohorts.csv?location={b['location_id']}", {}),
        (api, "GET", f"/api/v1/analytics/dashboard?location_id={b['location_id']}", {}),
        (api, "GET", f"/api/v1/analytics/staff?staff_id={b['staff_id']}", {}),
        (
            owner,
            "POST",
            "/admin/settings/staff",
            {
                "data": {
                    "name": "Cross",
                    "email": "cross@a.example",
                    "role": "staff",
                    "password": "long enough password",
                    "location": str(b["location_id"]),
                }
            },
        ),
        (
            owner,
            "POST",
            "/admin/settings/api-keys",
            {"data": {"name": "cross", "role": "staff", "location": str(b["location_id"])}},
        ),
        (
            staff,
            "POST",
            f"/counter/members/{a.members[0]}/redemptions",
            {"data": {"reward_id": str(b["reward_id"]), "confirmed": "yes"} | key},
        ),
        (staff, "POST", "/counter/vouchers/validate", {"data": {"code": b["code"]}}),
        (staff, "POST", "/counter/find", {"data": {"q": card}}),
        (
            anonymous,
            "POST",
            f"/join/{a.slug}",
            {"data": {"email": "x1@a.example", "loc": str(b["location_id"])} | join},
        ),
        (
            anonymous,
            "POST",
            f"/join/{a.slug}",
            {"data": {"email": "x2@a.example", "ref": referral} | join},
        ),
    ]
    before = b_rows(world)
    failures = []
    for cred, method, url, kwargs in probes:
        resp = call(world, cred, method, url, **kwargs)
        what = f"{method} {url} {kwargs.get('data', '')} as A's {cred.name}"
        if resp.status_code not in (403, 404):
            failures.append(f"{what}: {resp.status_code} {resp.text[:150]!r}")
        elif words := leaked(world, resp.text):
            failures.append(f"{what}: shows B's {words}")
    # The member list's store filter lists A's members enrolled there: none, not B's.
    for url in ("/admin/members", "/admin/members.csv"):
        resp = call(world, owner, "GET", f"{url}?location={b['location_id']}")
        rows = [line for line in resp.text.splitlines()[1:] if line.strip()]
        if resp.status_code >= 500 or leaked(world, resp.text) or (url.endswith(".csv") and rows):
            failures.append(f"{url} filtered by B's store: {resp.status_code} {rows[:2]}")
    assert not failures, "\n".join(failures)
    assert b_rows(world) == before, "a request of business A changed a row of business B"
