"""A member's ledger explained for the admin console: each entry with what it moved, the balance
after it, and why (the rules and their reasons, the receipt, the refund, the voucher, the
adjustment's reason and author)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from lealtad.errors import NotFound
from lealtad.kit.catalog import gettext
from lealtad.ledger import explained_store as store
from lealtad.ledger import service as ledger
from lealtad.purchases import listing_store as purchases
from lealtad.rules import service as programs
from lealtad.rules import store as rule_store
from lealtad.rules.names import name_in


@dataclass(frozen=True)
class Award:
    rule_id: str
    rule_name: str
    reason: str
    unit: str
    amount: int


@dataclass
class Line:
    entry_id: int
    kind: str
    memo: str
    actor: str
    occurred_at: datetime
    recorded_at: datetime
    changes: dict[str, int] = field(default_factory=dict)
    after: dict[str, int] = field(default_factory=dict)
    awards: list[Award] = field(default_factory=list)
    receipt: str | None = None
    purchase_id: int | None = None
    refund: str | None = None


def _rule_names(
    conn: Connection, business_id: int, versions: set[int], lang: str
) -> dict[tuple[int, str], str]:
    """Each version's rules (and tiers' multipliers) by their titles in the page's language."""
    names: dict[tuple[int, str], str] = {}
    for version in versions:
        try:
            definition = programs.get_version(conn, business_id, version).definition
        except NotFound:
            continue
        names |= {(version, rule.id): name_in(rule, lang) for rule in definition.rules}
        if definition.tiers:
            tier = gettext(lang)("%(tier)s tier")
            names |= {
                (version, f"tier:{t.id}"): tier % {"tier": name_in(t, lang)}
                for t in definition.tiers.levels
            }
    return names


def _awards(
    conn: Connection, business_id: int, member_id: int, ids: list[int], lang: str
) -> dict[int, list[Award]]:
    rows = rule_store.awards_of_entries(conn, business_id, member_id, ids)
    names = _rule_names(conn, business_id, {r.program_version for r in rows}, lang)
    out: dict[int, list[Award]] = {}
    for r in rows:
        name = names.get((r.program_version, r.rule_id), r.rule_id)
        out.setdefault(r.entry_id, []).append(
            Award(r.rule_id, name, r.reason, r.unit, int(r.amount))
        )
    return out


def explained(
    conn: Connection,
    business_id: int,
    member_id: int,
    *,
    before: int | None,
    limit: int = 50,
    lang: str = "en",
) -> tuple[list[Line], int | None]:
    """A page of the member's entries, newest first, and the cursor of the next (older) page."""
    ids = store.page_ids(conn, business_id, member_id, before, limit)
    more = len(ids) > limit
    ids = ids[:limit]
    if not ids:
        return [], None
    meta = store.entries_by_id(conn, business_id, ids)
    lines = {
        i: Line(
            i,
            meta[i].kind,
            meta[i].memo,
            meta[i].actor,
            meta[i].occurred_at,
            meta[i].recorded_at,
            purchase_id=meta[i].purchase_id,
        )
        for i in ids
    }
    # Balances after each entry: from today's balances, walk back through every later entry.
    moved: dict[int, dict[str, int]] = {}
    for r in store.moved_since(conn, business_id, member_id, min(ids)):
        moved.setdefault(int(r.entry_id), {})[r.code] = int(r.amount)
    running = dict(ledger.balances(conn, business_id, member_id))
    for entry_id in sorted(moved, reverse=True):
        changes = {code: amount for code, amount in moved[entry_id].items() if amount}
        if entry_id in lines:
            lines[entry_id].changes = changes
            lines[entry_id].after = {code: running.get(code, 0) for code in changes}
        for code, amount in changes.items():
            running[code] = running.get(code, 0) - amount
    for entry_id, found in _awards(conn, business_id, member_id, ids, lang).items():
        lines[entry_id].awards = found
    _receipts(conn, business_id, lines, meta)
    return [lines[i] for i in ids], (ids[-1] if more else None)


def _receipts(
    conn: Connection, business_id: int, lines: dict[int, Line], meta: dict[int, Any]
) -> None:
    purchase_ids = {m.purchase_id for m in meta.values() if m.purchase_id}
    refund_ids = {m.refund_id for m in meta.values() if m.refund_id}
    receipts = purchases.receipts(conn, business_id, purchase_ids) if purchase_ids else {}
    refund_refs = purchases.refund_references(conn, business_id, refund_ids) if refund_ids else {}
    for entry_id, line in lines.items():
        row = meta[entry_id]
        line.receipt = receipts.get(row.purchase_id) if row.purchase_id else None
        line.refund = refund_refs.get(row.refund_id) if row.refund_id else None
