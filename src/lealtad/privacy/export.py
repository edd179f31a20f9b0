"""Everything the program holds about one member, as one JSON document (the right of access and
portability): profile and consent, balances, the previous system's lifetime figures, the whole
ledger with its reasons, purchases, vouchers, donations, ratings, survey answers and the messages
sent. The member downloads it from the wallet; staff can hand the same document over on
request."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from lealtad.comms import export_store as comms_export
from lealtad.kit.clock import as_utc
from lealtad.ledger import service as ledger
from lealtad.ledger import store as ledger_store
from lealtad.members import previous_store, service
from lealtad.members import store as member_store
from lealtad.purchases import store as purchase_store
from lealtad.rewards import donations, redemption
from lealtad.rewards import export_store as reward_export
from lealtad.rewards import store as reward_store
from lealtad.surveys import store as surveys
from lealtad.tenancy import service as tenancy

FORMAT = "lealtad.member-data/1"
_PAGE = 500
_ALL = 10**9


def _when(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


def _ledger(conn: Connection, business_id: int, member_id: int) -> list[dict[str, Any]]:
    """Every entry, newest first, with the net change on each of the member's accounts."""
    out: list[dict[str, Any]] = []
    before = None
    while True:
        rows = ledger_store.member_history(conn, business_id, member_id, limit=_PAGE, before=before)
        if not rows:
            return out
        for row in rows:
            if not out or out[-1]["entry_id"] != row.id:
                out.append(
                    {
                        "entry_id": row.id,
                        "kind": row.kind,
                        "reason": row.memo,
                        "changes": {},
                        "purchase_id": row.purchase_id,
                        "refund_id": row.refund_id,
                        "occurred_at": _when(row.occurred_at),
                        "recorded_at": _when(row.recorded_at),
                    }
                )
            out[-1]["changes"][row.code] = int(row.amount)
        before = out[-1]["entry_id"]


def _purchases(conn: Connection, business_id: int, member_id: int) -> list[dict[str, Any]]:
    return [
        {
            "id": row.id,
            "receipt_id": row.receipt_id,
            "amount": int(row.amount),
            "refunded_amount": int(row.refunded_amount),
            "currency": row.currency,
            "items": row.items,
            "channel": row.channel,
            "location_id": row.location_id,
            "occurred_at": _when(row.occurred_at),
        }
        for row in purchase_store.member_purchases(conn, business_id, member_id, _ALL)
    ]


def _vouchers(conn: Connection, business_id: int, member_id: int) -> list[dict[str, Any]]:
    slugs = {r.id: r.slug for r in reward_store.catalog(conn, business_id, active_only=False)}
    return [
        redemption.voucher_out(conn, row, slugs[row.reward_id]).model_dump(mode="json")
        for row in reward_store.member_vouchers(conn, business_id, member_id, _ALL)
    ]


def _ratings(conn: Connection, business_id: int, member_id: int) -> list[dict[str, Any]]:
    return [
        {
            "reward_id": row.reward_id,
            "stars": row.stars,
            "text": row.text,
            "created_at": _when(row.created_at),
        }
        for row in reward_export.member_ratings(conn, business_id, member_id)
    ]


def _messages(conn: Connection, business_id: int, member_id: int) -> list[dict[str, Any]]:
    return [
        {
            "id": row.id,
            "channel": row.channel,
            "category": row.category,
            "template": row.template,
            "locale": row.locale,
            "status": row.status,
            "reason": row.reason,
            "context": row.context,
            "created_at": _when(row.created_at),
            "sent_at": _when(row.sent_at),
        }
        for row in comms_export.member_messages(conn, business_id, member_id)
    ]


def _surveys(conn: Connection, business_id: int, member_id: int) -> list[dict[str, Any]]:
    return [
        {
            "survey_id": row.survey_id,
            "title": row.title,
            "answers": row.answers,
            "channel": row.channel,
            "created_at": _when(row.created_at),
        }
        for row in surveys.member_responses(conn, business_id, member_id)
    ]


def member_data(
    conn: Connection, business_id: int, member_id: int, secret_key: str, now: datetime
) -> dict[str, Any]:
    row = service.get(conn, business_id, member_id)
    business = tenancy.get_business(conn, business_id)
    # The card's QR token is a credential, not data about the person: left out of the file.
    profile = service.out(conn, row, secret_key).model_dump(
        mode="json", exclude={"qr_token", "balances", "consent", "previous_system"}
    )
    return {
        "format": FORMAT,
        "exported_at": as_utc(now).isoformat(),
        "business": {"name": business.name, "slug": business.slug},
        "profile": profile,
        "consent": row.consent,
        # The card numbers of the system the business moved from, which still name the member.
        "previous_card_numbers": member_store.previous_card_numbers(conn, business_id, member_id),
        "balances": ledger.balances(conn, business_id, member_id),
        # What the previous system counted for them in total, per import run (latest first).
        "previous_system": [
            {
                "as_of": f.as_of.isoformat(),
                "visits": f.visits,
                "spend": f.spend,
                "points": f.points,
                "import_run_id": f.import_run_id,
            }
            for f in previous_store.every(conn, business_id, member_id)
        ],
        "ledger": _ledger(conn, business_id, member_id),
        "purchases": _purchases(conn, business_id, member_id),
        "vouchers": _vouchers(conn, business_id, member_id),
        "donations": [
            d.model_dump(mode="json", exclude={"balances"})
            for d in donations.member_donations(conn, business_id, member_id, limit=_ALL)
        ],
        "ratings": _ratings(conn, business_id, member_id),
        "surveys": _surveys(conn, business_id, member_id),
        "messages": _messages(conn, business_id, member_id),
    }


def to_json(data: dict[str, Any]) -> str:
    """The file as the wallet hands it over: readable, accents as written."""
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)


def download_headers(data: dict[str, Any]) -> dict[str, str]:
    name = f"{data['business']['slug']}-{data['profile']['card_number']}.json"
    # Personal data: no browser or proxy keeps a copy.
    return {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
