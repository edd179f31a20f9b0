"""Member cards and profile rules: card numbers, signed QR tokens, normalised contact details."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

CHANNELS = ("email", "sms", "push", "whatsapp")
# Any other status (only "erased" so far) means the card no longer names anyone: it neither
# earns nor spends, and no card, code or contact search finds the member.
ACTIVE = "active"
ENROLMENT_CHANNELS = ("counter", "api", "self", "import")
CARD_DIGITS = 10
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_PHONE_NOISE = re.compile(r"[\s().\-/]")
_PHONE = re.compile(r"^\+?[0-9]{6,15}$")
_TAG = re.compile(r"^[a-z0-9][a-z0-9_\-:. ]{0,39}$")


def luhn_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def new_card_number() -> str:
    """Ten digits, the last a Luhn check digit so a mistyped number is caught at the counter."""
    body = str(secrets.randbelow(9 * 10 ** (CARD_DIGITS - 2)) + 10 ** (CARD_DIGITS - 2))
    return body + luhn_digit(body)


def new_referral_code() -> str:
    """Eight characters from an alphabet without look-alikes (no 0/O, 1/I), easy to read aloud."""
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    return "".join(secrets.choice(alphabet) for _ in range(8))


def is_card_number(value: str) -> bool:
    return len(value) == CARD_DIGITS and value.isdigit() and luhn_digit(value[:-1]) == value[-1]


def normalise_card_number(value: str) -> str:
    return re.sub(r"[\s-]", "", value)


def normalise_email(value: str) -> str | None:
    value = value.strip().lower()
    return value if _EMAIL.match(value) else None


def normalise_phone(value: str) -> str | None:
    value = _PHONE_NOISE.sub("", value.strip())
    if value.startswith("00"):
        value = "+" + value[2:]
    return value if _PHONE.match(value) else None


def mask_email(value: str | None) -> str:
    """ "n•••@example.org": enough for its owner to recognise an address, too little to use it."""
    if not value or "@" not in value:
        return ""
    local, _, domain = value.partition("@")
    return f"{local[:1]}•••@{domain}"


def mask_phone(value: str | None) -> str:
    """ "•••• 789": the last three digits only."""
    if not value:
        return ""
    return "•••• " + value[-3:]


def normalise_tag(value: str) -> str | None:
    value = value.strip().lower()
    return value if _TAG.match(value) else None


def _b36(n: int) -> str:
    chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = chars[r] + out
        if n == 0:
            return out


def _mac(secret: str, business_id: int, member_id: int, version: int) -> str:
    message = f"qr|{business_id}|{member_id}|{version}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()[:10]
    return base64.b32encode(digest).decode()


def qr_token(secret: str, business_id: int, member_id: int, version: int) -> str:
    """Upper-case letters, digits and dashes only: QR's alphanumeric mode, a small dense code."""
    mac = _mac(secret, business_id, member_id, version)
    return f"LT1-{_b36(business_id)}-{_b36(member_id)}-{version}-{mac}"


def read_qr_token(secret: str, token: str) -> tuple[int, int, int] | None:
    """(business id, member id, card version) of a genuine token; None for anything else."""
    parts = token.strip().upper().split("-")
    if len(parts) != 5 or parts[0] != "LT1":
        return None
    try:
        business_id, member_id, version = int(parts[1], 36), int(parts[2], 36), int(parts[3])
    except ValueError:
        return None
    if not hmac.compare_digest(
        parts[4].encode(), _mac(secret, business_id, member_id, version).encode()
    ):
        return None
    return business_id, member_id, version


# The wallet's card changes every minute and each code is good for that minute and the next.
ROTATION_SECONDS = 60
ROTATION_GRACE = 1


def _rotating_mac(secret: str, business_id: int, member_id: int, version: int, step: int) -> str:
    message = f"qr2|{business_id}|{member_id}|{version}|{step}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()[:10]
    return base64.b32encode(digest).decode()


def rotating_token(
    secret: str, business_id: int, member_id: int, version: int, unix_seconds: float
) -> str:
    """The wallet's QR (decisions D20): a screenshot of it stops working within two minutes."""
    step = int(unix_seconds // ROTATION_SECONDS)
    mac = _rotating_mac(secret, business_id, member_id, version, step)
    return f"LT2-{_b36(business_id)}-{_b36(member_id)}-{version}-{_b36(step)}-{mac}"


class StaleCardToken(Exception):
    """A genuine wallet code from an earlier minute: the member should refresh the card."""


def read_rotating_token(
    secret: str, token: str, unix_seconds: float
) -> tuple[int, int, int] | None:
    """(business id, member id, card version) of a genuine, current wallet code; None for
    anything forged or mangled; StaleCardToken for a genuine one that has run out."""
    parts = token.strip().upper().split("-")
    if len(parts) != 6 or parts[0] != "LT2":
        return None
    try:
        business_id, member_id = int(parts[1], 36), int(parts[2], 36)
        version, step = int(parts[3]), int(parts[4], 36)
    except ValueError:
        return None
    expected = _rotating_mac(secret, business_id, member_id, version, step)
    if not hmac.compare_digest(parts[5].encode(), expected.encode()):
        return None
    now_step = int(unix_seconds // ROTATION_SECONDS)
    if not now_step - ROTATION_GRACE <= step <= now_step:
        raise StaleCardToken(token)
    return business_id, member_id, version
