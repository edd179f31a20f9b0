"""P1, the HTTP edge in process: server CPU per request for the edge's variants, interleaved.

Run: uv run python bench/http_edge.py [--requests 300] [--rounds 7] [--members 200]
Builds the app twice on one throwaway SQLite database: as it is (POS routes matched first, async
dependencies, API keys confirmed by one driver read) and with its routers matched in the order
they are documented (the purchase router behind four others, the health checks behind all 45),
and adds two no-op routes to the purchase router, right behind POST /api/v1/purchases, that
take what the purchase takes (the PurchaseIn body, the idempotency header, the principal, the
database, the clock and the settings): one `async def` on the app's dependencies, one sync `def`
on sync copies of the dependencies as they were (each a hop to the thread pool; the principal
from a key cache trusted for two seconds). Each request is sent straight to the ASGI app (no
socket, no HTTP parsing: those are the same for every variant and uvicorn's, not the app's);
each round runs every variant in turn; the figure is the median over rounds of the process CPU
(time.process_time, all threads) per request. Nothing here is timed by a test."""

# No `from __future__ import annotations`: the routes below are made inside functions, and
# FastAPI reads their annotations as objects.
import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))


def _old_dependencies() -> dict[str, Any]:
    """The dependencies as they were before the edge was made cheap: sync, so each one is a hop
    to the thread pool; the key cache trusted for two seconds (D36)."""
    from fastapi import Depends, Request
    from fastapi.security import HTTPAuthorizationCredentials

    from lealtad import deps
    from lealtad.tenancy import sign_in
    from lealtad.tenancy.model import Principal

    cache: dict[str, tuple[float, Principal]] = {}

    def old_db(request: Request) -> Any:
        return request.app.state.db

    def old_settings(request: Request) -> Any:
        return request.app.state.settings

    def old_now(request: Request) -> datetime:
        return request.app.state.clock.now()  # type: ignore[no-any-return]

    def old_principal(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(deps._bearer)],
        api_key: Annotated[str | None, Depends(deps._api_key_header)],
    ) -> Principal:
        presented = api_key or (bearer.credentials if bearer else "")
        found = cache.get(presented)
        if found is not None and found[0] >= time.monotonic():
            return found[1]
        with old_db(request).read() as conn:
            principal = sign_in.principal_from_api_key(conn, presented)
        cache[presented] = (time.monotonic() + 2.0, principal)
        return principal

    return {
        "db": Annotated[Any, Depends(old_db)],
        "settings": Annotated[Any, Depends(old_settings)],
        "now": Annotated[datetime, Depends(old_now)],
        "principal": Annotated[Principal, Depends(old_principal)],
    }


def add_noop_routes() -> None:
    """Two no-ops in the purchase router, right behind POST /api/v1/purchases."""
    from fastapi import Request
    from fastapi.responses import JSONResponse

    from lealtad.deps import AppSettings, CurrentPrincipal, Db, IdempotencyKey, Now
    from lealtad.purchases.api import router
    from lealtad.purchases.schemas import PurchaseIn

    if any(getattr(r, "path", "").endswith("/bench/noop") for r in router.routes):
        return
    old = _old_dependencies()
    OldPrincipal, OldDb, OldNow, OldSettings = (
        old["principal"],
        old["db"],
        old["now"],
        old["settings"],
    )

    async def noop(
        body: PurchaseIn,
        request: Request,
        principal: CurrentPrincipal,
        db: Db,
        now: Now,
        settings: AppSettings,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        return JSONResponse({"ok": True}, status_code=201)

    def noop_sync_old(
        body: PurchaseIn,
        request: Request,
        principal: OldPrincipal,  # type: ignore[valid-type]
        db: OldDb,  # type: ignore[valid-type]
        now: OldNow,  # type: ignore[valid-type]
        settings: OldSettings,  # type: ignore[valid-type]
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        return JSONResponse({"ok": True}, status_code=201)

    # Where the CPU of the no-op goes: the same body with fewer of the purchase's dependencies.
    async def noop_body(body: PurchaseIn) -> JSONResponse:
        return JSONResponse({"ok": True}, status_code=201)

    async def noop_principal(body: PurchaseIn, principal: CurrentPrincipal) -> JSONResponse:
        return JSONResponse({"ok": True}, status_code=201)

    added = [
        ("/bench/noop", noop),
        ("/bench/noop-old", noop_sync_old),
        ("/bench/noop-body", noop_body),
        ("/bench/noop-principal", noop_principal),
    ]
    for path, endpoint in added:
        router.add_api_route(path, endpoint, methods=["POST"], include_in_schema=False)
    # Right behind the purchase route (the router's first), where a request walks as far.
    routes = router.routes[-len(added) :]
    del router.routes[-len(added) :]
    router.routes[1:1] = routes


def documented_order(app: Any) -> None:
    """The routers matched in the order they are documented, as before the edge was reordered."""
    from fastapi.routing import _IncludedRouter

    from lealtad.api import DOCUMENTED

    routes = list(app.router.routes)
    own = [r for r in routes if not isinstance(r, _IncludedRouter)]
    health = [r for r in own if getattr(r, "path", "") in ("/healthz", "/readyz")]
    static = [r for r in own if getattr(r, "path", "") == "/static"]
    first = [r for r in own if r not in health and r not in static]
    included = sorted(
        (r for r in routes if isinstance(r, _IncludedRouter)),
        key=lambda r: DOCUMENTED.index(r.original_router),
    )
    app.router.routes[:] = [*first, *included, *static, *health]


def bare_app() -> Any:
    """FastAPI with one async POST route and nothing else: the floor."""
    from fastapi import FastAPI
    from pydantic import BaseModel

    class NoopIn(BaseModel):
        receipt_id: str
        amount: int
        currency: str

    app = FastAPI()

    @app.post("/noop")
    async def noop(body: NoopIn) -> dict[str, bool]:
        return {"ok": True}

    return app


def without_own_middleware(app: Any) -> Any:
    app.user_middleware = []
    return app


# --- driving the ASGI app --------------------------------------------------------------------


class Caller:
    def __init__(self, app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]]):
        self.app, self.method, self.path, self.headers = app, method, path, headers

    async def __call__(self, body: bytes) -> int:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": self.method,
            "scheme": "http",
            "path": self.path,
            "raw_path": self.path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [*self.headers, (b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        sent = False
        status = 0

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await self.app(scope, receive, send)
        return status


def seed(folder: Path, members_count: int) -> tuple[Any, Any, str, list[int], str]:
    import os

    os.environ["LEALTAD_DATA_DIR"] = str(folder)
    os.environ["LEALTAD_DATABASE_URL"] = f"sqlite:///{folder / 'edge.db'}"
    os.environ["LEALTAD_LOG_LEVEL"] = "warning"
    from benchkit import BENCH_KEYS, seed_demo

    from lealtad.config import load_settings
    from lealtad.db.engine import Database

    settings = load_settings()
    db = Database(settings.effective_database_url, keys=BENCH_KEYS)
    info, ids, currency = seed_demo(db, members_count, "Edge")
    return settings, db, info.api_key, ids, currency


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per variant a round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="lealtad-edge-"))
    settings, db, key, ids, currency = seed(folder, args.members)
    add_noop_routes()
    from lealtad.api import create_app

    app = create_app(settings, db)
    old_order = create_app(settings, db)
    documented_order(old_order)
    bare_middleware = without_own_middleware(create_app(settings, db))
    bare = bare_app()

    json_headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")]
    auth = [*json_headers, (b"authorization", f"Bearer {key}".encode())]
    counter = iter(range(10**9))

    def purchase_body() -> bytes:
        i = next(counter)
        member = ids[(i * 7919) % len(ids)]
        return json.dumps(
            {
                "receipt_id": f"E-{i}",
                "amount": 440,
                "currency": currency,
                "member_id": member,
                "items": [
                    {"sku": "LAT", "category": "drinks", "unit_price": 290},
                    {"sku": "CRO", "category": "bakery", "unit_price": 150},
                ],
            }
        ).encode()

    small = json.dumps({"receipt_id": "noop", "amount": 440, "currency": currency}).encode()
    variants: list[tuple[str, Caller, Callable[[], bytes], int]] = [
        (
            "bare FastAPI no-op (floor)",
            Caller(bare, "POST", "/noop", json_headers),
            lambda: small,
            200,
        ),
        (
            "no-op at the purchase's place, as before: sync, 4 sync deps, documented order",
            Caller(old_order, "POST", "/api/v1/bench/noop-old", auth),
            purchase_body,
            201,
        ),
        (
            "the same, routers matched API first",
            Caller(app, "POST", "/api/v1/bench/noop-old", auth),
            purchase_body,
            201,
        ),
        (
            "no-op at the purchase's place, now: async, async deps, key confirmed on the driver",
            Caller(app, "POST", "/api/v1/bench/noop", auth),
            purchase_body,
            201,
        ),
        (
            "no-op in place taking only the body",
            Caller(app, "POST", "/api/v1/bench/noop-body", auth),
            purchase_body,
            201,
        ),
        (
            "no-op in place taking the body and the principal",
            Caller(app, "POST", "/api/v1/bench/noop-principal", auth),
            purchase_body,
            201,
        ),
        (
            "no-op in place, now, without the app's six middlewares",
            Caller(bare_middleware, "POST", "/api/v1/bench/noop", auth),
            purchase_body,
            201,
        ),
        (
            "GET /healthz, documented order (behind every router)",
            Caller(old_order, "GET", "/healthz", json_headers),
            lambda: b"",
            200,
        ),
        ("GET /healthz, now", Caller(app, "GET", "/healthz", json_headers), lambda: b"", 200),
        (
            "purchase, documented order",
            Caller(old_order, "POST", "/api/v1/purchases", auth),
            purchase_body,
            201,
        ),
        ("purchase, now", Caller(app, "POST", "/api/v1/purchases", auth), purchase_body, 201),
    ]

    async def run() -> dict[str, list[float]]:
        cpu: dict[str, list[float]] = {name: [] for name, *_ in variants}
        for name, call, body, expected in variants:  # warm up: first requests build caches
            for _ in range(20):
                got = await call(body())
                assert got == expected, f"{name}: HTTP {got}"
        for round_no in range(args.rounds):
            order = variants if round_no % 2 == 0 else list(reversed(variants))
            for name, call, body, expected in order:
                bodies = [body() for _ in range(args.requests)]
                started = time.process_time()
                for payload in bodies:
                    got = await call(payload)
                    if got != expected:
                        raise SystemExit(f"{name}: HTTP {got}")
                cpu[name].append((time.process_time() - started) / args.requests * 1e6)
        return cpu

    cpu = asyncio.run(run())
    medians = {name: statistics.median(values) for name, values in cpu.items()}
    floor = medians[variants[0][0]]
    noop_now = medians[variants[3][0]]
    print(
        f"\nserver CPU per request in process (median of {args.rounds} interleaved rounds of "
        f"{args.requests}), SQLite"
    )
    print("| variant | CPU us/request | spread (min-max) | / bare no-op | / no-op in place |")
    print("|---|---|---|---|---|")
    for name, values in cpu.items():
        print(
            f"| {name} | {medians[name]:.0f} | {min(values):.0f}-{max(values):.0f} | "
            f"{medians[name] / floor:.2f} | {medians[name] / noop_now:.2f} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"cpu_us": medians, "runs": cpu}, indent=1))
    db.dispose()


if __name__ == "__main__":
    main()
