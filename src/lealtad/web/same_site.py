"""Login CSRF: the forms that start a session (staff sign-in, the wallet's code, sign-up) have
no session yet, so no form token. A page on another site could post one of them with the
attacker's own credentials, and the visitor's browser would then hold the attacker's wallet:
purchases shown at the till would earn points the attacker later takes. SameSite=Lax does not
stop it (a cookie set by a top-level POST's answer is kept).

Browsers say where a request comes from in two headers: Sec-Fetch-Site, and Origin on every
cross-origin POST (older browsers send only Origin). A request either header marks as coming
from another site is refused; Origin "null" (a sandboxed frame, a local file) too. A request
with neither header is let through: no browser posts a form across origins without Origin, and
no honest form is ever refused."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Depends, Request

from lealtad.errors import Forbidden


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _own_origins(request: Request) -> set[str]:
    """This site as the browser sees it: the address it asked for, and the configured public
    address (behind a proxy the two differ)."""
    own = {_origin_of(str(request.base_url))}
    settings = getattr(request.app.state, "settings", None)
    if settings is not None:
        own.add(_origin_of(settings.public_base_url))
    return own


def same_site_only(request: Request) -> None:
    refused = request.headers.get("sec-fetch-site", "").lower() == "cross-site"
    origin = request.headers.get("origin")
    if origin is not None and not refused:
        refused = origin.strip().lower() not in _own_origins(request)
    if refused:
        raise Forbidden(
            "this form can only be sent from this site's own pages", code="cross_site_form"
        )


# For a route's `dependencies=`: the session-starting forms.
SAME_SITE = [Depends(same_site_only)]
