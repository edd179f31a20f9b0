"""Every form that posts carries the session's CSRF token: a scan of every template folder.
The route sweep (test_csrf.py) shows the server refuses a POST without the token; this shows
the pages send it, so the refusal never hits an honest user. A form without a token must be
one of the EXEMPT ones below, each with its reason."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "lealtad"
FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.IGNORECASE | re.DOTALL)
POSTS = re.compile(r"""method\s*=\s*["']?post""", re.IGNORECASE)
TOKEN = 'name="csrf"'
MACRO = re.compile(r"{%-?\s*macro\s+(\w+)\(.*?{%-?\s*endmacro", re.DOTALL)
# htmx requests from an element outside any form would carry no form field.
HTMX_UNSAFE = re.compile(r"<(\w+)\b[^>]*\bhx-(?:post|put|patch|delete)=", re.IGNORECASE)

# Forms that start a session, or act on a signed link, when there is no session yet: no
# session, no token to hold. Login CSRF (a site signing a visitor in as someone else) is
# answered in the login routes themselves (they refuse a cross-site POST: Sec-Fetch-Site), and
# SameSite=Lax does not help there, as a cookie set by a top-level POST response is kept.
EXEMPT = {
    ("admin_login.html", "/admin/login"): "staff sign-in: the session starts here",
    ("wallet_login.html", "/login"): "the wallet asks for an e-mailed code: no session yet",
    ("wallet_code.html", "/login/code"): "the wallet's code starts the member's session",
    ("join.html", "/join/"): "sign-up: a new member, no session",
    ("unsubscribe.html", "/u/"): "a signed one-click link from an e-mail; the link is the key",
    ("survey.html", "/s/"): "a signed per-member survey link; the link is the key",
}


def templates() -> list[Path]:
    found = sorted(SRC.glob("**/templates/**/*.html"))
    assert len(found) > 40, "the template folders were not found"
    return found


def token_macros(files: list[Path]) -> set[str]:
    """Macros that write the token field (the counter's hidden fields), so a call counts."""
    names = set()
    for path in files:
        for match in MACRO.finditer(path.read_text()):
            if TOKEN in match.group(0):
                names.add(match.group(1))
    return names


def carries_token(form: str, macros: set[str]) -> bool:
    return TOKEN in form or any(re.search(rf"\.{name}\(|\b{name}\(", form) for name in macros)


def exemption(path: Path, form: str) -> str | None:
    action = re.search(r"""action\s*=\s*["']([^"']*)""", form)
    target = action.group(1) if action else ""
    for (name, fragment), reason in EXEMPT.items():
        if path.name == name and fragment in target:
            return reason
    return None


def test_every_form_that_posts_sends_the_session_s_csrf_token() -> None:
    files = templates()
    macros = token_macros(files)
    assert macros, "the counter's hidden-fields macro no longer writes the token"
    missing, exempted, checked = [], set(), 0
    for path in files:
        for match in FORM.finditer(path.read_text()):
            form = match.group(0)
            opening = form[: form.index(">") + 1]
            if not POSTS.search(opening) and "hx-post" not in opening:
                continue
            checked += 1
            if carries_token(form, macros):
                continue
            if reason := exemption(path, opening):
                exempted.add((path.name, reason))
                continue
            missing.append(f"{path.relative_to(SRC)}: {opening[:160]}")
    assert checked > 40, f"only {checked} posting forms found"
    assert not missing, "forms that post without the csrf field:\n" + "\n".join(missing)
    # Every exemption is still used: a stale one would hide the next form of that name.
    assert {name for name, _ in exempted} == {name for name, _ in EXEMPT}, exempted


def test_no_element_outside_a_form_sends_an_unsafe_htmx_request() -> None:
    """htmx adds the enclosing form's fields (the token among them) to a POST; an element
    outside any form would post without it."""
    outside = []
    for path in templates():
        text = path.read_text()
        spans = [m.span() for m in FORM.finditer(text)]
        for match in HTMX_UNSAFE.finditer(text):
            if match.group(1).lower() == "form":
                continue
            if not any(start < match.start() < end for start, end in spans):
                outside.append(f"{path.relative_to(SRC)}: {match.group(0)[:120]}")
    assert not outside, "\n".join(outside)
