"""Surveys a business writes and the answers its members give, once each."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Table

from lealtad.db.metadata import Id, business_column, id_column, metadata
from lealtad.security.fields import EncryptedJSON

surveys = Table(
    "surveys",
    metadata,
    id_column(),
    business_column(),
    Column("name", String(200), nullable=False),
    # {"es": ..., "en": ...}: shown to members in their language.
    Column("title", JSON, nullable=False),
    # [{"id", "kind": nps|rating|choice|text, "text": {"es", "en"}, "options": [...], "required"}]
    Column("questions", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    # Offered in the member wallet as well as through campaign links.
    Column("in_wallet", Boolean, nullable=False),
    Column("opens_at", DateTime, nullable=True),
    Column("closes_at", DateTime, nullable=True),
    Column("created_by", String(100), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

survey_responses = Table(
    "survey_responses",
    metadata,
    id_column(),
    business_column(),
    Column("survey_id", Id, ForeignKey("surveys.id"), nullable=False, index=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    # Encrypted (D28): free text is whatever the member wrote, names and numbers included.
    Column("answers", EncryptedJSON("survey_responses.answers"), nullable=False),
    # The 0-10 NPS score, kept apart so results are one aggregate query.
    Column("nps", Integer, nullable=True),
    # "wallet" or "link" (a campaign e-mail).
    Column("channel", String(16), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Index("uq_survey_responses_once", "business_id", "survey_id", "member_id", unique=True),
)
