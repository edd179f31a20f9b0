"""Prometheus metrics: what the app and the worker did, and how far behind the outbox is.

Counters live in prometheus_client. With several processes (uvicorn or gunicorn workers, and
`lealtad worker` on the same machine) set PROMETHEUS_MULTIPROC_DIR to one empty directory for all
of them, before they start: each process then writes its counters to its own memory-mapped file
and a scrape of any app process adds up every file (`lealtad serve --workers N` does this itself).
The outbox figures are read from the database at scrape time, so every scrape sees the truth
whichever process answers it, and the request path never touches the database for metrics.

Purchases, awards and redemptions are counted when their transaction commits (kit/commit_counts.py,
below the domains that count them).
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lealtad.http import error_response
from lealtad.kit.clock import naive_utc
from lealtad.kit.commit_counts import count_commits as count_commits

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
log = logging.getLogger("lealtad.metrics")
# The *_created series double the output and no dashboard of ours reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

REQUESTS = Counter(
    "lealtad_http_requests",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "lealtad_http_request_duration_seconds",
    "Time from request to the end of the answer, by method and route template",
    ["method", "route"],
    # Around the purchase path's targets (p99 <= 25 ms) and up to a slow report.
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)
WORKER_JOBS = Counter(
    "lealtad_worker_jobs", "Work done by `lealtad worker`, by kind (events, emails, ...)", ["job"]
)


def worker_did(counts: dict[str, int]) -> None:
    for job, count in counts.items():
        if count:
            WORKER_JOBS.labels(job).inc(count)


# --- requests ------------------------------------------------------------------------------


class MetricsMiddleware:
    """Counts and times every HTTP request by its route template (`/api/v1/members/{member_id}`,
    never the concrete path, so the number of series stays bounded). Two dictionary look-ups and
    three counter updates per request; nothing else."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._requests: dict[tuple[str, str, int], Any] = {}
        self._latency: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self._observe(scope, status, time.perf_counter() - started)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or (
            "/static" if scope["path"].startswith("/static/") else "(unmatched)"
        )
        method = scope["method"]
        key = (method, template, status)
        child = self._requests.get(key)
        if child is None:
            child = self._requests[key] = REQUESTS.labels(method, template, str(status))
        child.inc()
        timer = self._latency.get(key[:2])
        if timer is None:
            timer = self._latency[key[:2]] = LATENCY.labels(method, template)
        timer.observe(seconds)


# --- the scrape ----------------------------------------------------------------------------


class OutboxCollector(Collector):
    """How far behind delivery is, read at scrape time: the outbox's undelivered events, their
    oldest age, and messages and webhook deliveries still waiting to go out."""

    def __init__(self, db: Any, clock: Any) -> None:
        self.db, self.clock = db, clock

    def collect(self) -> Iterator[Metric]:
        try:
            figures = self._read()
        except Exception:  # the database is down: say so, and still serve the counters
            log.warning("metrics: the database did not answer", exc_info=True)
            yield GaugeMetricFamily(
                "lealtad_database_up", "1 if the database answered this scrape", value=0
            )
            return
        yield GaugeMetricFamily(
            "lealtad_database_up", "1 if the database answered this scrape", value=1
        )
        pending, age, queued, hooks = figures
        yield GaugeMetricFamily(
            "lealtad_outbox_pending", "Outbox events not yet delivered", value=pending
        )
        yield GaugeMetricFamily(
            "lealtad_outbox_oldest_pending_age_seconds",
            "Age of the oldest undelivered outbox event (0 when none)",
            value=age,
        )
        yield GaugeMetricFamily(
            "lealtad_messages_queued", "Member messages queued to be sent", value=queued
        )
        yield GaugeMetricFamily(
            "lealtad_webhook_deliveries_pending", "Webhook deliveries still to be made", value=hooks
        )

    def _read(self) -> tuple[int, float, int, int]:
        from lealtad.comms.tables import messages, outbox, webhook_deliveries

        with self.db.read() as conn:
            pending, oldest = conn.execute(
                select(func.count(), func.min(outbox.c.created_at)).where(
                    outbox.c.delivered_at.is_(None)
                )
            ).one()
            queued = conn.execute(
                select(func.count()).where(messages.c.status == "queued")
            ).scalar_one()
            hooks = conn.execute(
                select(func.count()).where(webhook_deliveries.c.status == "pending")
            ).scalar_one()
        age = 0.0
        if oldest is not None:
            age = max(0.0, (naive_utc(self.clock.now()) - oldest).total_seconds())
        return int(pending), age, int(queued), int(hooks)


class _ThisProcess(Collector):
    """The default registry (this process's counters and its CPU and memory) when there is only
    one process."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def exposition(db: Any, clock: Any) -> bytes:
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROCESS_ENV):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ThisProcess())
    registry.register(OutboxCollector(db, clock))
    return generate_latest(registry)


router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus text format. With LEALTAD_METRICS_TOKEN set, only for `Authorization: Bearer
    <token>`; without it, open outside production and off (404) in production."""
    settings = request.app.state.settings
    token = settings.metrics_token
    if not token:
        if settings.env == "prod":
            return error_response(404, "not_found", "Not Found")
    else:
        given = request.headers.get("authorization", "")
        scheme, _, credential = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            credential.strip().encode(), token.encode()
        ):
            answer = error_response(401, "unauthorized", "a valid metrics bearer token is needed")
            answer.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return answer
    try:
        text = exposition(request.app.state.db, request.app.state.clock)
    except Exception as exc:  # in practice a multiprocess directory shared with other files
        log.exception("metrics exposition failed")
        return error_response(
            503,
            "metrics_unavailable",
            f"the metrics could not be read ({type(exc).__name__}); {MULTIPROCESS_ENV} must be "
            "an empty directory of its own, shared only by this installation's processes",
        )
    return Response(text, media_type=CONTENT_TYPE_LATEST)
