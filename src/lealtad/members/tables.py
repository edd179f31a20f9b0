"""Members of a business's program and their cards."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from lealtad.db.metadata import Id, business_column, id_column, metadata
from lealtad.security.fields import EncryptedDate, EncryptedString

members = Table(
    "members",
    metadata,
    id_column(),
    business_column(),
    Column("card_number", String(20), nullable=False),
    # Bumped when a card is reissued, which invalidates every QR token signed for the old one.
    Column("card_version", Integer, nullable=False, default=1),
    # Personal data is stored encrypted (security/fields.py); each field has a keyed blind
    # index for exact search (members/pii.py): the name's words, the e-mail, the phone and the
    # birthday's month-day, which is all the birthday job needs.
    Column("name", EncryptedString("members.name"), nullable=True),
    Column("email", EncryptedString("members.email"), nullable=True),
    Column("phone", EncryptedString("members.phone"), nullable=True),
    Column("birthday", EncryptedDate("members.birthday"), nullable=True),
    Column("name_index", Text, nullable=True),
    Column("email_index", String(64), nullable=True),
    Column("phone_index", String(64), nullable=True),
    Column("birthday_index", String(64), nullable=True),
    Column("locale", String(10), nullable=False),
    # IANA zone for quiet hours; members without one are reached in the business's zone.
    Column("time_zone", String(64), nullable=True),
    # Set when the mail server refuses the address for good; e-mail stops until it changes.
    Column("email_bounced_at", DateTime, nullable=True),
    Column("tags", JSON, nullable=False),
    Column("consent", JSON, nullable=False),
    Column("enrolment_channel", String(16), nullable=False),
    Column("enrolled_by_staff_id", Id, ForeignKey("staff_users.id"), nullable=True),
    Column("enrolled_location_id", Id, ForeignKey("locations.id"), nullable=True),
    Column("enrolled_at", DateTime, nullable=False),
    Column("status", String(16), nullable=False, default="active"),
    # Shared by the member to bring friends; not the card number, which pays at the till.
    Column("referral_code", String(16), nullable=True),
    Column("referred_by_member_id", Id, ForeignKey("members.id"), nullable=True),
    Column("profile_completed_at", DateTime, nullable=True),
    Index("uq_members_business_card", "business_id", "card_number", unique=True),
    Index("uq_members_business_email_index", "business_id", "email_index", unique=True),
    Index("uq_members_business_phone_index", "business_id", "phone_index", unique=True),
    Index("ix_members_business_birthday_index", "business_id", "birthday_index"),
    Index("uq_members_business_referral", "business_id", "referral_code", unique=True),
)

member_login_codes = Table(
    "member_login_codes",
    metadata,
    id_column(),
    business_column(),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False, index=True),
    # Only a keyed hash of the six digits is kept; the code itself travels by e-mail.
    Column("code_hash", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("used_at", DateTime, nullable=True),
)

# The card a member carried in the system the business moved from (`lealtad import members`):
# it keeps naming the member at the counter and in the API once no current card matches.
member_previous_cards = Table(
    "member_previous_cards",
    metadata,
    id_column(),
    business_column(),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False, index=True),
    Column("card_number", String(40), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Index("uq_member_previous_cards_business_card", "business_id", "card_number", unique=True),
)

# What the system the business moved from knew of a member in total, as of a date (`lealtad
# import balances`, columns lifetime_*): shown beside Lealtad's own figures, never added to them
# (D68). One row per member per import run, so undoing the run takes its figures away; the
# member shows the latest run's. Each figure is empty when the file did not give it.
member_previous_figures = Table(
    "member_previous_figures",
    metadata,
    id_column(),
    business_column(),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False, index=True),
    Column("import_run_id", Id, ForeignKey("import_runs.id"), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("visits", BigInteger, nullable=True),
    # Minor units of the business's currency, as purchases' amounts.
    Column("spend", BigInteger, nullable=True),
    Column("points", BigInteger, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Index(
        "uq_member_previous_figures_run_member",
        "business_id",
        "import_run_id",
        "member_id",
        unique=True,
    ),
)
