"""Importing a batch of purchase rows set-wise: parse and validate every row, resolve their
members in one query per identifier, check their receipts in one query, then hand the rows, in
file order, to the same earn path as the API's group-commit batches (`purchases.planned`: each
planned with the member's state threaded from row to row, written in groups, tiers re-checked
after each group), and send each row it declines through the API's own service one by one
(`slow`), between the groups, so that every row sees the ones before it. Each row's outcome
comes back in file order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from lealtad.analytics import segments
from lealtad.errors import Invalid, LealtadError, NotFound
from lealtad.imports import model
from lealtad.kit.collector import fewer_collections
from lealtad.members import store as member_store
from lealtad.members.model import ACTIVE, normalise_card_number
from lealtad.purchases import bulk
from lealtad.purchases import store as purchase_store
from lealtad.purchases.planned import PlannedSales, switched_on
from lealtad.purchases.service import check_currency, occurred
from lealtad.purchases.setwise_members import BatchMembers
from lealtad.rewards.gamification import active_challenges
from lealtad.rules import store as rule_store
from lealtad.rules.service import Program, get_version, version_at
from lealtad.tenancy import service as tenancy

# "loaded", "already", or the reason the row is rejected.
Outcome = str
LOADED, ALREADY = "loaded", "already"
Slow = Callable[[Connection, dict[str, Any], datetime], str]


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
        by_id = member_store.members_by_ids(conn, bid, ids)
        by_card = member_store.members_by_cards(conn, bid, cards)
        # A card of the previous system names its member too (members.find does the same).
        old = {c.upper(): c for c in cards if c not in by_card}
        for number, row in member_store.members_by_previous_cards(conn, bid, sorted(old)).items():
            by_card[old[number]] = row
        return by_id, {card: by_card.get(n) for card, n in normal.items()}

    def apply(self, conn: Connection, rows: Sequence[model.Row], now: datetime) -> list[Outcome]:
        with fewer_collections():
            return self._apply(conn, rows, now)

    def _apply(self, conn: Connection, rows: Sequence[model.Row], now: datetime) -> list[Outcome]:
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
        recorded = purchase_store.recorded_receipts(
            conn, self.business.id, [p.data.receipt_id for p in parsed if p]
        )
        sales: dict[int, bulk.Sale] = {}
        for i, p in enumerate(parsed):
            if p is None:
                continue
            try:
                sales[i] = self._check(conn, p, by_id, by_card, now)
            except LealtadError as exc:
                outcomes[i] = _reason(exc)
        named = {i: s.member for i, s in sales.items() if s.member is not None}
        active = self._held_active(conn, named)
        allowed = switched_on() and self._bulk_allowed(conn)
        members = BatchMembers(conn, self.business.id, {i: named[i] for i in named if i in active})
        planned: PlannedSales

        def flush() -> None:
            # Nothing of its own per row: an import answers "loaded", and writes no idempotency
            # record (the receipt is the row's identity) and, dated, no event.
            waiting = planned.take_waiting()
            if waiting:
                planned.write(waiting, lambda *_: None)

        planned = PlannedSales(
            conn,
            self.business,
            members,
            flush,
            staff_id=self.staff_id,
            now=now,
            answers=False,
            # Written every five thousand rows: the plans of a whole batch held at once cost
            # memory (flat at 140 MB over 20,000 rows with this, 155 MB without).
            group_limit=5000,
        )
        for i, sale in sales.items():
            receipt = sale.data.receipt_id
            # A member named by id who is no longer active (erased) goes to the service, which
            # refuses the sale with the API's `member_erased`, or answers a replay of a receipt
            # recorded before the erasure as the API does: the two paths cannot drift apart.
            if (
                allowed
                and recorded.get(receipt) is None
                and (sale.member is None or i in active)
                and planned.plan(i, sale, actor=self.actor, now=now)
            ):
                member_id = sale.member.id if sale.member is not None else None
                recorded[receipt] = (sale.data.amount, member_id)
                outcomes[i] = LOADED
                continue
            flush()
            try:
                with conn.begin_nested():
                    outcomes[i] = self.slow(conn, rows[i].fields or {}, now)
            except (LealtadError, ValueError) as exc:
                outcomes[i] = _reason(exc)
            planned.forget(sale.member)
        flush()
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

    def _held_active(self, conn: Connection, named: dict[int, Any]) -> set[int]:
        """The rows whose member is active, as of a lock held until commit. On PostgreSQL the
        members' rows are locked in id order (as the API's batches lock them): an erasure that
        committed since they were read is seen, one still to come waits, and so does any other
        sale of theirs, so the state the batch threads stays theirs. On SQLite the batch's write
        transaction began with BEGIN IMMEDIATE: nothing came in between, and no statement."""
        status = member_store.lock_members(
            conn, self.business.id, sorted({int(m.id) for m in named.values()})
        )
        return {i for i, m in named.items() if status.get(int(m.id), m.status) == ACTIVE}
