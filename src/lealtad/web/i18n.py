"""Spanish and English for every page: messages are written in English in the templates and code,
and translated from gettext catalogs (locales/<lang>/LC_MESSAGES/messages.po) read with Babel."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LANGUAGES = ("es", "en")
LOCALES = Path(__file__).resolve().parent.parent / "locales"


@cache
def _catalog(lang: str) -> dict[str, str]:
    path = LOCALES / lang / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return {}
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.fuzzy}


def translator(lang: str) -> Callable[[str], str]:
    messages = _catalog(lang)

    def gettext(message: str) -> str:
        return messages.get(message, message)

    return gettext


def pick_language(requested: str | None, accept_language: str | None, default: str) -> str:
    """An explicit choice first, then the browser's preference, then the business's locale."""
    if requested in LANGUAGES:
        return str(requested)
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return default if default in LANGUAGES else "en"
