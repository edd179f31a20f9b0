"""E-mail over SMTP, and bounces: an address the mail system refuses for good stops receiving
e-mail until the member changes it, whether the refusal comes at once (5xx to RCPT) or later
from the mail provider (reported through the API)."""

from __future__ import annotations

import email.policy
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import Connection

from lealtad.comms import message_store
from lealtad.config import Settings
from lealtad.errors import Invalid, NotFound
from lealtad.kit.clock import naive_utc
from lealtad.members import model as member_model
from lealtad.members import store as member_store


class Bounced(Exception):
    """The server refused the recipient for good; the message is the server's answer."""


def _text(message: bytes | str) -> str:
    return message.decode(errors="replace") if isinstance(message, bytes) else message


def permanent_refusal(exc: smtplib.SMTPException) -> str | None:
    """The server's answer when it refuses the recipient for good, else None (a retry).
    A 5xx to RCPT, or a 5xx with an addressing status (5.1.x, RFC 3463) later in the session
    from servers that check recipients only after DATA."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = list(exc.recipients.values())
        if answers and all(code >= 500 for code, _ in answers):
            code, message = answers[0]
            return f"{code} {_text(message)}"[:200]
        return None
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return None  # our sending address, not the member's
    if isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600:
        text = _text(exc.smtp_error)
        if text.startswith("5.1."):
            return f"{exc.smtp_code} {text}"[:200]
    return None


def send(
    settings: Settings, to: str, subject: str, text: str, html: str, unsubscribe_url: str | None
) -> None:
    """Sends one e-mail; raises Bounced for a permanent refusal of the address, and OSError or
    SMTPException for anything worth another try."""
    # Long header values (the signed unsubscribe URL) must stay one plain line: folding would
    # turn them into encoded words that mail clients do not read as a URL.
    mail = EmailMessage(policy=email.policy.SMTP.clone(max_line_length=998))
    mail["From"] = settings.mail_from
    mail["To"] = to
    mail["Subject"] = subject
    if unsubscribe_url:
        mail["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail.set_content(text)
    mail.add_alternative(html, subtype="html")
    if settings.smtp_security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=10, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10)
    with client:
        if settings.smtp_security == "starttls":
            client.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            client.login(settings.smtp_user, settings.smtp_password)
        try:
            client.send_message(mail)
        except smtplib.SMTPException as exc:
            answer = permanent_refusal(exc)
            if answer is not None:
                raise Bounced(answer) from exc
            raise


def mark_bounced(
    conn: Connection,
    business_id: int,
    member_id: int,
    message_id: int | None,
    reason: str,
    now: datetime,
) -> None:
    member_store.update_member(conn, business_id, member_id, email_bounced_at=naive_utc(now))
    if message_id is not None:
        message_store.mark_message_bounced(conn, business_id, message_id, reason[:200])


def locate(
    conn: Connection, business_id: int, *, address: str | None, message_id: int | None
) -> tuple[int, int | None]:
    """The member and e-mail message a provider's bounce report names: the message by its id,
    or by the address the latest e-mail sent to that member."""
    if message_id is not None:
        row = message_store.message(conn, business_id, message_id)
        if row is None:
            raise NotFound(f"no message {message_id} in this business", code="message_not_found")
        if row.channel != "email":
            raise Invalid("only an e-mail message can bounce", code="message_not_email")
        return int(row.member_id), message_id
    normal = member_model.normalise_email(address or "")
    if normal is None:
        raise Invalid(f"{address!r} is not an e-mail address", code="invalid_email")
    member = member_store.member_by(conn, business_id, "email", normal)
    if member is None:
        raise NotFound("no member of this business has that e-mail", code="member_not_found")
    latest = message_store.latest_email(conn, business_id, member.id)
    return int(member.id), latest


def report(
    conn: Connection,
    business_id: int,
    *,
    address: str | None,
    message_id: int | None,
    reason: str | None,
    now: datetime,
) -> tuple[int, int | None]:
    """A bounce the mail provider told us about after the fact; returns the member and the
    message marked."""
    member_id, message_id = locate(conn, business_id, address=address, message_id=message_id)
    mark_bounced(conn, business_id, member_id, message_id, reason or "reported bounce", now)
    return member_id, message_id
