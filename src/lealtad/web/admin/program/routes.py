"""The program in the admin console: the version in force read as sentences (each rule, stamp
cards, tiers, cashback, the points policy), what is scheduled, the templates to start from, and
the change log with each version's diff. The editor's routes are in admin_program_editor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from lealtad.deps import Db, Now
from lealtad.errors import NotFound
from lealtad.kit.clock import as_utc
from lealtad.rules import service as rules
from lealtad.rules.definition import ProgramDefinition
from lealtad.rules.earn_rule import CashbackPercent, EarnRule, Stamps
from lealtad.rules.names import name_in
from lealtad.rules.templates import TEMPLATES
from lealtad.web.admin.program.editor import router as editor_router
from lealtad.web.admin.program.forms import structured
from lealtad.web.admin.program.setting import setting_for, version_info
from lealtad.web.pages import AcceptLanguage, Lang, render_page
from lealtad.web.sessions import CurrentManager

router = APIRouter(include_in_schema=False)
router.include_router(editor_router)


@router.get("/admin/program", response_class=HTMLResponse)
def program_page(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
    saved: Annotated[int | None, Query(ge=1, le=10**6)] = None,
) -> HTMLResponse:
    with db.read() as conn:
        setting = setting_for(conn, staff.business_id, lang, accept_language)
        try:
            current = rules.in_force(conn, staff.business_id, now)
        except NotFound:
            current = None
        history = rules.history(conn, staff.business_id)
    row = next((r for r in history if current and r.version == current.version), None)
    later = [r for r in history if as_utc(r.effective_from) > now and r.superseded_by is None]
    definition = current.definition if current else ProgramDefinition()
    d = setting.describer.of(definition)
    return render_page(
        request,
        "admin_program.html",
        setting.lang,
        business=setting.business,
        staff=staff,
        saved=saved,
        definition=definition,
        program_name=name_in(definition, setting.lang),
        version=version_info(setting, row) if row else None,
        scheduled=[version_info(setting, r) for r in reversed(later)],
        rules=[
            (r.id, d.rule(r), _edit_link(r), name_in(r, setting.lang)) for r in definition.rules
        ],
        cards=[(c.id, d.stamp_card(c)) for c in definition.stamp_cards],
        tiers=d.tiers(definition.tiers) if definition.tiers else [],
        cashback=d.cashback(definition),
        points=d.points(definition.points),
        templates=_templates(setting.lang),
    )


def _edit_link(rule: EarnRule) -> str:
    """Where a rule is edited: its own form, the stamp card's or cashback's, or else JSON."""
    if structured(rule.model_dump(mode="json")):
        return f"part=rule&rule={rule.id}"
    if isinstance(rule.action, Stamps):
        return f"part=stamps&card={rule.action.card}"
    if isinstance(rule.action, CashbackPercent):
        return "part=cashback"
    return "part=json"


def _templates(lang: str) -> list[tuple[str, str, str]]:
    es = lang == "es"
    return [
        (t.name, t.title_es if es else t.title_en, t.description_es if es else t.description_en)
        for t in TEMPLATES.values()
    ]


@router.get("/admin/program/changes", response_class=HTMLResponse)
def changes_page(
    request: Request,
    staff: CurrentManager,
    db: Db,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    """Every version, newest first, with who, why, from when, and what changed."""
    with db.read() as conn:
        setting = setting_for(conn, staff.business_id, lang, accept_language)
        history = rules.history(conn, staff.business_id)
    versions = [
        version_info(setting, row) | {"changes": [setting.describer.change(c) for c in row.diff]}
        for row in history
    ]
    return render_page(
        request,
        "admin_program_changes.html",
        setting.lang,
        business=setting.business,
        staff=staff,
        versions=versions,
    )
