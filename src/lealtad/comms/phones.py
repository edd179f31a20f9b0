"""Members' phone numbers as the providers want them (E.164: "+" and up to 15 digits), and the
words of a reply that asks to stop. Pure: no database, no network."""

from __future__ import annotations

import re
import unicodedata

from lealtad.members.model import normalise_phone

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
# What members answer to stop messages, in Spanish and English, as carriers recognise them.
STOP_WORDS = frozenset({"BAJA", "STOP", "CANCELAR", "UNSUBSCRIBE"})


def e164(phone: str | None, country_code: str) -> str | None:
    """The number with its calling code: stored numbers without one are national numbers of the
    business's country (its trunk "0", as in 07700 900123, dropped); None when it cannot be one."""
    if not phone:
        return None
    normal = normalise_phone(phone)
    if normal is None:
        return None
    if not normal.startswith("+"):
        if not country_code.isdigit():
            return None
        normal = f"+{country_code}{normal.removeprefix('0')}"
    return normal if _E164.match(normal) else None


def stored_forms(number: str, country_code: str) -> list[str]:
    """The ways a member's number may have been typed in, for a provider's E.164 number (or a
    WhatsApp id, the same digits without "+"): with its code, and as a national number."""
    digits = number.strip().removeprefix("+")
    if not digits.isdigit():
        return []
    forms = [f"+{digits}"]
    if country_code and digits.startswith(country_code):
        national = digits[len(country_code) :]
        forms += [national, "0" + national]
    return forms


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


def asks_to_stop(text: str) -> bool:
    """ "BAJA", "Stop", "cancelar." or "Unsubscribe!": a reply whose only word is a stop word,
    in any case and with or without accents or punctuation around it."""
    words = re.findall(r"[A-Z]+", _folded(text))
    return len(words) == 1 and words[0] in STOP_WORDS
