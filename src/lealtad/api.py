"""The application factory: settings, database, routers, error handlers, health checks."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.routing import BaseRoute

from lealtad import __version__
from lealtad.analytics.api import router as analytics_router
from lealtad.analytics.experiments_api import router as experiments_router
from lealtad.comms.api import router as messages_router
from lealtad.comms.channel_hooks_api import router as channel_hooks_router
from lealtad.comms.channels_api import router as channels_router
from lealtad.comms.pages import router as unsubscribe_router
from lealtad.comms.webhooks_api import router as webhooks_router
from lealtad.config import Settings, load_settings
from lealtad.connectors.api import router as connectors_router
from lealtad.db.engine import Database
from lealtad.events.api import router as events_router
from lealtad.http import (
    BodyLimitMiddleware,
    RequestIdMiddleware,
    configure_logging,
    error_response,
    install_error_handlers,
)
from lealtad.imports.api import router as imports_router
from lealtad.kit.clock import Clock, SystemClock
from lealtad.ledger.api import router as ledger_router
from lealtad.members.api import public as public_members_router
from lealtad.members.api import router as members_router
from lealtad.metrics import MetricsMiddleware, count_commits
from lealtad.metrics import router as metrics_router
from lealtad.passes.api import router as pass_service_router
from lealtad.passes.pages import router as pass_pages_router
from lealtad.purchases.api import router as purchases_router
from lealtad.rewards.api import router as rewards_router
from lealtad.rewards.donations_api import router as donations_router
from lealtad.rewards.gamification_api import router as gamification_router
from lealtad.rules.api import router as program_router
from lealtad.security import limits_api
from lealtad.security.fields import keys_for_settings
from lealtad.security.headers import SecurityHeadersMiddleware
from lealtad.security.proxies import ClientAddressMiddleware
from lealtad.surveys.api import router as surveys_router
from lealtad.surveys.pages import router as survey_pages_router
from lealtad.tenancy.api import router as tenancy_router
from lealtad.tenancy.audit_context import AuditContextMiddleware
from lealtad.tenancy.password_api import router as password_router
from lealtad.tickets.api import router as tickets_router
from lealtad.tiers.api import router as tiers_router
from lealtad.web import error_pages, sessions
from lealtad.web.admin.account_password import router as account_password_router
from lealtad.web.admin.console import router as admin_router
from lealtad.web.admin.customers.experiments import router as admin_experiments_router
from lealtad.web.admin.customers.members import router as admin_members_router
from lealtad.web.admin.customers.members_actions import router as admin_members_actions_router
from lealtad.web.admin.customers.segments import router as admin_customers_router
from lealtad.web.admin.customers.tickets import router as admin_tickets_router
from lealtad.web.admin.home import router as admin_home_router
from lealtad.web.admin.messages.campaigns import router as admin_campaigns_router
from lealtad.web.admin.messages.delivery import router as admin_messages_router
from lealtad.web.admin.messages.surveys import router as admin_surveys_router
from lealtad.web.admin.messages.surveys_edit import router as admin_surveys_edit_router
from lealtad.web.admin.program.products import router as admin_products_router
from lealtad.web.admin.program.rewards import router as admin_rewards_router
from lealtad.web.admin.program.routes import router as admin_program_router
from lealtad.web.admin.reports.analytics import router as admin_analytics_router
from lealtad.web.admin.reports.summaries import router as admin_reports_router
from lealtad.web.admin.settings.api_keys import router as admin_keys_router
from lealtad.web.admin.settings.audit import router as admin_audit_router
from lealtad.web.admin.settings.business import router as admin_settings_router
from lealtad.web.admin.settings.channels import router as admin_channels_router
from lealtad.web.admin.settings.connectors import router as admin_connectors_router
from lealtad.web.admin.settings.posters import router as posters_router
from lealtad.web.admin.settings.staff import router as admin_staff_router
from lealtad.web.admin.settings.tickets import router as admin_ticket_settings_router
from lealtad.web.admin.settings.till_files import router as admin_till_files_router
from lealtad.web.admin.setup.routes import router as setup_router
from lealtad.web.admin.two_step import router as two_step_router
from lealtad.web.branding.routes import router as brand_router
from lealtad.web.counter.routes import router as counter_router
from lealtad.web.counter.vouchers import router as counter_vouchers_router
from lealtad.web.pages import STATIC
from lealtad.web.pages import router as pages_router
from lealtad.web.wallet.account import router as wallet_account_router
from lealtad.web.wallet.card import router as wallet_card_router
from lealtad.web.wallet.pin import router as wallet_pin_router
from lealtad.web.wallet.rewards import router as wallet_rewards_router
from lealtad.web.wallet.routes import router as wallet_router
from lealtad.web.wallet.tickets import router as wallet_tickets_router
from lealtad.wiring import wire

DESCRIPTION = """Lealtad: a loyalty platform for points, stamp cards, tiers and cashback.
Authenticate with an API key (`Authorization: Bearer lk_...` or `X-API-Key`) or a staff token.
Amounts are integers in the currency's minor units. Dates and times are ISO 8601 text from
1900-01-01T00:00:00Z to 2199-12-31T23:59:59Z (UTC when no offset is given); beyond, a 422
`date_out_of_range`, and a number is a 422 `date_not_iso`. Request bodies are limited to 1 MiB
(413 `body_too_large`). Every error has the shape `{"error": {"code", "message", "details"}}`."""


# Every router, in the order the OpenAPI schema documents them.
DOCUMENTED = (
    tenancy_router,
    password_router,
    members_router,
    ledger_router,
    purchases_router,
    rewards_router,
    donations_router,
    gamification_router,
    program_router,
    events_router,
    surveys_router,
    tickets_router,
    tiers_router,
    imports_router,
    analytics_router,
    experiments_router,
    webhooks_router,
    connectors_router,
    messages_router,
    channels_router,
    channel_hooks_router,
    public_members_router,
    pass_service_router,
    pages_router,
    unsubscribe_router,
    survey_pages_router,
    admin_router,
    admin_home_router,
    admin_messages_router,
    admin_campaigns_router,
    admin_surveys_edit_router,
    admin_surveys_router,
    admin_analytics_router,
    admin_program_router,
    admin_rewards_router,
    admin_products_router,
    two_step_router,
    account_password_router,
    admin_settings_router,
    admin_staff_router,
    admin_keys_router,
    admin_connectors_router,
    admin_till_files_router,
    admin_ticket_settings_router,
    admin_channels_router,
    admin_audit_router,
    admin_customers_router,
    admin_experiments_router,
    admin_members_router,
    admin_members_actions_router,
    admin_tickets_router,
    admin_reports_router,
    wallet_router,
    wallet_card_router,
    wallet_pin_router,
    wallet_rewards_router,
    wallet_account_router,
    wallet_tickets_router,
    posters_router,
    brand_router,
    pass_pages_router,
    setup_router,
    counter_router,
    counter_vouchers_router,
    metrics_router,
)
# The order requests are matched in: what a till calls on every sale, the rest of the JSON API
# and /metrics, then the pages.
_POS = (purchases_router, rewards_router, events_router, members_router)
_API = tuple(r for r in DOCUMENTED[: DOCUMENTED.index(pages_router)] if r not in _POS)
MATCHING = (
    *_POS,
    *_API,
    metrics_router,
    *(r for r in DOCUMENTED[DOCUMENTED.index(pages_router) :] if r is not metrics_router),
)


_TELEMETRY = ("tracing", "metrics", "logs")


def create_app(
    settings: Settings | None = None, db: Database | None = None, clock: Clock | None = None
) -> FastAPI:
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    wire()  # what a ledger entry also writes (lealtad/wiring.py)
    # Off, FastAPI's native OpenTelemetry still asked the global providers on every request
    # (0.045 ms of a purchase's 1 ms in the event loop, docs/benchmarks.md).
    telemetry: Any = None if settings.opentelemetry else dict.fromkeys(_TELEMETRY, False)
    app = FastAPI(
        title="Lealtad", version=__version__, description=DESCRIPTION, telemetry=telemetry
    )
    app.state.settings = settings
    app.state.db = db or Database(settings.effective_database_url, keys=keys_for_settings(settings))
    if app.state.db.keys is None:
        app.state.db.use_keys(keys_for_settings(settings))
    app.state.clock = clock or SystemClock()
    install_error_handlers(app)
    # A browser on a page route gets its errors as pages; the API keeps the JSON envelope.
    app.state.error_page = error_pages.draw
    sessions.install(app)
    limits_api.install(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(AuditContextMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, settings=settings)
    # Outermost, so that its timing covers the whole answer.
    app.add_middleware(MetricsMiddleware)
    # Before everything else reads the client's address (limits, audit, logs).
    app.add_middleware(ClientAddressMiddleware, settings=settings)
    count_commits(app.state.db.engine)
    # Documented in this order (the OpenAPI schema lists paths as they come); matched in the order
    # MATCHING gives, the POS routes first: each included router costs a walk of its own.
    included: dict[int, BaseRoute] = {}
    for router in DOCUMENTED:
        app.include_router(router)
        included[id(router)] = app.router.routes[-1]
    # The pages' own scripts and the vendored third-party ones (scripts/vendor-assets).
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    static = app.router.routes[-1]

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    def readyz() -> JSONResponse:
        """The database answers and its schema is at the version this code expects."""
        from lealtad.db.migrate import current_revision, head_revision

        database: Database = app.state.db
        try:
            with database.read() as conn:
                conn.execute(text("SELECT 1"))
                current = current_revision(conn)
        except Exception as exc:  # any failure here means "not ready", which is the answer
            return error_response(503, "database_unavailable", str(exc)[:200])
        if current != head_revision():
            return error_response(
                503, "migrations_pending", "run `lealtad migrate`", {"current": current}
            )
        return JSONResponse({"status": "ready", "database": database.dialect, "schema": current})

    _match_api_first(app, included, static)
    return app


def _match_api_first(app: FastAPI, included: dict[int, BaseRoute], static: BaseRoute) -> None:
    """Puts the routes in matching order: FastAPI's own (/docs, /openapi.json), the health
    checks, the JSON API with the POS routes first, then the pages and /static. A request walks
    the routes until one matches and each included router costs a walk of its own routes, so a
    purchase no longer waits behind the console's forty routers. No path is served by more than
    one route (tests/api/test_route_order.py), so the order changes no answer; the schema keeps
    the documented order."""
    documented = list(app.router.routes)
    own = documented[: len(documented) - len(included) - 3]  # before the routers, /static, health
    health = documented[-2:]
    matching = [*own, *health]
    matching += [included[id(router)] for router in MATCHING]
    matching.append(static)
    assert sorted(map(id, matching)) == sorted(map(id, documented)), "a route was lost"
    app.router.routes[:] = matching
    build_schema = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            # Sync code on the event loop: no request is matched while the list is swapped.
            # Routes added after the factory (a test's, a tool's) come last in both orders.
            live = list(app.router.routes)
            known = set(map(id, documented))
            app.router.routes[:] = documented + [r for r in live if id(r) not in known]
            try:
                build_schema()
            finally:
                app.router.routes[:] = live
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
