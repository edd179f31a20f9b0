"""JSON routes of experiments: create, list, read, change, start and stop one, and its report
(JSON or CSV). Managers and owners only: an experiment changes what members are offered."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from lealtad.analytics import experiments, experiments_report
from lealtad.analytics.experiments import ExperimentIn, ExperimentOut, ExperimentPatch
from lealtad.analytics.experiments_report import ReportOut
from lealtad.deps import Db, Manager, Now
from lealtad.http import ERROR_RESPONSES
from lealtad.kit.ids import IdPath
from lealtad.tenancy import service as tenancy

router = APIRouter(prefix="/api/v1/experiments", tags=["experiments"], responses=ERROR_RESPONSES)
Confidence = Annotated[
    float, Query(ge=0.5, le=0.999, description="of the intervals; 0.95 unless given")
]


def _target(experiment_id: int) -> str:
    return f"experiment:{experiment_id}"


@router.post("", response_model=ExperimentOut, status_code=201)
def create_experiment(body: ExperimentIn, principal: Manager, db: Db, now: Now) -> ExperimentOut:
    """A draft: nothing changes for members until it starts. The first arm is the control."""
    with db.transaction() as conn:
        experiment_id = experiments.create(conn, principal.business_id, body, now)
        tenancy.audit(
            conn, principal, "experiment.create", _target(experiment_id), now, slug=body.slug
        )
        return experiments.out(experiments.get(conn, principal.business_id, experiment_id), now)


@router.get("", response_model=list[ExperimentOut])
def list_experiments(principal: Manager, db: Db, now: Now) -> list[ExperimentOut]:
    """Every experiment of the business, newest first."""
    with db.read() as conn:
        return [experiments.out(r, now) for r in experiments.list_all(conn, principal.business_id)]


@router.get("/{experiment_id}", response_model=ExperimentOut)
def get_experiment(experiment_id: IdPath, principal: Manager, db: Db, now: Now) -> ExperimentOut:
    with db.read() as conn:
        return experiments.out(experiments.get(conn, principal.business_id, experiment_id), now)


@router.patch("/{experiment_id}", response_model=ExperimentOut)
def update_experiment(
    experiment_id: IdPath, body: ExperimentPatch, principal: Manager, db: Db, now: Now
) -> ExperimentOut:
    """Name and hypothesis any time; the end until it stops; arms and start only as a draft
    (409 `arms_frozen` / `start_frozen` after: members would change arms)."""
    with db.transaction() as conn:
        before = experiments.out(experiments.get(conn, principal.business_id, experiment_id), now)
        experiments.update(conn, principal.business_id, experiment_id, body, now)
        after = experiments.out(experiments.get(conn, principal.business_id, experiment_id), now)
        tenancy.audit_change(
            conn, principal, "experiment.update", _target(experiment_id), now, before, after
        )
        return after


@router.post("/{experiment_id}/start", response_model=ExperimentOut)
def start_experiment(experiment_id: IdPath, principal: Manager, db: Db, now: Now) -> ExperimentOut:
    """Members get their arm's segment "exp:<slug>:<arm>" from the start (now, if it is past)."""
    with db.transaction() as conn:
        experiments.start(conn, principal.business_id, experiment_id, now)
        tenancy.audit(conn, principal, "experiment.start", _target(experiment_id), now)
        return experiments.out(experiments.get(conn, principal.business_id, experiment_id), now)


@router.post("/{experiment_id}/stop", response_model=ExperimentOut)
def stop_experiment(experiment_id: IdPath, principal: Manager, db: Db, now: Now) -> ExperimentOut:
    """For good: the segments end now and the report's window closes."""
    with db.transaction() as conn:
        experiments.stop(conn, principal.business_id, experiment_id, now)
        tenancy.audit(conn, principal, "experiment.stop", _target(experiment_id), now)
        return experiments.out(experiments.get(conn, principal.business_id, experiment_id), now)


@router.get("/{experiment_id}/report", response_model=ReportOut)
def experiment_report(
    experiment_id: IdPath, principal: Manager, db: Db, now: Now, confidence: Confidence = 0.95
) -> ReportOut:
    """Per arm: members, mean visits and spend in the window; per variant and metric: the
    difference from control with its interval (Welch), the relative uplift (delta method), the
    p-value and the minimum detectable effect. 409 `experiment_not_started` before it starts."""
    with db.read() as conn:
        found = experiments_report.report(
            conn, principal.business_id, experiment_id, now, confidence
        )
    return experiments_report.report_out(found, now)


@router.get(
    "/{experiment_id}/report.csv",
    response_class=Response,
    responses=ERROR_RESPONSES | {200: {"content": {"text/csv": {}}}},
)
def experiment_report_csv(
    experiment_id: IdPath, principal: Manager, db: Db, now: Now, confidence: Confidence = 0.95
) -> Response:
    """The comparisons as CSV, one row per variant and metric; spend in currency units."""
    with db.read() as conn:
        found = experiments_report.report(
            conn, principal.business_id, experiment_id, now, confidence
        )
    name = f"experiment-{found.experiment.slug}.csv"
    return Response(
        experiments_report.csv_text(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
