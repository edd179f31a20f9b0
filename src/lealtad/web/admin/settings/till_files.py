"""Till files in the admin console (Settings > Connectors > Till files): a manager uploads the
file a till exported, it goes through the importer as `lealtad import purchases` does, and the
page shows what it loaded, what was already there and each rejected row with its reason, with a
download of the rejects and the files received before (uploaded here or dropped in a watched
folder). A refused file is said in words, never a 500."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lealtad.config import Settings
from lealtad.connectors import till_files
from lealtad.deps import AppSettings, Db, Now
from lealtad.errors import Invalid, LealtadError, NotFound
from lealtad.kit.clock import FixedClock
from lealtad.kit.ids import MAX_ID, IdPath
from lealtad.tenancy import store as tenancy_store
from lealtad.web import sessions
from lealtad.web.admin.console import AcceptLanguage, console
from lealtad.web.admin.settings.business import error_message
from lealtad.web.i18n import translator
from lealtad.web.pages import Lang, render_page
from lealtad.web.sessions import CurrentManager, StaffSession

router = APIRouter(include_in_schema=False)
PAGE = "/admin/settings/connectors/files"
HISTORY = 20
SHOWN_REJECTS = 50
Upload = Annotated[UploadFile | None, File()]
# What may stay of a file's name: letters, digits and a few marks (it names a temporary file).
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

# The catalog's English message for each outcome and source.
OUTCOMES = {
    till_files.LOADED: "Loaded",
    till_files.WITH_REJECTS: "Loaded, with rows rejected",
    till_files.REFUSED: "Refused",
}
SOURCES = {till_files.UPLOAD: "Uploaded", till_files.FOLDER: "Watched folder"}


def upload_limit(settings: Settings) -> int:
    """The largest file the form takes: the request body limit less room for the form itself."""
    return settings.max_body_bytes - 16 * 1024


def refusal(language: str, exc: LealtadError, limit: int) -> str:
    _ = translator(language)
    known = {
        "till_file_missing": _("Choose the file the till exported."),
        "till_file_too_large": _(
            "The file is larger than %(size)s. Split it, or drop it in the watched folder "
            "(lealtad connectors watch), which takes files of any size."
        )
        % {"size": f"{limit // 1024} KB"},
        "till_file_empty": _("The file is empty."),
        "till_file_not_csv": _(
            "That is not a CSV file. Export the sales from the till as CSV (a .csv file)."
        ),
        "till_file_spreadsheet": _(
            'That is a spreadsheet (Excel), not CSV. Save it as "CSV UTF-8 (comma delimited)" '
            "and upload that file."
        ),
        "till_file_encoding": _(
            "The file is not UTF-8 text. Save or export it as CSV UTF-8 and upload it again."
        ),
        "till_file_semicolons": _(
            "The columns are separated by semicolons. Export the file with commas as separators "
            '("CSV UTF-8 (comma delimited)").'
        ),
        "till_file_columns": _(
            "The first row must name the columns: receipt_id and amount (in cents), and "
            "optionally card_number, member_id, occurred_at, location_id, channel, items."
        ),
        "till_file_header": _("The first row of the file (its column names) cannot be read."),
        "till_file_busy": _(
            "This file is being imported right now. Wait for that import to end; uploading it "
            "again then loads nothing twice."
        ),
        "till_file_unreadable": _("The file cannot be imported."),
        "location_not_found": _("Choose one of the business's locations."),
    }
    said = known.get(exc.code)
    if said is None:
        return error_message(language, exc)
    detail = getattr(exc, "detail", "")
    if exc.code == "till_file_columns" and detail:
        said += " " + _("Unknown columns: %(names)s.") % {"names": detail}
    if exc.code in ("till_file_header", "till_file_unreadable"):
        said += f" ({exc.message})"
    return said


@router.get(PAGE, response_class=HTMLResponse)
def files_page(
    request: Request,
    staff: CurrentManager,
    db: Db,
    settings: AppSettings,
    file: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    return _page(request, db, settings, staff, lang, accept_language, shown_id=file)


def _saved(upload: UploadFile, folder: Path, limit: int) -> tuple[Path, str]:
    """The upload written to `folder` under its own (cleaned) name, read in chunks and refused
    once past the limit; its name as the browser gave it."""
    given = Path((upload.filename or "").replace("\\", "/")).name[:200]
    path = folder / (_UNSAFE.sub("-", given).lstrip(".") or "till-file.csv")
    written = 0
    with path.open("wb") as out:
        while chunk := upload.file.read(1 << 20):
            written += len(chunk)
            if written > limit:
                raise Invalid("the file is too large", code="till_file_too_large")
            out.write(chunk)
    return path, given or path.name


@router.post(PAGE, response_class=HTMLResponse)
def upload_file(
    request: Request,
    staff: CurrentManager,
    db: Db,
    settings: AppSettings,
    now: Now,
    till_file: Upload = None,
    location: Annotated[str, Form(max_length=20)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
    accept_language: AcceptLanguage = None,
) -> Response:
    """Imports the uploaded file through the importer; the answer is the page, redirected to the
    file's result so that reloading it uploads nothing again."""
    sessions.require_csrf(staff.csrf, csrf)
    limit = upload_limit(settings)
    form = {"location": location}
    try:
        if till_file is None or not till_file.filename:
            raise Invalid("no file chosen", code="till_file_missing")
        location_id = _location(location)
        with tempfile.TemporaryDirectory(prefix="lealtad-till-") as folder:
            path, given = _saved(till_file, Path(folder), limit)
            done = till_files.import_file(
                db,
                staff.business_id,
                path,
                source=till_files.UPLOAD,
                file_name=given,
                actor=staff.principal.actor,
                secret_key=settings.effective_secret_key,
                clock=FixedClock(now),
                location_id=location_id,
                principal=staff.principal,
                refuse_running=True,
            )
    except LealtadError as exc:
        with db.read() as conn:
            language = console(conn, staff, None, accept_language)[2]
        error = refusal(language, exc, limit)
        return _page(
            request, db, settings, staff, None, accept_language, exc.http_status, error, form
        )
    return RedirectResponse(f"{PAGE}?file={done.id}#result", status_code=303)


def _location(value: str) -> int | None:
    if not value:
        return None
    if not (value.isdigit() and 1 <= int(value) <= MAX_ID):
        raise Invalid("no such location", code="location_not_found")
    return int(value)


@router.get(PAGE + "/{file_id}/rejects.csv")
def rejects_csv(file_id: IdPath, staff: CurrentManager, db: Db) -> Response:
    """The rejected rows of a file, as the importer wrote them: line, reason and the row."""
    with db.read() as conn:
        found = till_files.rejects(conn, staff.business_id, file_id)
    if found is None:
        raise NotFound("this file has no rejected rows", code="till_file_not_found")
    name, text = found
    stem = _UNSAFE.sub("-", Path(name).name).strip("-.") or "till-file"
    return Response(
        text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{stem}.rejects.csv"',
            "Cache-Control": "no-store",
        },
    )


def _page(
    request: Request,
    db: Db,
    settings: Settings,
    staff: StaffSession,
    lang: str | None,
    accept_language: str | None,
    status: int = 200,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    shown_id: int | None = None,
) -> HTMLResponse:
    with db.read() as conn:
        business, _me, language = console(conn, staff, lang, accept_language)
        history = till_files.recent(conn, staff.business_id, HISTORY)
        shown = till_files.one(conn, staff.business_id, shown_id) if shown_id else None
        rejected: list[dict[str, str]] = []
        if shown is not None and shown.has_rejects:
            kept = till_files.rejects(conn, staff.business_id, shown.id)
            rejected = till_files.rejected_rows(kept[1], SHOWN_REJECTS) if kept else []
        locations = tenancy_store.business_locations(conn, staff.business_id)
    shown_refusal = None
    if shown is not None and shown.error_code:
        refused = till_files.TillFileRefused(shown.error_code, shown.problem or "")
        shown_refusal = refusal(language, refused, upload_limit(settings))
    return render_page(
        request,
        "admin_settings_till_files.html",
        language,
        status,
        business=business,
        staff=staff,
        history=history,
        shown=shown,
        shown_refusal=shown_refusal,
        rejected=rejected,
        shown_rejects=SHOWN_REJECTS,
        locations=locations,
        location_names={row.id: row.name for row in locations},
        outcomes=OUTCOMES,
        sources=SOURCES,
        limit_kb=upload_limit(settings) // 1024,
        form=form or {},
        error=error,
        notice=None,
    )
