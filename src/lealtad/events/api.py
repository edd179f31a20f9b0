"""JSON route for events that earn: surveys, reviews, training hours, custom events."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from lealtad.deps import AppSettings, CurrentPrincipal, Db, Now
from lealtad.events import service
from lealtad.events.schemas import EventIn, EventOut
from lealtad.http import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1", tags=["events"], responses=ERROR_RESPONSES)


@router.post("/events", response_model=EventOut, status_code=201)
def record_event(
    body: EventIn, principal: CurrentPrincipal, db: Db, now: Now, settings: AppSettings
) -> JSONResponse:
    """Record something a member did and award what the program's rules for it give. The same
    event_id again returns the first answer."""
    with db.transaction() as conn:
        status, answer = service.record(
            conn, principal, body, secret_key=settings.effective_secret_key, now=now
        )
    return JSONResponse(answer, status_code=status)
