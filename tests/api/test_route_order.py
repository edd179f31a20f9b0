"""The app matches the JSON API before the pages (lealtad.api._match_api_first): the order is for
speed only, so every path must reach the same route in either order, and the OpenAPI schema must
be the one the documented order gives."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.routing import _IncludedRouter, _iter_routes_with_context
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute, Match

from lealtad.api import DOCUMENTED, create_app
from lealtad.config import Settings
from lealtad.db.engine import Database


def _first_match(routes: list[BaseRoute], path: str, method: str) -> tuple[Any, Any] | None:
    scope = {
        "type": "http",
        "path": path,
        "method": method,
        "root_path": "",
        "headers": [],
        "query_string": b"",
    }
    for candidate in routes:
        match, _ = candidate.matches(dict(scope))
        if match == Match.FULL:
            if isinstance(candidate, _IncludedRouter):
                _, _, route, _ = candidate._match(dict(scope))
                return getattr(route, "path", None), getattr(route, "name", None)
            return getattr(candidate, "path", None), getattr(candidate, "name", None)
    return None


def _documented(app: FastAPI) -> list[BaseRoute]:
    routes = list(app.router.routes)
    own = [r for r in routes if not isinstance(r, _IncludedRouter)]
    health = [r for r in own if getattr(r, "path", "") in ("/healthz", "/readyz")]
    static = [r for r in own if getattr(r, "path", "") == "/static"]
    first = [r for r in own if r not in health and r not in static]
    included = sorted(
        (r for r in routes if isinstance(r, _IncludedRouter)),
        key=lambda r: DOCUMENTED.index(r.original_router),
    )
    return [*first, *included, *static, *health]


def _sample_paths(app: FastAPI) -> list[tuple[str, str]]:
    samples = []
    for route, _ in _iter_routes_with_context(app.router.routes):
        path = getattr(route, "path", None)
        if path is None:
            continue
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        if type(route).__name__ == "Mount":
            concrete += "/htmx.min.js"
        for method in sorted(getattr(route, "methods", None) or ["GET"]):
            # A number, a word and a word that is also a fixed segment somewhere.
            for variant in (concrete, concrete.replace("/1", "/new"), concrete.replace("/1", "/x")):
                samples.append((method, variant))
    return samples


def test_every_path_reaches_the_same_route_in_the_documented_and_the_matching_order(
    settings: Settings, sqlite_db: Database
) -> None:
    app = create_app(settings, db=sqlite_db)
    documented = _documented(app)
    matching = list(app.router.routes)
    assert matching != documented  # the reordering happened
    samples = _sample_paths(app)
    assert len(samples) > 500
    for method, path in samples:
        assert _first_match(matching, path, method) == _first_match(documented, path, method), (
            method,
            path,
        )


def test_the_purchase_route_is_matched_before_any_page_router(
    settings: Settings, sqlite_db: Database
) -> None:
    app = create_app(settings, db=sqlite_db)
    walked = 0
    for candidate in app.router.routes:
        walked += isinstance(candidate, _IncludedRouter)
        match, _ = candidate.matches(
            {"type": "http", "path": "/api/v1/purchases", "method": "POST", "headers": []}
        )
        if match == Match.FULL:
            break
    assert walked == 1


def test_the_schema_lists_the_paths_in_the_documented_order(
    settings: Settings, sqlite_db: Database, tmp_path: Path
) -> None:
    app = create_app(settings, db=sqlite_db)
    plain = create_app(settings, db=sqlite_db)
    # The same app built without the reordering: its routes are in the documented order.
    plain.router.routes[:] = _documented(plain)
    plain.openapi = FastAPI.openapi.__get__(plain)  # type: ignore[method-assign]
    assert list(app.openapi()["paths"]) == list(plain.openapi()["paths"])
    assert app.openapi() == plain.openapi()
    # Defined last, matched almost first: still documented last.
    assert list(app.openapi()["paths"])[-2:] == ["/healthz", "/readyz"]


def test_a_route_added_after_the_factory_is_served_and_documented(
    settings: Settings, sqlite_db: Database
) -> None:
    app = create_app(settings, db=sqlite_db)

    @app.get("/later-route")
    async def later() -> dict[str, str]:
        return {"later": "yes"}

    assert "/later-route" in app.openapi()["paths"]
    assert list(app.openapi()["paths"])[-1] == "/later-route"
    with TestClient(app) as client:
        assert client.get("/later-route").json() == {"later": "yes"}
