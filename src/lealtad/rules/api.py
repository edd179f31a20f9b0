"""JSON routes of the program: the version in force, changes with their log, templates."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path

from lealtad.deps import CurrentPrincipal, Db, Manager, Now
from lealtad.http import ERROR_RESPONSES
from lealtad.kit.clock import as_utc
from lealtad.rules import service, store
from lealtad.rules.schemas import ProgramChange, ProgramVersionOut, TemplateOut
from lealtad.rules.templates import TEMPLATES, get_template
from lealtad.tenancy import service as tenancy

router = APIRouter(prefix="/api/v1", tags=["program"], responses=ERROR_RESPONSES)
Version = Annotated[int, Path(ge=1, le=1_000_000)]


def _out(row: Any, with_definition: bool) -> ProgramVersionOut:
    return ProgramVersionOut(
        version=row.version,
        effective_from=as_utc(row.effective_from),
        author=row.author,
        reason=row.reason,
        created_at=as_utc(row.created_at),
        changes=row.diff,
        definition=row.definition if with_definition else None,
        superseded_by=row.superseded_by,
    )


@router.get("/program", response_model=ProgramVersionOut)
def program(principal: CurrentPrincipal, db: Db, now: Now) -> ProgramVersionOut:
    """The program version in force now, with its definition."""
    with db.read() as conn:
        current = service.in_force(conn, principal.business_id, now)
        return _out(store.version(conn, principal.business_id, current.version), True)


@router.put("/program", response_model=ProgramVersionOut)
def change_program(body: ProgramChange, principal: Manager, db: Db, now: Now) -> ProgramVersionOut:
    """Make a new program version (manager role and up). It applies to transactions that happen
    from `effective_from` on; the change log keeps who, when, why and the diff."""
    with db.transaction() as conn:
        number, changes = service.change(
            conn,
            principal.business_id,
            body.definition,
            author=principal.actor,
            reason=body.reason,
            now=now,
            effective_from=body.effective_from,
        )
        tenancy.audit(
            conn,
            principal,
            "program.change",
            f"program:v{number}",
            now,
            reason=body.reason,
            changes=len(changes),
        )
        return _out(store.version(conn, principal.business_id, number), True)


@router.get("/program/versions", response_model=list[ProgramVersionOut])
def versions(principal: CurrentPrincipal, db: Db) -> list[ProgramVersionOut]:
    """The change log, newest first."""
    with db.read() as conn:
        return [_out(row, False) for row in service.history(conn, principal.business_id)]


@router.get("/program/versions/{version}", response_model=ProgramVersionOut)
def version(version: Version, principal: CurrentPrincipal, db: Db) -> ProgramVersionOut:
    with db.read() as conn:
        service.get_version(conn, principal.business_id, version)
        return _out(store.version(conn, principal.business_id, version), True)


@router.get("/program/templates", response_model=list[TemplateOut])
def templates(principal: CurrentPrincipal) -> list[TemplateOut]:
    """Built-in programs to start from; PUT one's definition to adopt it."""
    return [
        TemplateOut(
            name=t.name,
            title={"en": t.title_en, "es": t.title_es},
            description={"en": t.description_en, "es": t.description_es},
            currency=t.currency,
        )
        for t in TEMPLATES.values()
    ]


@router.get("/program/templates/{name}", response_model=ProgramVersionOut)
def template(name: str, principal: CurrentPrincipal) -> ProgramVersionOut:
    found = get_template(name[:64])
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return ProgramVersionOut(
        version=1,
        effective_from=epoch,
        author="template",
        reason=found.title_en,
        created_at=epoch,
        changes=[],
        definition=found.build(),
    )
