"""Importing a batch of purchase rows set-wise: parse and validate every row, resolve their
members in one query per identifier, check their receipts in one query, then record the rows
that the bulk path reproduces exactly (`purchases.bulk`) together, in file order, and send each
of the others through the API's own service one by one (`slow`), between the bulk groups so that
every row sees the ones before it. Each row's outcome comes back in file order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from lealtad.analytics import segments
from lealtad.errors import Invalid, LealtadError, NotFound
from lealtad.imports import model
from lealtad.members import service as members_service
from lealtad.members.model import ACTIVE, normalise_card_number
from lealtad.members.tables import member_previous_cards as previous_cards
from lealtad.members.tables import members
from lealtad.purchases import bulk
from lealtad.purchases.service import check_currency, occurred
from lealtad.rewards.gamification import active_challenges
from lealtad.rules import store as rule_store
from lealtad.rules.service import Program, get_version, version_at
from lealtad.tenancy import service as tenancy

# "loaded", "already", or the reason the row is rejected.
Outcome = str
LOADED, ALREADY = "loaded", "already"
Slow = Callable[[Connection, dict[str, Any], datetime], str]
_MEMBER_COLUMNS = (members.c.id, members.c.card_number, members.c.tags, members.c.status)
_REFERRED = members.c.referred_by_member_id


@dataclass
class _Pending:
    """A row that passed the checks and waits for its group to be written."""

    index: int
    sale: bulk.Sale


def _reason(exc: Exception) -> str:
    if isinstance(exc, LealtadError):
        return f"{exc.code}: {exc.message}"
    return str(exc) or "unreadable row"


class PurchaseBatches:
    """What stays the same from batch to batch of one run: the business, its program versions,
    its locations, and who the journal names as the author."""

    def __init__(
        self,
        business: Any,
        *,
        location_id: int | None,
        actor: str,
        staff_id: int | None,
        slow: Slow,
    ) -> None:
        self.business = business
        self.location_id = location_id
        self.actor = actor
        self.staff_id = staff_id
        self.slow = slow
        self._locations: dict[int, Any] = {}
        self._versions: list[Any] | None = None
        self._programs: dict[int, Program] = {}
        # Per program version: can the bulk path reproduce it (asked once, not per row)?
        self._simple: dict[int, bool] = {}
        # Currency codes already accepted: checked once per run, not once per row.
        self._currencies: set[str] = set()

    def _location(self, conn: Connection, location_id: int | None) -> Any:
        if location_id is None:
            return None
        if location_id not in self._locations:
            self._locations[location_id] = tenancy.get_location(conn, self.business.id, location_id)
        return self._locations[location_id]

    def _program(self, conn: Connection, at: datetime) -> Program:
        """The version in force at `at`, chosen as `rules.service.in_force` chooses it (and
        refused before the first, D65), from the versions read once per run."""
        if self._versions is None:
            self._versions = rule_store.version_dates(conn, self.business.id)
        chosen = version_at(self._versions, at)
        if chosen.version not in self._programs:
            self._programs[chosen.version] = get_version(conn, self.business.id, chosen.version)
        return self._programs[chosen.version]

    def _is_simple(self, program: Program) -> bool:
        if program.version not in self._simple:
            self._simple[program.version] = bulk.simple_program(program.definition)
        return self._simple[program.version]

    def _bulk_allowed(self, conn: Connection) -> bool:
        """Challenges and experiments read state that each purchase changes (badges, arms by
        date): with either running, every row takes the one-by-one path."""
        bid = self.business.id
        if active_challenges(conn, bid):
            return False
        return not segments.any_experiment_running(conn, bid)

    def _members(
        self, conn: Connection, parsed: Sequence[model.PurchaseRow | None]
    ) -> tuple[dict[int, Any], dict[str, Any]]:
        bid = self.business.id
        ids = sorted({p.data.member_id for p in parsed if p and p.data.member_id is not None})
        # Each card as written in the file, normalised once; the answer is keyed by the former.
        written = {p.data.card_number for p in parsed if p and p.data.card_number}
        normal = {card: normalise_card_number(card) for card in written}
        cards = sorted(set(normal.values()))
        by_id: dict[int, Any] = {}
        by_card: dict[str, Any] = {}
        for start in range(0, len(ids), bulk.CHUNK):
            query = select(*_MEMBER_COLUMNS, _REFERRED).where(
                members.c.business_id == bid, members.c.id.in_(ids[start : start + bulk.CHUNK])
            )
            by_id.update({r.id: r for r in conn.execute(query)})
        for start in range(0, len(cards), bulk.CHUNK):
            chunk = cards[start : start + bulk.CHUNK]
            query = select(*_MEMBER_COLUMNS, _REFERRED).where(
                members.c.business_id == bid, members.c.card_number.in_(chunk)
            )
            by_card.update({r.card_number: r for r in conn.execute(query)})
        # A card of the previous system names its member too (members.find does the same).
        old = {c.upper(): c for c in cards if c not in by_card}
        wanted = sorted(old)
        for start in range(0, len(wanted), bulk.CHUNK):
            query = (
                select(*_MEMBER_COLUMNS, _REFERRED, previous_cards.c.card_number.label("old"))
                .join(previous_cards, previous_cards.c.member_id == members.c.id)
                .where(
                    previous_cards.c.business_id == bid,
                    previous_cards.c.card_number.in_(wanted[start : start + bulk.CHUNK]),
                )
            )
            by_card.update({old[r.old]: r for r in conn.execute(query)})
        return by_id, {card: by_card.get(n) for card, n in normal.items()}

    def apply(self, conn: Connection, rows: Sequence[model.Row], now: datetime) -> list[Outcome]:
        outcomes: list[Outcome] = [""] * len(rows)
        parsed: list[model.PurchaseRow | None] = []
        for i, row in enumerate(rows):
            try:
                if row.error is not None or row.fields is None:
                    raise ValueError(row.error or "unreadable row")
                location = self.location_id
                parsed.append(model.purchase(row.fields, self.business.currency, location))
            except ValueError as exc:
                outcomes[i] = _reason(exc)
                parsed.append(None)
        by_id, by_card = self._members(conn, parsed)
        recorded = bulk.recorded_receipts(
            conn, self.business.id, [p.data.receipt_id for p in parsed if p]
        )
        allowed = self._bulk_allowed(conn)
        group: list[_Pending] = []
        for i, (row, p) in enumerate(zip(rows, parsed, strict=True)):
            if p is None:
                continue
            try:
                sale = self._check(conn, p, by_id, by_card, now)
            except LealtadError as exc:
                outcomes[i] = _reason(exc)
                continue
            there = recorded.get(p.data.receipt_id)
            # A member named by id who is no longer active (erased) goes to the service, which
            # refuses the sale with the API's `member_erased`, or answers a replay of a receipt
            # recorded before the erasure as the API does: the two paths cannot drift apart.
            simple = (
                allowed
                and there is None
                and (
                    sale.member is None
                    or (sale.member.referred_by_member_id is None and sale.member.status == ACTIVE)
                )
                and (sale.program is None or self._is_simple(sale.program))
            )
            if simple:
                group.append(_Pending(i, sale))
                member_id = sale.member.id if sale.member is not None else None
                recorded[p.data.receipt_id] = (p.data.amount, member_id)
                outcomes[i] = LOADED
                continue
            self._write(conn, group, now, outcomes)
            group = []
            try:
                with conn.begin_nested():
                    outcomes[i] = self.slow(conn, row.fields or {}, now)
            except (LealtadError, ValueError) as exc:
                outcomes[i] = _reason(exc)
        self._write(conn, group, now, outcomes)
        return outcomes

    def _check(
        self,
        conn: Connection,
        p: model.PurchaseRow,
        by_id: dict[int, Any],
        by_card: dict[str, Any],
        now: datetime,
    ) -> bulk.Sale:
        """The checks `purchases.service.record` makes, in its order, with the same errors."""
        data = p.data
        if data.currency not in self._currencies:
            check_currency(data.currency, self.business)  # raises for a wrong one, every time
            self._currencies.add(data.currency)
        at = occurred(data.occurred_at, now)
        location = self._location(conn, data.location_id or self.location_id)
        member = None
        if data.card_number is not None:
            member = by_card.get(data.card_number)
            if member is not None and member.status != ACTIVE:
                # As `members.find`: an erased member's card names nobody.
                member = None
        elif data.member_id is not None:
            member = by_id.get(data.member_id)
        if (data.card_number or data.member_id) and member is None:
            raise NotFound("no member of this business matches", code="member_not_found")
        if p.expected_member_id not in (None, member.id if member else None):
            raise Invalid(
                "card_number and member_id name different members", code="member_mismatch"
            )
        # A sale without a member earns under no program: it is kept whenever it happened (the
        # baseline the dashboards compare the program with).
        program = self._program(conn, at) if member is not None else None
        return bulk.Sale(data, at, location, member, program)

    def _write(
        self, conn: Connection, group: list[_Pending], now: datetime, outcomes: list[Outcome]
    ) -> None:
        gone = self._no_longer_active(conn, group)
        if gone:
            for pending in group:
                member = pending.sale.member
                if member is not None and member.id in gone:
                    outcomes[pending.index] = _reason(_refusal(pending.sale))
            group = [p for p in group if p.sale.member is None or p.sale.member.id not in gone]
        if group:
            bulk.record_many(
                conn,
                self.business,
                [p.sale for p in group],
                actor=self.actor,
                staff_id=self.staff_id,
                now=now,
            )

    def _no_longer_active(self, conn: Connection, group: list[_Pending]) -> set[int]:
        """The group's members erased since the batch read them, read under a share lock that
        holds each one's row until commit. On PostgreSQL an erasure can commit in between (the
        batch's first read holds nothing), and the lock makes an erasure still to come wait for
        this batch. On SQLite the batch's write transaction began with BEGIN IMMEDIATE, so
        nothing came in between: no statement."""
        if conn.dialect.name == "sqlite":
            return set()
        ids = sorted({p.sale.member.id for p in group if p.sale.member is not None})
        gone: set[int] = set()
        for start in range(0, len(ids), bulk.CHUNK):
            query = (
                select(members.c.id, members.c.status)
                .where(
                    members.c.business_id == self.business.id,
                    members.c.id.in_(ids[start : start + bulk.CHUNK]),
                )
                .order_by(members.c.id)
                .with_for_update(read=True)
            )
            gone.update(int(m) for m, status in conn.execute(query) if status != ACTIVE)
        return gone


def _refusal(sale: bulk.Sale) -> LealtadError:
    assert sale.member is not None, "only a member's sale is refused for the member"
    return members_service.no_longer_active(sale.member.id, by_id=sale.data.card_number is None)
