"""Login CSRF: the forms that start a session (staff sign-in, the wallet's code, sign-up) have
no session yet, so no form token. A page on another site could post one of them with the
attacker's own credentials, and the visitor's browser would then hold the attacker's wallet:
purchases shown at the till would earn points the attacker later takes. SameSite=Lax does not
stop it (a cookie set by a top-level POST's answer is kept). Browsers say where a request comes
from in Sec-Fetch-Site; a cross-site one is refused here. Browsers too old to send the header
are let through: the header is the whole check, and no honest form is ever refused."""

from __future__ import annotations

from fastapi import Depends, Request

from lealtad.errors import Forbidden


def same_site_only(request: Request) -> None:
    if request.headers.get("sec-fetch-site", "").lower() == "cross-site":
        raise Forbidden(
            "this form can only be sent from this site's own pages", code="cross_site_form"
        )


# For a route's `dependencies=`: the session-starting forms.
SAME_SITE = [Depends(same_site_only)]
