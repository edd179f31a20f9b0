"""What the form sweeps need: every page route that takes a form, the fields each declares with
their limits, the forms the pages draw (read from their HTML) and the caller each route wants.
Generated from the route table, so a form added later is swept without touching this file."""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from annotated_types import Ge, Le, MaxLen
from fastapi.dependencies.utils import _get_flat_body_params
from fastapi.routing import APIRoute

from tests.security.route_roles import LOGIN, MEMBER, PUBLIC, ROUTES, STAFF
from tests.security.routes import PATH_PARAM, Operation
from tests.security.world import World, is_page, member_session, staff_session, takes_json


@dataclass(frozen=True)
class Declared:
    """A form field as the route declares it: its kind and limits."""

    name: str
    kind: str  # "text", "number", "flag" or "rows"
    max_length: int | None = None
    low: int | None = None
    high: int | None = None


def declared_fields(route: APIRoute) -> list[Declared]:
    found = []
    for param in _get_flat_body_params(route.dependant):
        info = param.field_info
        annotation = info.annotation
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        base = args[0] if args and typing.get_origin(annotation) is not list else annotation
        limits = {type(m): m for m in info.metadata}
        longest = limits.get(MaxLen)
        low, high = limits.get(Ge), limits.get(Le)
        kind = {str: "text", int: "number", bool: "flag"}.get(base, "rows")
        found.append(
            Declared(
                param.alias,
                kind,
                longest.max_length if isinstance(longest, MaxLen) else None,
                int(low.ge) if isinstance(low, Ge) else None,  # type: ignore[call-overload]
                int(high.le) if isinstance(high, Le) else None,  # type: ignore[call-overload]
            )
        )
    return found


def form_operations(world: World) -> list[Operation]:
    """Every POST of a page that takes a form (declared fields, or read from the request)."""
    from tests.security.routes import api_operations

    return [
        op
        for op in api_operations(world.client.app)  # type: ignore[arg-type]
        if op.method == "POST"
        and is_page(op)
        and not takes_json(op.route)
        and not op.path.startswith(MACHINE_PATHS)
    ]


# Routes outside /api/v1 that machines call with a signed raw body, never a person with a form:
# the tills' and shops' webhooks (connectors/api.py).
MACHINE_PATHS = ("/hooks/",)


def route_pattern(path: str) -> re.Pattern[str]:
    return re.compile("^" + PATH_PARAM.sub(r"[^/]+", path) + "$")


@dataclass
class Field:
    name: str
    tag: str
    type: str
    attrs: dict[str, str]
    label: str = ""


@dataclass
class DrawnForm:
    page: str
    action: str
    fields: list[Field] = field(default_factory=list)


class _FormReader(HTMLParser):
    """The POST forms of a page, their fields and each field's label text."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.page = page
        self.forms: list[DrawnForm] = []
        self.labels: dict[str, str] = {}
        self._form: DrawnForm | None = None
        self._label_for: str | None = None
        self._label_text: list[str] = []
        self._in_label = False
        self._wrapped: list[Field] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "form" and found.get("method", "get").lower() == "post":
            self._form = DrawnForm(self.page, found.get("action", ""))
            self.forms.append(self._form)
        elif tag == "label":
            self._in_label, self._label_for, self._label_text = True, found.get("for"), []
            self._wrapped = []
        elif tag in ("input", "textarea", "select") and self._form is not None and "name" in found:
            kind = found.get("type", "text") if tag == "input" else tag
            item = Field(found["name"], tag, kind, found)
            self._form.fields.append(item)
            if self._in_label:
                self._wrapped.append(item)
        elif tag == "button" and self._form is not None and found.get("formaction"):
            pass

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "label" and self._in_label:
            text = " ".join("".join(self._label_text).split())
            if self._label_for:
                self.labels[self._label_for] = text
            for item in self._wrapped:
                item.label = text
            self._in_label = False

    def handle_data(self, data: str) -> None:
        if self._in_label:
            self._label_text.append(data)


def read_forms(page: str, html: str) -> list[DrawnForm]:
    reader = _FormReader(page)
    reader.feed(html)
    for form in reader.forms:
        for item in form.fields:
            if not item.label and item.attrs.get("id") in reader.labels:
                item.label = reader.labels[item.attrs["id"]]
    return reader.forms


def caller(world: World, op: Operation, role: str | None = None) -> tuple[dict[str, str], str]:
    """Headers and form token of the caller the route is for (or of a staff member with
    `role`), made afresh: a logout or a card reissued earlier in a sweep must not leave the
    next request signed out."""
    level = ROUTES.get(str(op)) if role is None else role
    if level in (PUBLIC, LOGIN, None):
        return {}, ""
    if level == MEMBER:
        cred = member_session(world.client, world.settings, world.db, world.a)
    else:
        role = "staff" if level == STAFF else "owner"
        cred = staff_session(world.settings, world.db, world.a, role)
    return dict(cred.headers) | ({"X-CSRF-Token": cred.csrf} if cred.csrf else {}), cred.csrf


def fetch(world: World, url: str, headers: dict[str, str], **kwargs: Any) -> Any:
    world.client.cookies.clear()
    try:
        return world.client.request(
            kwargs.pop("method", "GET"), url, headers=headers, follow_redirects=False, **kwargs
        )
    finally:
        world.client.cookies.clear()
