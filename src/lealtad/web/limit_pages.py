"""How pages answer a locked key (security/limits.py): a 429 with Retry-After and a message in
the page's language."""

from __future__ import annotations

from typing import TypeVar

from starlette.responses import Response

from lealtad.security.limits import TooManyAttempts
from lealtad.web.i18n import translator

R = TypeVar("R", bound=Response)


def message(language: str, exc: TooManyAttempts) -> str:
    _ = translator(language)
    return _("Too many failed attempts. Try again in %(minutes)s minutes.") % {
        "minutes": exc.minutes
    }


def search_message(language: str, exc: TooManyAttempts) -> str:
    """For searches that found nobody too often (the counter's member search)."""
    _ = translator(language)
    return _(
        "Too many searches found nobody. Wait %(minutes)s minutes, or ask the customer for "
        "their card."
    ) % {"minutes": exc.minutes}


def with_retry_after(response: R, exc: TooManyAttempts) -> R:
    response.headers["Retry-After"] = str(exc.retry_after)
    return response
