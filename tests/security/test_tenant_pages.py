"""Tenant isolation of the pages (the JSON API has its own sweep in
tests/api/test_tenant_isolation.py): a console session or a wallet member of business A, given
an id of business B in any page's address, is refused or told it does not exist, changes
nothing of B's, and no page A is shown holds B's data. Generated from the route table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from lealtad.db.metadata import metadata
from lealtad.tenancy import store as tenancy_store
from tests.security.route_roles import LOGIN, PUBLIC, ROUTES
from tests.security.routes import PATH_PARAM
from tests.security.test_route_matrix import refused
from tests.security.world import (
    B_ONLY,
    World,
    build_world,
    is_page,
    operations,
    send,
    unfillable,
)

A_CALLERS = ("owner session", "manager session", "staff session", "member session")
# Path parameters that name nothing of a business's own (a CSV table's name).
NEUTRAL = {"table", "name"}


@pytest.fixture(scope="module")
def world(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from build_world(sqlite_template, tmp_path_factory)


def b_rows(world: World) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of business B, table by table."""
    rows = {}
    with world.db.read() as conn:
        for table in metadata.sorted_tables:
            if "business_id" in table.c:
                query = select(table).where(table.c.business_id == world.b.id)
                rows[table.name] = sorted(map(tuple, conn.execute(query)), key=repr)
    return rows


def probes(world: World) -> list[tuple[Any, dict[str, Any]]]:
    """(page operation, path values) pairs that name something of B's: B's ids in A's console
    and A's wallet, and B's wallet itself."""
    a_values = world.values(world.a, world.a_res)
    b_values = world.values(world.b, world.b_res)
    found = []
    for op in operations(world):
        names = set(PATH_PARAM.findall(op.path)) - NEUTRAL
        if not is_page(op) or not names or ROUTES.get(str(op)) in (PUBLIC, LOGIN):
            continue
        if names - {"slug"}:
            found.append((op, b_values | {"slug": a_values["slug"]}))
        if "slug" in names:
            found.append((op, b_values))
    return found


def leaked(world: World, text: str) -> list[str]:
    with world.db.read() as conn:
        business = tenancy_store.business(conn, world.b.id)
    return [word for word in (B_ONLY, business.name) if word in text]


def test_every_page_naming_an_id_of_business_b_refuses_a_session_of_business_a(
    world: World,
) -> None:
    found = probes(world)
    assert len(found) > 20, "the sweep found too few pages with an id to try"
    b_values = world.values(world.b, world.b_res)
    assert not unfillable([op for op, _ in found], b_values)
    before = b_rows(world)
    failures = []
    for name in A_CALLERS:
        cred = world.creds[name]
        for op, values in found:
            resp = send(world, op, cred, values)
            status = resp.status_code
            # Refused, or told there is no such thing: a 409 or 422 would mean that B's
            # resource was found (or that a field check hid the lookup: add a FORM_SAMPLE).
            if status not in (401, 403, 404) and not refused(resp):
                where = resp.headers.get("location", "") or resp.text[:120]
                failures.append(f"{op} as A's {name} with B's ids: {status} {where!r}")
            elif words := leaked(world, resp.text):
                failures.append(f"{op} as A's {name}: the answer shows B's {words}")
    assert not failures, "business A reached business B:\n" + "\n".join(failures)
    assert b_rows(world) == before, "a request of business A changed a row of business B"


def test_the_pages_business_b_itself_opens_with_those_ids_are_there(world: World) -> None:
    """The control: the refusals above are about the tenant, not broken routes or ids."""
    b_values = world.values(world.b, world.b_res)
    missing = []
    for op, _ in probes(world):
        if op.method != "GET" or not op.path.startswith(("/admin", "/counter")):
            continue
        resp = send(world, op, world.b_creds["owner session"], b_values)
        if resp.status_code == 404 or refused(resp) or resp.status_code >= 500:
            missing.append(f"{op} as B's owner: {resp.status_code}")
    assert not missing, "\n".join(missing)


def test_no_page_shown_to_business_a_holds_business_b_s_data(world: World) -> None:
    """Lists, searches, dashboards and exports too: every GET page, with A's own ids."""
    a_values = world.values(world.a, world.a_res)
    pages = [op for op in operations(world) if is_page(op) and op.method == "GET"]
    shown = 0
    failures = []
    for name in A_CALLERS:
        for op in pages:
            resp = send(world, op, world.creds[name], a_values)
            shown += resp.status_code == 200
            if words := leaked(world, resp.text):
                failures.append(f"{op} as A's {name}: shows B's {words}")
    assert shown > 50, f"only {shown} pages opened: the sessions may be broken"
    assert not failures, "\n".join(failures)
    # The marker is really on B's own list, so its absence above means something.
    resp = send(
        world,
        next(op for op in pages if op.path == "/admin/members"),
        world.b_creds["owner session"],
        world.values(world.b, world.b_res),
    )
    assert B_ONLY in resp.text
