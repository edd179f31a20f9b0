"""Sending a member's sign-in code at once, after the answer (members.login queues it)."""

from __future__ import annotations

import logging
from datetime import datetime

from lealtad.comms import messages as outgoing
from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.members.login import forget_code, pending_code, shown_on_page

log = logging.getLogger("lealtad.wallet")


def deliver_code(
    db: Database, settings: Settings, business_id: int, message_id: int, now: datetime
) -> None:
    """Sends a code's message at once (run after the response: the member is reading the page
    while the e-mail goes), then forgets the code in the delivery log."""
    outcome = outgoing.send_one(db, settings, business_id, message_id, now)
    if outcome is None and shown_on_page(settings):
        # A development install has no mail server: the code goes to the console instead, so
        # the demo's wallet can be opened. Never in test or production.
        with db.read() as conn:
            code = pending_code(conn, business_id, message_id)
        log.warning("no SMTP server: wallet login code %s (message %s)", code, message_id)
        return
    with db.transaction() as conn:
        forget_code(conn, business_id, message_id)
