"""CSRF on every form. A page on another site can make a signed-in browser send a form to
Lealtad with the session cookie, but it cannot read the session's form token. So every route
that changes something and is reached with a session cookie must refuse a request without the
token, or with a wrong one, and change nothing. Generated from the route table; the templates
are scanned too (test_csrf_templates.py), so that every form really sends the token.

The session cookies are also SameSite=Lax, which keeps them off cross-site POSTs in current
browsers; the token is the defence that does not depend on the browser (older ones, and pages
on a sibling subdomain, which count as the same site)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from lealtad.db.metadata import metadata
from tests.security.route_roles import LOGIN, MEMBER, PUBLIC, ROUTES, SESSION_API
from tests.security.routes import Operation, minimal_body
from tests.security.world import (
    FORM_SAMPLES,
    Credential,
    World,
    build_world,
    fill,
    is_page,
    operations,
    takes_json,
)

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
# Public forms that check the token when a session is there (logging out is a change too).
SESSION_OPTIONAL = {"POST /w/{slug}/logout"}

# Forms with every field a person would fill in, so that without the CSRF check they would
# change something: the sweep's refusals are then the token's doing.
REAL_FORMS: dict[str, dict[str, str]] = {
    "POST /admin/members/{member_id}/tags": {"tag": "csrf-probe", "action": "add"},
    "POST /admin/members/{member_id}/contact": {"email": "forged-contact@a.example"},
    "POST /admin/members/{member_id}/adjustments": {"amount": "5", "reason": "csrf probe"},
    "POST /counter/members": {
        "name": "Forged Member",
        "contact": "forged@a.example",
        "accept_terms": "true",
        "key": "csrf-probe-form-key",
    },
    "POST /w/{slug}/preferences": {"email": "true", "push": "true"},
    "POST /admin/settings/locations": {"name": "Forged store", "timezone": "Europe/Madrid"},
    "POST /admin/rewards/{reward_id}/active": {"active": "false"},
    "POST /admin/campaigns/new": {
        "name": "Forged campaign",
        "subject_es": "Hola",
        "subject_en": "Hello",
        "body_es": "Hola",
        "body_en": "Hello",
        "channel": "all",
        "when": "now",
    },
    "POST /admin/surveys/new": {
        "name": "Forged survey",
        "title_es": "Hola",
        "title_en": "Hello",
        "q1_kind": "text",
        "q1_text_es": "¿Qué tal?",
        "q1_text_en": "How was it?",
        "start": "open",
    },
    "POST /admin/surveys/{survey_id}/status": {"status": "closed", "in_wallet": "1"},
    "POST /admin/surveys/{survey_id}/edit": {
        "name": "Forged edit",
        "title_es": "Hola",
        "title_en": "Hello",
        "q1_kind": "text",
        "q1_text_es": "¿Qué tal?",
        "q1_text_en": "How was it?",
    },
    "POST /admin/products": {"sku": "FORGED-1", "name_es": "Falso", "price": "1,00"},
    "POST /admin/products/{product_id}": {"sku": "FORGED-2", "name_es": "Falso", "price": "1,00"},
}


@pytest.fixture(scope="module")
def world(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from build_world(sqlite_template, tmp_path_factory)


def everything(world: World) -> dict[str, list[str]]:
    """Every row of every table, to tell whether a request changed anything at all."""
    with world.db.read() as conn:
        return {
            table.name: sorted(repr(tuple(row)) for row in conn.execute(select(table)))
            for table in metadata.sorted_tables
        }


def form_routes(world: World) -> list[Operation]:
    """Routes that change something and are reached with a session cookie: the pages' forms,
    and the JSON routes the console's scripts call with the manager's session."""
    return [
        op
        for op in operations(world)
        if op.method in UNSAFE
        and (str(op) in SESSION_OPTIONAL or ROUTES.get(str(op)) not in (PUBLIC, LOGIN))
        and (is_page(op) or op.path.startswith(SESSION_API))
    ]


def signed_in(world: World, op: Operation) -> Credential:
    """Someone allowed to call `op`: the member on wallet forms, the owner on the console's."""
    if ROUTES[str(op)] == MEMBER or op.path.startswith("/w/"):
        return world.creds["member session"]
    return world.creds["owner session"]


def post(world: World, op: Operation, cred: Credential, token: str | None) -> Any:
    """`op` as `cred`, with a full form, sending `token` (None: no token at all)."""
    client = world.client
    client.cookies.clear()
    headers = dict(cred.headers)
    url = fill(op.path, world.values(world.a, world.a_res))
    kwargs: dict[str, Any] = {"headers": headers, "follow_redirects": False}
    if is_page(op) and not takes_json(op.route):
        form = FORM_SAMPLES.get(str(op), {}) | REAL_FORMS.get(str(op), {})
        kwargs["data"] = form if token is None else form | {"csrf": token}
    else:
        body, _ = minimal_body(op.route)
        kwargs["json"] = body
        if token is not None:
            headers["X-CSRF-Token"] = token
    try:
        return client.request(op.method, url, **kwargs)
    finally:
        client.cookies.clear()


def test_every_form_refuses_a_signed_in_caller_without_the_session_s_form_token(
    world: World,
) -> None:
    routes = form_routes(world)
    assert len(routes) > 40, f"only {len(routes)} form routes found"
    failures = []
    for op in routes:
        cred = signed_in(world, op)
        for token, what in ((None, "no token"), ("forged-token", "a wrong token")):
            before = everything(world)
            resp = post(world, op, cred, token)
            if resp.status_code != 403:
                where = resp.headers.get("location", "") or resp.text[:150]
                failures.append(f"{op} with {what}: {resp.status_code} {where!r}")
            if everything(world) != before:
                failures.append(f"{op} with {what}: the database changed")
    assert not failures, "forms that do not need their CSRF token:\n" + "\n".join(failures)


def test_the_same_forms_with_the_right_token_do_change_something(world: World) -> None:
    """The control: the 403s above come from the token check, not from forms that cannot
    work at all."""
    by_name = {str(op): op for op in operations(world)}
    unchanged = []
    for route in REAL_FORMS:
        op = by_name[route]
        cred = signed_in(world, op)
        before = everything(world)
        resp = post(world, op, cred, cred.csrf)
        if resp.status_code >= 400 or everything(world) == before:
            unchanged.append(f"{route}: {resp.status_code} {resp.text[:200]!r}")
    assert not unchanged, "\n".join(unchanged)
