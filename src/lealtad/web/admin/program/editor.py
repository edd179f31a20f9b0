"""The program editor: a form per common part (a rule, a stamp card, the tiers, cashback, the
points policy), the whole definition as JSON or a template to start from; a live preview of what
a purchase would earn under the draft; saving through rules.service.change like
PUT /api/v1/program, by this staff member, for the reason given, from the date given."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from babel.dates import get_day_names
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection

from lealtad.deps import AppSettings, Db, Now
from lealtad.errors import LealtadError, NotFound
from lealtad.rules import service as rules
from lealtad.rules import store as rule_store
from lealtad.rules.names import reward_title
from lealtad.rules.starting import furnish
from lealtad.rules.templates import TEMPLATES, get_template
from lealtad.tenancy import service as tenancy
from lealtad.web import sessions
from lealtad.web.admin.program.drafts import Draft, build, validate
from lealtad.web.admin.program.fields import FieldError, Fields, PostedForm, Translate, parse_local
from lealtad.web.admin.program.forms import (
    PARTS,
    RULE_KINDS,
    TRIGGERS,
    Values,
    level_rows,
    values_for,
)
from lealtad.web.admin.program.preview import CHANNELS, ITEM_ROWS, Preview, defaults, run
from lealtad.web.admin.program.setting import Setting, setting_for
from lealtad.web.pages import AcceptLanguage, Lang, render_page
from lealtad.web.refusals import said
from lealtad.web.sessions import CurrentManager, StaffSession

router = APIRouter(include_in_schema=False)
Key = Annotated[str, Query(max_length=64)]


def _latest(conn: Connection, bid: int) -> Any:
    row = rule_store.version(conn, bid, rule_store.latest_version_number(conn, bid))
    if row is None:
        raise NotFound("this business has no program yet", code="program_not_found")
    return row


def _editor(
    request: Request,
    setting: Setting,
    staff: StaffSession,
    *,
    part: str,
    values: Values,
    base: Any,
    preview: Preview,
    errors: list[FieldError],
    status: int = 200,
    template: str = "admin_program_edit.html",
) -> HTMLResponse:
    tiers = (base.definition.get("tiers") or {}).get("levels", [])
    return render_page(
        request,
        template,
        setting.lang,
        status,
        business=setting.business,
        staff=staff,
        part=part,
        values=values,
        errors=errors,
        preview=preview,
        base_version=base.version,
        tier_ids=[t["id"] for t in tiers if isinstance(t, dict) and "id" in t],
        # A rule is named as members read it, even where the form has no title field (remove).
        rule_names={
            r["id"]: ((r.get("title") or {}).get(setting.lang) or r.get("name") or r["id"])
            for r in base.definition.get("rules", [])
            if isinstance(r, dict) and "id" in r
        },
        tier_names={
            t["id"]: (t.get("title") or {}).get(setting.lang) or t.get("name", t["id"])
            for t in tiers
            if isinstance(t, dict) and "id" in t
        },
        card_ids=[c.get("id") for c in base.definition.get("stamp_cards", [])],
        reward_choices=[
            (slug, reward_title(titles, setting.lang))
            for slug, titles in sorted(setting.describer.rewards.items())
        ],
        locations=setting.locations,
        level_rows=level_rows(values),
        rule_kinds=RULE_KINDS,
        triggers=TRIGGERS,
        channels=CHANNELS,
        item_rows=ITEM_ROWS,
        currency=setting.business.currency,
        weekdays=[
            (str(i), str(name))
            for i, name in sorted(get_day_names("wide", locale=setting.lang).items())
        ],
    )


@router.get("/admin/program/edit", response_class=HTMLResponse)
def edit_page(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    settings: AppSettings,
    part: Key = "json",
    rule: Key = "",
    card: Key = "",
    kind: Key = "",
    template: Key = "",
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    """One part of the latest version in its form; the preview starts with both sides equal."""
    with db.read() as conn:
        setting = setting_for(conn, staff.business_id, lang, accept_language)
        base = _latest(conn, staff.business_id)
        part = part if part in PARTS else "json"
        exponent = setting.describer.exponent
        values = values_for(
            part, base.definition, card if part == "stamps" else rule, kind, exponent
        )
        errors: list[FieldError] = []
        start = base.definition
        if part == "json" and template:
            try:
                start = get_template(template).build().as_json()
                values["definition"] = [json.dumps(start, indent=2, ensure_ascii=False)]
                values["template"] = [template]
            except NotFound:
                errors.append(("template", setting._("There is no such template.")))
        values |= defaults(now, setting.business.timezone, exponent)
        preview = run(
            conn,
            setting.business,
            Fields((k, v) for k, vs in values.items() for v in vs),
            validate(start, setting._),
            now=now,
            secret_key=settings.effective_secret_key,
            describer=setting.describer,
        )
    return _editor(
        request,
        setting,
        staff,
        part=part,
        values=values,
        base=base,
        preview=preview,
        errors=errors,
        status=404 if errors else 200,
    )


def _posted(conn: Connection, staff: StaffSession, form: Fields) -> tuple[Setting, Any, str, Draft]:
    setting = setting_for(conn, staff.business_id, form.get("lang") or None, None)
    base = _latest(conn, staff.business_id)
    part = form.get("part")
    return (
        setting,
        base,
        part,
        build(part, form, base.definition, setting.describer.exponent, setting._),
    )


@router.post("/admin/program/preview", response_class=HTMLResponse)
def preview_page(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    settings: AppSettings,
    form: PostedForm,
) -> HTMLResponse:
    """The draft in the form against the version in force, for the sample purchase. HTMX asks
    for the result alone; without JavaScript the whole editor comes back with it."""
    sessions.require_csrf(staff.csrf, form.get("csrf"))
    with db.read() as conn:
        setting, base, part, drafted = _posted(conn, staff, form)
        preview = run(
            conn,
            setting.business,
            form,
            drafted,
            now=now,
            secret_key=settings.effective_secret_key,
            describer=setting.describer,
        )
    # HTMX asks for the result alone (drawn with the part's fields, so that the draft's
    # problems are named by their labels); without JavaScript the whole editor comes back.
    fragment = request.headers.get("HX-Request") == "true"
    return _editor(
        request,
        setting,
        staff,
        part=part if part in PARTS else "json",
        values=form.values,
        base=base,
        preview=preview,
        errors=drafted.errors,
        template="admin_program_preview_alone.html" if fragment else "admin_program_edit.html",
    )


def _furnish(
    conn: Connection, staff: StaffSession, part: str, template: str, now: datetime
) -> None:
    """A program saved from a template brings the template's products and rewards along, so
    its rules earn from the counter's buttons and its rewards can be redeemed."""
    if part != "json" or template not in TEMPLATES:
        return
    added = furnish(conn, staff.business_id, TEMPLATES[template], now)
    if added.products or added.rewards:
        tenancy.audit(
            conn,
            staff.principal,
            "program.template_furnished",
            f"template:{template}",
            now,
            products=added.products,
            rewards=added.rewards,
        )


def _refusal(_: Translate, exc: LealtadError) -> str:
    return {
        "program_unchanged": _("Nothing changed: the draft is the same as the latest version."),
        "effective_in_past": _(
            "A change takes effect now or later. It can take effect in the past only after the "
            "last purchase or event that earned points, to bring in the history of a business "
            "that starts with Lealtad."
        ),
        "effective_out_of_range": _("That date is out of range."),
    }.get(exc.code) or said(exc, _)


@router.post("/admin/program/save", response_class=HTMLResponse)
def save(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    settings: AppSettings,
    form: PostedForm,
) -> Response:
    """A valid draft becomes the next version, by this staff member, for the reason given."""
    sessions.require_csrf(staff.csrf, form.get("csrf"))
    with db.read() as conn:
        setting, base, part, drafted = _posted(conn, staff, form)
    _ = setting._
    errors = list(drafted.errors)
    reason = form.get("reason")
    if not 3 <= len(reason) <= 500:
        errors.append(("reason", _("Say why you change the program (3 to 500 characters).")))
    effective = None
    if form.get("effective_from"):
        effective = parse_local(form.get("effective_from"), setting.business.timezone)
        if effective is None:
            errors.append(("effective_from", _("is not a valid date and time")))
    if form.get("base_version") != str(base.version):
        errors.append(
            (
                "base_version",
                _("The program changed while you were editing (now version {n}).").format(
                    n=base.version
                )
                + " "
                + _("Reload the page to start from it."),
            )
        )
    status = 422
    if not errors and drafted.definition is not None:
        try:
            with db.transaction() as conn:
                number, changes = rules.change(
                    conn,
                    staff.business_id,
                    drafted.definition,
                    author=staff.principal.actor,
                    reason=reason,
                    now=now,
                    effective_from=effective,
                )
                tenancy.audit(
                    conn,
                    staff.principal,
                    "program.change",
                    f"program:v{number}",
                    now,
                    reason=reason,
                    changes=len(changes),
                )
                _furnish(conn, staff, part, form.get("template"), now)
            return RedirectResponse(
                f"/admin/program?saved={number}&lang={setting.lang}", status_code=303
            )
        except LealtadError as exc:
            errors.append(("", _refusal(_, exc)))
            status = exc.http_status
    with db.read() as conn:
        preview = run(
            conn,
            setting.business,
            form,
            drafted,
            now=now,
            secret_key=settings.effective_secret_key,
            describer=setting.describer,
        )
    return _editor(
        request,
        setting,
        staff,
        part=part if part in PARTS else "json",
        values=form.values,
        base=base,
        preview=preview,
        errors=errors,
        status=status,
    )
