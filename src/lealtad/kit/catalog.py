"""The gettext catalogs (locales/<lang>/LC_MESSAGES/messages.po, read with Babel) for every layer
that speaks to people: pages, e-mails, the names of program things. English is the msgid, so a
language without a catalog, or a message not in it, reads as the English text."""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALES = Path(__file__).resolve().parent.parent / "locales"
Gettext = Callable[[str], str]
Ngettext = Callable[[str, str, int], str]


def _english_plural(n: int) -> int:
    return 0 if n == 1 else 1


@dataclass(frozen=True)
class Catalog:
    messages: dict[str, str] = field(default_factory=dict)
    # (singular msgid, plural msgid) -> one text per plural form of the language
    plurals: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    plural_form: Callable[[int], int] = _english_plural


@cache
def catalog(lang: str) -> Catalog:
    path = LOCALES / lang / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return Catalog()
    with path.open("rb") as handle:
        read = read_po(handle, locale=lang)
    messages: dict[str, str] = {}
    plurals: dict[tuple[str, str], tuple[str, ...]] = {}
    for m in read:
        if not m.id or m.fuzzy:
            continue
        if isinstance(m.id, tuple):
            forms = tuple(str(s) for s in (m.string or ()))
            if all(forms):
                plurals[(str(m.id[0]), str(m.id[1]))] = forms
        elif m.string:
            messages[str(m.id)] = str(m.string)
    # Without a Plural-Forms header Babel takes the language's rule from the CLDR (es: n != 1).
    return Catalog(messages, plurals, _gettext.c2py(read.plural_expr))


def gettext(lang: str) -> Gettext:
    messages = catalog(lang).messages

    def translate(message: str) -> str:
        return messages.get(message, message)

    return translate


def ngettext(lang: str) -> Ngettext:
    """The form of a message for a count, as gettext's ngettext: "1 stamp" / "2 stamps"."""
    found = catalog(lang)

    def translate(singular: str, plural: str, n: int) -> str:
        forms = found.plurals.get((singular, plural))
        if forms is None:
            return singular if _english_plural(n) == 0 else plural
        index = found.plural_form(abs(n))
        return forms[min(index, len(forms) - 1)]

    return translate
