"""Spanish and English for every page: messages are written in English in the templates and code,
and translated from gettext catalogs (locales/<lang>/LC_MESSAGES/messages.po) read with Babel."""

from __future__ import annotations

from collections.abc import Callable

from lealtad.kit.catalog import LOCALES, Ngettext, catalog, gettext, ngettext

LANGUAGES = ("es", "en")
__all__ = ["LANGUAGES", "LOCALES", "pick_language", "plural_translator", "translator"]


def _catalog(lang: str) -> dict[str, str]:
    return catalog(lang).messages


def translator(lang: str) -> Callable[[str], str]:
    return gettext(lang)


def plural_translator(lang: str) -> Ngettext:
    """ngettext for a page: `ngettext("%(count)s stamp", "%(count)s stamps", n)`."""
    return ngettext(lang)


def pick_language(requested: str | None, accept_language: str | None, default: str) -> str:
    """An explicit choice first, then the browser's preference, then the business's locale."""
    if requested in LANGUAGES:
        return str(requested)
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return default if default in LANGUAGES else "en"
