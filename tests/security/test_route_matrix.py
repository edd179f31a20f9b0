"""The route x role matrix: every route of the application, called by every kind of caller
(anonymous, a wallet member, staff, manager and owner by console session, by staff token and
by API key), answers as tests/security/route_roles.py says. Generated from the route table, so
a route added later without a line in that table fails here, named."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lealtad.tenancy.model import Role
from tests.security.route_roles import (
    LOGIN,
    MEMBER,
    PUBLIC,
    ROUTES,
    SESSION_API,
    SIGNED,
)
from tests.security.world import (
    Credential,
    World,
    build_world,
    credentials,
    is_page,
    operations,
    send,
    unfillable,
)

WALLET_LOGIN = re.compile(r"^/w/[^/]+/login$")


@pytest.fixture(scope="module")
def world(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from build_world(sqlite_template, tmp_path_factory)


def allowed(level: str, page: bool, path: str, cred: Credential) -> bool:
    """What the table says for this caller."""
    if level in (PUBLIC, LOGIN):
        return True
    if level == SIGNED:
        return False
    if level == MEMBER:
        return cred.kind == "member"
    if cred.role is None or not cred.role.allows(Role(level)):
        return False
    if page:
        return cred.kind == "session"
    return cred.kind in ("key", "token") or (
        cred.kind == "session" and path.startswith(SESSION_API)
    )


def refused(resp: Any) -> bool:
    """A refusal: 401 or 403, or the redirect to a login page that the console (with ?next=)
    and the wallet give instead of a page."""
    if resp.status_code in (401, 403):
        return True
    location = resp.headers.get("location", "") if resp.is_redirect else ""
    return location.startswith("/admin/login?next=") or bool(WALLET_LOGIN.match(location))


def problem(level: str, may: bool, resp: Any) -> str | None:
    status = resp.status_code
    if status >= 500:
        return "a server error"
    if level == LOGIN:
        return "got past a login step without its secret" if 200 <= status < 300 else None
    if level == PUBLIC:
        # A public route may send a visitor to a login page (the wallet's logout does).
        return "refused a public route" if status in (401, 403) else None
    if may and refused(resp):
        return "refused, but the table allows it"
    if not may and not refused(resp):
        return "not refused, but the table denies it"
    return None


def test_every_route_of_the_application_has_a_line_in_the_role_table(world: World) -> None:
    served = {str(op) for op in operations(world)}
    missing = sorted(served - set(ROUTES))
    stale = sorted(set(ROUTES) - served)
    assert not missing, (
        "routes with no line in tests/security/route_roles.py (say who may call them):\n"
        + "\n".join(missing)
    )
    assert not stale, "lines of route_roles.py for routes that no longer exist:\n" + "\n".join(
        stale
    )


def test_every_route_answers_every_kind_of_caller_as_the_role_table_says(world: World) -> None:
    ops = [op for op in operations(world) if str(op) in ROUTES]
    values = world.values(world.a, world.a_res)
    assert not unfillable(ops, values), "\n".join(unfillable(ops, values))
    # Calls that end a session or take something away go last, so they cannot spoil the rest;
    # logouts after every caller's other calls, as one ends the person's tokens too.
    ops.sort(key=lambda op: any(w in op.path for w in ("logout", "delete", "revoke", "active")))
    logouts = [op for op in ops if "logout" in op.path]
    failures = []
    cells = 0
    calls = [
        (cred, op)
        for phase in ([op for op in ops if op not in logouts], logouts)
        for cred in world.creds.values()
        for op in phase
    ]
    for cred, op in calls:
        level = ROUTES[str(op)]
        may = allowed(level, is_page(op), op.path, cred)
        resp = send(world, op, cred, values)
        cells += 1
        if found := problem(level, may, resp):
            failures.append(
                f"{op} as {cred.name} (table: {level}): {found}; got {resp.status_code} "
                f"{resp.headers.get('location', '')}{resp.text[:120]!r}"
            )
    assert cells == len(ops) * len(world.creds)
    # The logouts ended the sessions and tokens the other tests of this module use.
    world.creds = credentials(world.client, world.settings, world.db, world.a)
    assert not failures, f"{len(failures)} of {cells} cells disagree:\n" + "\n".join(failures)


def test_the_matrix_is_not_vacuous_each_level_is_allowed_and_refused_somewhere(
    world: World,
) -> None:
    """A broken credential (an expired token, a cookie the app cannot read) would make every
    call a refusal, and the denied half of the matrix pass for the wrong reason."""
    values = world.values(world.a, world.a_res)
    probes = {
        "GET /api/v1/business": "staff key (one store)",
        "GET /api/v1/staff": "manager token",
        "GET /api/v1/api-keys": "owner key (one store)",
        # (Staff list members only with a search term, which the sweep does not send.)
        "GET /api/v1/rewards": "staff key (all stores)",
        "GET /api/v1/analytics/dashboard": "manager session",
        "GET /counter": "staff session",
        "GET /admin": "manager session",
        "GET /admin/settings/api-keys": "owner session",
        "GET /w/{slug}/me": "member session",
    }
    by_name = {str(op): op for op in operations(world)}
    wrong = []
    for route, who in probes.items():
        resp = send(world, by_name[route], world.creds[who], values)
        if resp.status_code != 200:
            wrong.append(f"{route} as {who}: {resp.status_code}")
    assert not wrong, "\n".join(wrong)
