"""Who the purchases of a set-wise batch (purchases/setwise.py) name, and each member's state as
of the sales planned so far: read once for the batch's members (tiers, segments, balances, visit
counts when a rule asks), then moved on by each plan (`state_after`, one visit more, the plan's
legs on the balances). A member's state is read again after a sale of theirs was recorded alone."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection

from lealtad.analytics import figures_store
from lealtad.errors import LealtadError
from lealtad.ledger import store as ledger_store
from lealtad.ledger.model import MemberLeg
from lealtad.members import service as members
from lealtad.members import store as member_store
from lealtad.members.model import ACTIVE, normalise_card_number
from lealtad.purchases import store
from lealtad.purchases.schemas import PurchaseIn
from lealtad.rules import planner
from lealtad.rules.facts import MemberContext
from lealtad.rules.planner import EarnPlan, MemberState
from lealtad.rules.program import Program
from lealtad.tenancy.model import Principal
from lealtad.tiers import store as tier_store

_NO_SEGMENTS: frozenset[str] = frozenset()


class Named(Protocol):
    """A purchase request, as far as who it names (purchases.setwise.Asked)."""

    @property
    def data(self) -> PurchaseIn: ...

    @property
    def secret_key(self) -> str: ...

    @property
    def now(self) -> datetime: ...

    @property
    def principal(self) -> Principal: ...


class BatchMembers:
    def __init__(self, conn: Connection, business_id: int, rows: dict[int, Any]) -> None:
        """`rows`: the member each sale names (its index -> the member's row, with id, tags and
        referrer), found and active."""
        self.conn, self.bid = conn, business_id
        self.rows = rows
        self.states: dict[int, MemberState] = {}
        self.balances: dict[int, dict[str, int]] = {}
        self.tiers: dict[int, str | None] = {}
        self.segments: dict[int, frozenset[str]] = {}
        self.visits: dict[int, int] | None = None
        self._asked: dict[int, tuple[bool, bool]] = {}

    def state(self, i: int, member_id: int, program: Program, flush: Callable[[], None]) -> Any:
        """The state request i plans from, as `rules.apply.context_for` gives it: segments and
        visits only where the program asks; the stamp balances its cards may ask for. `flush`
        writes what waits, before visit counts are first read."""
        # Built without `dataclasses.replace` where nothing changes: this runs for every sale
        # of a batch, an import's ten thousand included.
        asks_visits, asks_segments = self._asks(program)
        if member_id not in self.states:
            self._read(i)
        if asks_visits and self.visits is None:
            flush()
            self._read_visits()
        state = self.states[member_id]
        held = state.context
        segments = self.segments.get(member_id, _NO_SEGMENTS) if asks_segments else _NO_SEGMENTS
        visits = held.visits_before if asks_visits else 0
        if segments != held.segments or visits != held.visits_before:
            context = MemberContext(held.member_id, held.tier, held.tags, segments, visits)
            state = MemberState(
                context, state.referrer_id, state.caps_used, state.budget_left, state.stamps
            )
        if not program.stamp_units:
            return state
        balances = self.balances[member_id]
        stamps = {
            (member_id, unit): balances.get(unit, 0)
            for unit in program.stamp_units
            if (member_id, unit) not in state.stamps
        }
        return planner.with_reads(state, stamps=stamps) if stamps else state

    def _asks(self, program: Program) -> tuple[bool, bool]:
        """Whether the program's rules ask the visit count and the segments (once a version)."""
        found = self._asked.get(program.version)
        if found is None:
            definition = program.definition
            found = (planner.asks_visits(definition), planner.asks_segments(definition))
            self._asked[program.version] = found
        return found

    def planned(self, member_id: int, plan: EarnPlan, amount: int) -> dict[str, int]:
        """Moves the member's state on by the plan; the balances it leaves them (the member's
        own map, which the next plan moves on: copy it to keep it)."""
        # Caps and stamps as the plan leaves them; the context as held (the plan's own may have
        # left out segments and visits), one visit more for a sale with an amount.
        held = self.states[member_id].context
        if amount > 0:
            held = MemberContext(
                held.member_id, held.tier, held.tags, held.segments, held.visits_before + 1
            )
        after = plan.state_after
        self.states[member_id] = MemberState(
            held, after.referrer_id, after.caps_used, after.budget_left, after.stamps
        )
        balances = self.balances[member_id]
        for entry in plan.entries:  # the earn entry and the cards it filled
            for leg in entry.legs:
                if isinstance(leg, MemberLeg):
                    balances[leg.code] = balances.get(leg.code, 0) + leg.amount
        return balances

    def tier(self, member_id: int) -> str | None:
        return self.tiers.get(member_id)

    def retier(self, member_id: int, tier: str | None) -> None:
        """The member's tier after a re-check moved it: their next sale plans at it."""
        self.tiers[member_id] = tier
        state = self.states.get(member_id)
        if state is not None:
            self.states[member_id] = replace(state, context=replace(state.context, tier=tier))

    def forget(self, member_id: int) -> None:
        """The member's state is read again when next needed."""
        self.states.pop(member_id, None)
        self.balances.pop(member_id, None)
        if self.visits is not None:
            self.visits.pop(member_id, None)

    def forget_all(self) -> None:
        self.states.clear()
        self.balances.clear()
        self.visits = None

    def _read(self, i: int) -> None:
        """The state of every member of the requests from i on whose state is not held."""
        rows = self.rows
        coming = {int(rows[j].id) for j in rows if j >= i}
        wanted = sorted(m for m in coming if m not in self.states)
        tiers = tier_store.tiers_of(self.conn, self.bid, wanted)
        segments = figures_store.segments_of(self.conn, self.bid, wanted)
        balances = ledger_store.balances_of_members(self.conn, self.bid, wanted)
        tags = {int(row.id): frozenset(row.tags) for row in rows.values()}
        if self.visits is not None:  # a program asked for them: these members' too
            counts = store.visits_of(self.conn, self.bid, wanted)
            self.visits.update({m: counts.get(m, 0) for m in wanted})
        visits = self.visits or {}
        for m in wanted:
            self.tiers[m] = tiers.get(m)
            segment = segments.get(m)
            self.segments[m] = frozenset([segment]) if segment else frozenset()
            self.balances[m] = balances[m]
            context = MemberContext(m, tiers.get(m), tags[m], frozenset(), visits.get(m, 0))
            self.states[m] = MemberState(context)

    def _read_visits(self) -> None:
        """Visit counts, once a program asks for them: every member held so far (what waited
        is written by then, so the counts include it)."""
        counts = store.visits_of(self.conn, self.bid, sorted(self.states))
        self.visits = counts
        for m, state in self.states.items():
            context = replace(state.context, visits_before=counts.get(m, 0))
            self.states[m] = replace(state, context=context)


def named_members(conn: Connection, bid: int, named: Sequence[Named]) -> dict[int, Any]:
    """The member each request names by id, card number or card code (request index -> row):
    active, and on PostgreSQL locked until commit. A request naming nobody found, or more than
    one way, is left to `record`."""
    wanted: dict[int, int | str] = {}
    versions: dict[int, int] = {}  # the card version a QR code was issued for
    for i, n in enumerate(named):
        data = n.data
        given = [v for v in (data.member_id, data.card_number, data.qr_token) if v is not None]
        if len(given) != 1:
            continue
        if data.member_id is not None:
            wanted[i] = data.member_id
        elif data.card_number is not None:
            wanted[i] = normalise_card_number(data.card_number)
        else:
            code = _card_code(n)
            if code is not None:
                wanted[i], versions[i] = code
    ids = [v for v in wanted.values() if isinstance(v, int)]
    cards = [v for v in wanted.values() if isinstance(v, str) and v]
    by_id = member_store.members_by_ids(conn, bid, ids)
    by_card = member_store.members_by_cards(conn, bid, cards)
    rows: dict[int, Any] = {}
    for i, v in wanted.items():
        row = by_id.get(v) if isinstance(v, int) else by_card.get(v)
        if i in versions and row is not None and row.card_version != versions[i]:
            row = None  # a card reissued since: `members.find` names nobody
        if row is not None:
            rows[i] = row
    # PostgreSQL: their rows held until commit, and their status as of the lock (an erasure may
    # have committed since the read above).
    locked = member_store.lock_members(conn, bid, [r.id for r in rows.values()])
    return {i: row for i, row in rows.items() if locked.get(int(row.id), row.status) == ACTIVE}


def _card_code(n: Named) -> tuple[int, int] | None:
    """(member id, card version) a card's QR code names in this business, or None (then
    `record` answers)."""
    try:
        read = members.read_card_code(n.secret_key, n.data.qr_token or "", n.now)
    except LealtadError:
        return None
    if read is None or read[0] != n.principal.business_id:
        return None
    return read[1], read[2]
