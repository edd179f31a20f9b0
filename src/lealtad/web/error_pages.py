"""Errors as pages: a request a person's browser made on a page route (a form, a link, a QR) is
answered with a page in that surface's look and in the page's language, naming the fields by
their labels; the JSON API and the scripts' own JSON routes keep the error envelope.

The one decision, by route: a route left out of the OpenAPI schema (the page routers are
`include_in_schema=False`) that does not take a JSON body is a page; an address no route
matched is a page unless it is under the API's or the operators' prefixes. http.py asks
`draw` before writing any error, so every form present and future is covered."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi.exceptions import RequestValidationError
from fastapi.params import Form
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from lealtad.security.limits import TooManyAttempts
from lealtad.web import form_labels, limit_pages, refusals
from lealtad.web.admin.program.fields import explain
from lealtad.web.i18n import pick_language, translator
from lealtad.web.pages import render_page

Translate = form_labels.Translate

# Machines read these; their errors stay JSON whatever asked.
MACHINE_PREFIXES = ("/api/", "/static/", "/docs", "/redoc", "/openapi.json")
MACHINE_PATHS = frozenset({"/api", "/healthz", "/readyz", "/metrics"})
# The upload of a till's export: past the body limit, the page says where a big file goes.
TILL_FILES = "/admin/settings/connectors/files"


def _takes_json(route: APIRoute) -> bool:
    body = route.body_field
    return body is not None and not isinstance(getattr(body, "field_info", None), Form)


def is_page(request: Request) -> bool:
    path = request.url.path
    if path in MACHINE_PATHS or path.startswith(MACHINE_PREFIXES):
        return False
    route = request.scope.get("route")
    if isinstance(route, APIRoute):
        return not route.include_in_schema and not _takes_json(route)
    return True


def surface(path: str) -> str:
    if path.startswith("/admin"):
        return "admin"
    if path.startswith("/counter"):
        return "counter"
    return "member"


def _referer(request: Request) -> tuple[str, dict[str, list[str]]]:
    """The page the request came from, as a path on this site ("" when it is not one)."""
    parts = urlsplit(request.headers.get("referer", "")[:2000])
    if parts.netloc != request.url.netloc or not parts.path.startswith("/"):
        return "", {}
    if parts.path.startswith("//"):
        return "", {}
    return parts.path + (f"?{parts.query}" if parts.query else ""), parse_qs(parts.query)


def language(request: Request, exc: Exception | None) -> str:
    """The page's language: asked for in the address or the form, else the page the form was
    on, else the browser's; Spanish when nothing says."""
    asked: Any = request.query_params.get("lang")
    body = getattr(exc, "body", None)  # a refused form keeps what was sent
    if not asked and body is not None and hasattr(body, "get"):
        asked = body.get("lang")
    if not asked:
        asked = next(iter(_referer(request)[1].get("lang", [])), None)
    return pick_language(
        asked if isinstance(asked, str) else None, request.headers.get("accept-language"), "es"
    )


def _home(path: str) -> str:
    parts = path.split("/")
    if len(parts) > 2 and parts[1] in ("w", "join") and parts[2]:
        return f"/{parts[1]}/{parts[2]}"
    return {"admin": "/admin", "counter": "/counter"}.get(surface(path), "/")


def _back(request: Request, code: str) -> str:
    if code == "business_not_found":
        return "/"
    came_from, _query = _referer(request)
    if came_from and (request.method != "GET" or came_from != request.url.path):
        return came_from
    return _home(request.url.path)


def field_problems(route_path: str, errors: Any, _: Translate) -> list[str]:
    """Each refused field as "Label: what is wrong", once; the hidden fields as one line."""
    lines: list[str] = []
    stale = False
    for error in errors or []:
        loc = [str(p) for p in error.get("loc", ())]
        field = loc[1] if len(loc) > 1 and loc[0] == "body" else (loc[-1] if loc else "")
        name = form_labels.label(route_path, field, _)
        if name is None:
            stale = True
            continue
        line = f"{name}: {explain(error, _)}"
        if line not in lines:
            lines.append(line)
    if stale:
        lines.append(_("The form is out of date. Reload the page and fill it in again."))
    return lines


def _words(status: int, code: str, exc: Exception | None, lang: str) -> tuple[str, str]:
    """A heading and a sentence for the refusal, in the page's language."""
    _ = translator(lang)
    if isinstance(exc, TooManyAttempts):
        return _("Too many attempts"), limit_pages.message(lang, exc)
    known = {
        "business_not_found": (
            _("We could not find this business"),
            _(
                "The link or QR code may be mistyped or out of date. Ask at the shop for its "
                "current link."
            ),
        ),
        "csrf_token_invalid": (
            _("This form has expired"),
            _("This form has expired. Reload the page and try again."),
        ),
        "cross_site_form": (
            _("This form was refused"),
            _("This form can only be sent from this site's own pages."),
        ),
        "role_required": (_("Not allowed"), _("Your role does not allow this.")),
        "body_too_large": (
            _("Too much was sent"),
            _("What was sent is too large. Shorten it and try again."),
        ),
        "method_not_allowed": (
            _("This page cannot be opened like that"),
            _("This address only receives forms. Go back and send the form again."),
        ),
    }
    if code in known:
        return known[code]
    return refusals.by_status(status, _)


def draw(
    request: Request,
    status: int,
    code: str,
    _message: str,
    _details: Any,
    exc: Exception | None,
) -> Response | None:
    """The error as a page, or None when the request was not a page's (http.answer_error)."""
    if not is_page(request):
        return None
    lang = language(request, exc)
    _ = translator(lang)
    heading, sentence = _words(status, code, exc, lang)
    if code == "body_too_large" and request.url.path == TILL_FILES:
        sentence = _(
            "The file is larger than an upload takes. Split it, or drop it in the watched "
            "folder (lealtad connectors watch), which takes files of any size."
        )
    route = request.scope.get("route")
    route_path = route.path if isinstance(route, APIRoute) else request.url.path
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    problems = field_problems(route_path, errors, _)
    if problems:
        heading = _("Please check the form")
        sentence = _("Nothing was saved. Go back to the form and correct:")
    where = surface(request.url.path)
    fragment = request.headers.get("HX-Request") == "true"
    bases = {"admin": "admin_base.html", "counter": "counter_error_base.html"}
    return render_page(
        request,
        "error_fragment.html" if fragment else "error_page.html",
        lang,
        status,
        base_template=bases.get(where, "base.html"),
        surface=where,
        heading=heading,
        sentence=sentence,
        problems=problems,
        code=code,
        back=_back(request, code),
        back_text=_("Back to the form") if problems else _("Go back"),
    )
