"""FastAPI's native OpenTelemetry is off unless the deployment asks for it
(LEALTAD_OPENTELEMETRY=1): off, no request asks the global providers (docs/benchmarks.md)."""

from __future__ import annotations

from lealtad.api import create_app
from lealtad.config import Settings
from lealtad.db.engine import Database


def test_fastapi_opentelemetry_follows_the_setting(db: Database, settings: Settings) -> None:
    off = create_app(settings, db=db)
    on = create_app(settings.model_copy(update={"opentelemetry": True}), db=db)
    wanted = ("tracing", "metrics", "logs")
    assert [off._telemetry[k] for k in wanted] == [False, False, False]
    assert [on._telemetry[k] for k in wanted] == [True, True, True]
    assert not off._native_telemetry.enabled()
