"""Signed per-member survey links: the link names the business, member and survey, and only this
server can make one, so a member answers from an e-mail or the wallet without logging in. The
link does not expire: the survey's own status and dates decide whether it still takes answers."""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

from lealtad.config import Settings
from lealtad.errors import NotFound

PATH = "/s/"


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="lealtad.survey")


def link_token(secret: str, business_id: int, member_id: int, survey_id: int) -> str:
    return str(_serializer(secret).dumps([business_id, member_id, survey_id]))


def read_token(secret: str, value: str) -> tuple[int, int, int]:
    """(business id, member id, survey id); a forged or mangled token is a 404."""
    try:
        business_id, member_id, survey_id = _serializer(secret).loads(value)
        return int(business_id), int(member_id), int(survey_id)
    except (BadSignature, ValueError, TypeError) as exc:
        raise NotFound("this survey link is not valid", code="invalid_survey_link") from exc


def url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{PATH}{token}"


def member_url(settings: Settings, business_id: int, member_id: int, survey_id: int) -> str:
    token = link_token(settings.effective_secret_key, business_id, member_id, survey_id)
    return url(settings.public_base_url, token)
