"""Login CSRF: the forms that start a session refuse a post from another site's page (the
browser's Sec-Fetch-Site: cross-site), and start none; from the site itself they work. See
lealtad/web/same_site.py for why the form token cannot cover them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.route_roles import LOGIN, PUBLIC, ROUTES
from tests.security.world import World, build_world, fill, operations
from tests.support import PASSWORD

# The forms with no session before them that end with one, and the forms of that kind that
# need no guard, with why. A new public form must be put in one of the two.
SESSION_STARTERS = {"POST /admin/login", "POST /w/{slug}/login/code"}
NO_SESSION_STARTED = {
    "POST /join/{slug}": "sends a code to the address typed (D48); still refused cross-site, "
    "so that no other site can make its visitors' browsers send sign-ups",
    "POST /api/v1/auth/staff-token": "JSON: a form on another site cannot send it",
    "POST /api/v1/public/{business_slug}/members": "JSON, and it starts no session",
    "POST /w/{slug}/login": "sends a code to the address typed; no session until it is used",
    "POST /w/{slug}/logout": "ends a session; with one, it needs the form token",
    "POST /admin/login/code": "needs the pending sign-in's own token (after the password)",
    "POST /admin/login/setup": "needs the pending sign-in's own token (after the password)",
    "POST /admin/account/password": "needs a console session and its form token",
    "POST /api/v1/auth/password": "JSON with a staff token: a form on another site cannot send it",
    "POST /u/{value}": "a signed one-click unsubscribe link; it starts no session",
    "POST /s/{token}": "a signed survey link; it starts no session",
    "POST /hooks/{vendor_name}/{slug}": "a vendor's signed webhook; it starts no session",
    "POST /passes/apple/v1/devices/{device}/registrations/{pass_type}/{serial}": "Apple's pass "
    "web service: the pass's own token (Authorization: ApplePass), no cookie; no session",
    "DELETE /passes/apple/v1/devices/{device}/registrations/{pass_type}/{serial}": "Apple's pass "
    "web service: the pass's own token, no cookie; it starts no session",
    "POST /passes/apple/v1/log": "devices report problems to the server's log; no session",
}
CROSS_SITE = {"Sec-Fetch-Site": "cross-site"}


@pytest.fixture(scope="module")
def world(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from build_world(sqlite_template, tmp_path_factory)


def forms(world: World) -> dict[str, dict[str, str]]:
    """A form for each session starter that would open a session (or come close: the wallet's
    code is e-mailed, so a wrong one shows that the guard let the post through), and the
    sign-up, which is guarded the same way."""
    a = world.a
    return {
        "POST /admin/login": {
            "business": a.slug,
            "email": a.staff_emails["manager"],
            "password": PASSWORD,
        },
        "POST /w/{slug}/login/code": {"email": "m0@nowhere.example", "code": "000000"},
        "POST /join/{slug}": {
            "name": "Joined Cross Site",
            "email": "joined@a.example",
            "accept_terms": "true",
            "consent": "true",
        },
    }


def test_every_public_form_is_either_guarded_or_starts_no_session(world: World) -> None:
    public_forms = {
        str(op)
        for op in operations(world)
        if op.method != "GET" and ROUTES.get(str(op)) in (PUBLIC, LOGIN)
    }
    unsorted = public_forms - SESSION_STARTERS - set(NO_SESSION_STARTED)
    assert not unsorted, f"say whether these start a session: {sorted(unsorted)}"


def test_a_session_starting_form_posted_from_another_site_is_refused_and_starts_nothing(
    world: World,
) -> None:
    by_name = {str(op): op for op in operations(world)}
    values = world.values(world.a, world.a_res)
    problems = []
    for route, form in forms(world).items():
        url = fill(by_name[route].path, values)
        world.client.cookies.clear()
        resp = world.client.post(url, data=form, headers=CROSS_SITE, follow_redirects=False)
        if resp.status_code != 403 or "set-cookie" in resp.headers:
            problems.append(f"{route} from another site: {resp.status_code} {resp.headers}")
        for site in ("same-origin", None):
            world.client.cookies.clear()
            headers = {"Sec-Fetch-Site": site} if site else {}
            resp = world.client.post(url, data=form, headers=headers, follow_redirects=False)
            if resp.status_code == 403:
                problems.append(f"{route} from {site or 'an old browser'}: refused")
    world.client.cookies.clear()
    assert not problems, "\n".join(problems)


def test_staff_sign_in_from_the_site_itself_starts_its_session_and_sign_up_sends_a_code(
    world: World,
) -> None:
    form = forms(world)
    world.client.cookies.clear()
    resp = world.client.post(
        "/admin/login",
        data=form["POST /admin/login"],
        headers={"Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    assert "lealtad_staff=" in resp.headers["set-cookie"]
    world.client.cookies.clear()
    join = form["POST /join/{slug}"] | {"email": "second@a.example"}
    resp = world.client.post(f"/join/{world.a.slug}", data=join, follow_redirects=False)
    assert resp.status_code == 200, resp.text
    assert f'action="/w/{world.a.slug}/login/code"' in resp.text, "the code page"
    assert "lealtad_member=" not in resp.headers.get("set-cookie", ""), resp.headers
    world.client.cookies.clear()


def test_a_form_from_another_origin_is_refused_even_when_the_browser_sends_no_sec_fetch_site(
    world: World,
) -> None:
    by_name = {str(op): op for op in operations(world)}
    values = world.values(world.a, world.a_res)
    problems = []
    for route, form in forms(world).items():
        url = fill(by_name[route].path, values)
        for origin in ("https://evil.example", "null", "http://testserver.evil.example"):
            world.client.cookies.clear()
            resp = world.client.post(
                url, data=form, headers={"Origin": origin}, follow_redirects=False
            )
            if resp.status_code != 403 or "set-cookie" in resp.headers:
                problems.append(f"{route} with Origin {origin}: {resp.status_code}")
        world.client.cookies.clear()
        resp = world.client.post(
            url, data=form, headers={"Origin": "http://testserver"}, follow_redirects=False
        )
        if resp.status_code == 403:
            problems.append(f"{route} from its own origin: refused")
    world.client.cookies.clear()
    assert not problems, "\n".join(problems)
