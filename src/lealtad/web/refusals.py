"""A refusal from a service said in the page's language when the page has no sentence of its
own for its code: the catalog's translation of the service's message when there is one, else a
sentence for its kind (not found, not allowed, a clash...). Never the service's own English,
which may name machine fields (`slug:`, `cost_unit:`) or ids."""

from __future__ import annotations

from collections.abc import Callable

from lealtad.errors import LealtadError

Translate = Callable[[str], str]


def by_status(status: int, _: Translate) -> tuple[str, str]:
    """A heading and a sentence for a refusal of this HTTP status."""
    if status in (400, 422):
        return _("Please check the form"), _(
            "Something in what was sent is not right. Go back, check the form and try again."
        )
    if status == 401:
        return _("Please log in"), _("Log in first, then try again.")
    if status == 403:
        return _("Not allowed"), _("You are not allowed to do this.")
    if status == 404:
        return _("Page not found"), _(
            "There is nothing at this address. The link may be mistyped, or what it showed "
            "was removed."
        )
    if status == 409:
        return _("Something changed meanwhile"), _(
            "This clashes with a change made meanwhile. Reload the page and try again."
        )
    if status == 503:
        return _("Busy right now"), _("The system is busy. Try again in a moment.")
    return _("Something went wrong"), _(
        "Something went wrong on our side. Please try again in a moment."
    )


def said(exc: LealtadError, _: Translate) -> str:
    own = _(exc.message)
    if own != exc.message:
        return own
    if exc.http_status == 404:
        return _("What this refers to is not here: it may have been removed.")
    return by_status(exc.http_status, _)[1]
