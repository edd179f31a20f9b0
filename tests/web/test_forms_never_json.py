"""Every form of the console, the counter and the wallet, posted as the person it is for with
over-long, empty and out-of-range values, answers a page with a readable message: never JSON,
never a server error. And every field a page draws carries the limit its route enforces and is
named by the label the error pages use. The forms are found from the route table and the
pages' own HTML, so a form added later is swept without touching this file."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lealtad.web import form_labels
from lealtad.web.i18n import translator
from tests.security.routes import PATH_PARAM, Operation, api_operations
from tests.security.world import World, build_world, fill, is_page, unfillable
from tests.web.forms import (
    DrawnForm,
    caller,
    declared_fields,
    fetch,
    form_operations,
    read_forms,
    route_pattern,
)

# Forms no page draws until a step before them is taken (a password accepted, a code sent);
# their fields are checked in the tests of those steps.
NOT_DRAWN = {
    "POST /w/{slug}/login/code": "drawn after the e-mail is sent (tests/api/test_pages.py)",
    "POST /admin/login/code": "drawn after a password is accepted (tests/web/test_two_step.py)",
    "POST /admin/login/setup": "drawn after a password is accepted (tests/web/test_two_step.py)",
    "POST /admin/logout": "a button only",
    "POST /w/{slug}/vouchers/{code}/rate": "drawn once the voucher is used (test_wallet_pages.py)",
    "POST /admin/setup/program": "drawn once the set-up's first step is saved (test_setup.py)",
    "POST /admin/setup/places/location": "drawn at the set-up's fourth step (test_setup.py)",
    "POST /admin/setup/places/staff": "drawn at the set-up's fourth step (test_setup.py)",
}
# Downloads and scripts: no forms to read.
NOT_PAGES = re.compile(r"\.(csv|json|pdf|png|js|webmanifest)$")
# What a person must never read: the edge's machine words and pydantic's English.
MACHINE = re.compile(
    r"string_too_long|int_parsing|value_error|missing_argument|String should have|"
    r"Input should be|Field required|\bbody\.\w|\"loc\"|\{\"error\""
)
ALERT = re.compile(r'role="alert"[^>]*>(.*?)</(?:p|div|section)>', re.S)
HEADING = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)


@pytest.fixture(scope="module")
def world(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from build_world(sqlite_template, tmp_path_factory)


def _page_operations(world: World) -> list[Operation]:
    return [
        op
        for op in api_operations(world.client.app)  # type: ignore[arg-type]
        if op.method == "GET" and is_page(op) and not NOT_PAGES.search(op.path)
    ]


@pytest.fixture(scope="module")
def drawn(world: World) -> list[DrawnForm]:
    """The POST forms of every page its caller can open, in English."""
    values = world.values(world.a, world.a_res)
    forms = []
    for op in _page_operations(world):
        headers, _csrf = caller(world, op)
        url = fill(op.path, values)
        page = fetch(world, url + "?lang=en", headers | {"Accept-Language": "en"})
        if page.status_code == 200 and page.headers["content-type"].startswith("text/html"):
            forms.extend(read_forms(url, page.text))
    return forms


def _operation_for(action: str, operations: list[Operation]) -> Operation | None:
    path = action.split("?")[0]
    return next((op for op in operations if route_pattern(op.path).match(path)), None)


def test_every_field_a_page_draws_carries_its_routes_limit_and_label(
    world: World, drawn: list[DrawnForm]
) -> None:
    operations = form_operations(world)
    _ = translator("en")
    problems, seen = [], set()
    for form in drawn:
        op = _operation_for(form.action, operations)
        if op is None:
            continue  # a form to another kind of route (a JSON one, a GET search)
        seen.add(str(op))
        declared = {d.name: d for d in declared_fields(op.route)}
        for item in form.fields:
            where = f"{form.page} -> {op} field {item.name!r}"
            limit = declared.get(item.name)
            hidden = item.type in ("hidden", "submit") or item.name in form_labels.HIDDEN
            if limit is None or hidden:
                continue  # checked by the route itself, on the form's own page
            if not form_labels.is_named(op.path, item.name):
                problems.append(f"{where}: no label in src/lealtad/web/form_labels.py")
            expected = form_labels.label(op.path, item.name, _) or ""
            if expected.casefold() not in item.label.casefold():
                problems.append(f"{where}: labelled {item.label!r}, errors say {expected!r}")
            typed = item.tag == "textarea" or item.type in ("text", "email", "password", "tel")
            if limit.kind == "text" and limit.max_length and typed:
                shown = item.attrs.get("maxlength", "")
                if not shown.isdigit() or int(shown) > limit.max_length:
                    problems.append(
                        f"{where}: maxlength {shown or 'missing'}, the route takes "
                        f"{limit.max_length}"
                    )
            if item.name == "email" and typed and item.type != "email":
                problems.append(f"{where}: an e-mail field without type=email")
    for op in operations:
        typed = [d for d in declared_fields(op.route) if d.name not in form_labels.HIDDEN]
        if typed and str(op) not in seen and str(op) not in NOT_DRAWN:
            problems.append(f"{op}: no page draws this form; add it to NOT_DRAWN with a reason")
    assert problems == [], "\n".join(problems)


def _values(op: Operation, variant: str, drawn: list[DrawnForm]) -> dict[str, Any]:
    """One value per field the route declares or its drawn form sends."""
    declared = {d.name: d for d in declared_fields(op.route)}
    for form in drawn:
        if route_pattern(op.path).match(form.action.split("?")[0]):
            for item in form.fields:
                declared.setdefault(item.name, None)  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for name, limit in declared.items():
        kind = limit.kind if limit is not None else "text"
        if variant == "empty":
            values[name] = ""
        elif variant == "over-long":
            longest = (limit.max_length if limit and limit.max_length else 4000) + 1
            values[name] = {
                "number": "9" * 25,
                "flag": "maybe",
                "rows": ["x" * 4001] * 60,
            }.get(kind, "x" * longest)
        else:
            low = limit.low if limit and limit.low is not None else 0
            values[name] = {"flag": "2", "rows": ["-1"]}.get(kind, str(low - 1))
    return values


def _problem(variant: str, op: Operation, answer: Any) -> str | None:
    status, kind = answer.status_code, answer.headers.get("content-type", "")
    if status >= 500:
        return f"{variant} {op}: a server error {status}"
    if 300 <= status < 400 or "attachment" in answer.headers.get("content-disposition", ""):
        return None  # sent on to a page, or a download the form asked for (a data export)
    if not kind.startswith("text/html"):
        return f"{variant} {op}: answered {kind} {status}: {answer.text[:200]}"
    if MACHINE.search(answer.text):
        return f"{variant} {op}: machine words on the page: {MACHINE.search(answer.text)}"
    if status >= 400:
        found = ALERT.findall(answer.text) + HEADING.findall(answer.text)
        said = [re.sub(r"<[^>]+>", " ", text).strip() for text in found]
        if not any(len(text) > 10 for text in said):
            return f"{variant} {op}: refused with {status} but no message on the page"
    return None


def test_every_form_answers_a_page_with_a_readable_message(
    world: World, drawn: list[DrawnForm]
) -> None:
    values = world.values(world.a, world.a_res)
    operations = form_operations(world)
    assert unfillable(operations, values) == []
    # Signing out last, so that the sweep's own sessions stay open.
    operations.sort(key=lambda op: op.path.endswith("/logout"))
    problems = []
    for op in operations:
        for variant in ("over-long", "empty", "out-of-range"):
            headers, csrf = caller(world, op)
            data = _values(op, variant, drawn)
            url = fill(op.path, values)
            answer = fetch(world, url, headers, method="POST", data=data | {"csrf": csrf})
            if not csrf and answer.headers.get("location", "").startswith("/admin/login?"):
                # A step of signing in that needs a session (a new password): as the owner.
                headers, csrf = caller(world, op, role="owner")
                answer = fetch(world, url, headers, method="POST", data=data | {"csrf": csrf})
            found = _problem(variant, op, answer)
            if found:
                problems.append(found)
    assert problems == [], "\n".join(problems)
    assert len(operations) >= 40, "the sweep found fewer forms than the app has"
    assert all(PATH_PARAM.sub("", op.path) for op in operations)
