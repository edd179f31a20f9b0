"""The redemptions of one group-commit batch written set-wise (issue 18, part 3): the members,
their balances and due lots, and the rewards read in one query each; each redemption checked in
order against the balances and stock the ones before it left; then the ledger entries, the
vouchers, the stock, the counters and the events written with a few statements for the group
(`ledger.batch.post_many`, one executemany of vouchers).

A redemption takes this path when nothing about it needs `rewards.redemption.redeem` itself: no
date of its own, a member found and active with no lot due to unlock or expire (settling them is
`redeem`'s first write), a reward offered now to everyone with no limit per member, paid by a
debit alone (not a donation or a cashback credit), with balance enough. One whose reward is out
of stock, as the ones before it left it, gets the refusal `redeem` gives before writing
anything. Every other one goes through `redeem` in its savepoint at its place in the order,
which gives its answer or its 4xx (insufficient balance, not found, not offered, a limit
reached...): what waits is written first, and its member's balances and its reward's stock are
read again after it. So every answer and every row
is the one redeeming one by one gives (tests/integration/test_group_commit.py).

What it reads stays true until it commits: on SQLite the batch holds the write lock; on
PostgreSQL it locks the members' rows (in id order, as `redeem` locks its one) and then the
limited rewards' rows (in id order; `redeem` takes its reward's stock after its member too), so
no other transaction moves a balance or a stock it counted on."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from prometheus_client import Counter as Metric
from sqlalchemy import Connection

from lealtad.analytics import rollups
from lealtad.comms.outbox import emit
from lealtad.db import group_commit
from lealtad.kit import commit_counts
from lealtad.kit.clock import naive_utc
from lealtad.ledger import batch as ledger_batch
from lealtad.ledger import service as ledger
from lealtad.ledger import store as ledger_store
from lealtad.ledger.model import Entry, MemberLeg, SystemLeg
from lealtad.members import store as member_store
from lealtad.members.model import ACTIVE
from lealtad.purchases.planned import switched_on
from lealtad.rewards import model, redemption, store
from lealtad.rewards.redemption import voucher_out
from lealtad.rewards.schemas import VoucherOut
from lealtad.tenancy.model import Principal

WRITTEN = Metric(
    "lealtad_redemptions_batched",
    "Redemptions of group-commit batches, by how they were written: set-wise, alone (in their "
    "savepoint, through rewards.redemption.redeem), or refused by the batch (out of stock) as "
    "redeem refuses them",
    ["path"],
)
SETWISE, ALONE = WRITTEN.labels("setwise"), WRITTEN.labels("alone")
REFUSED = WRITTEN.labels("refused")  # answered by the batch with `redeem`'s own refusal

# (True, the voucher) or (False, the exception), as the writer answers each job.
Outcome = tuple[bool, Any]
Slow = Callable[[int], Outcome]
# Kinds whose cost is a debit and nothing else: a donation also writes its donation row, a
# cashback credit a second member leg, and both are settled at once; they go through `redeem`.
_DEBIT_ONLY = frozenset(model.KINDS) - {"donation", "cashback_credit"}


@dataclass(frozen=True)
class Asked:
    """One redemption request, as the route hands it to the writer."""

    principal: Principal
    member_id: int
    reward_id: int
    now: datetime
    occurred_at: datetime | None = None


@dataclass
class _Waiting:
    index: int
    entry: Entry
    voucher: dict[str, Any]
    slug: str
    held: dict[str, int]  # the member's balances after it


def redeem_all(
    conn: Connection, business_id: int, asked: Sequence[Asked], slow: Slow
) -> list[Outcome]:
    """Each request's outcome, in order; `slow(i)` redeems request i alone in its savepoint."""
    if not switched_on():
        ALONE.inc(len(asked))
        return [slow(i) for i in range(len(asked))]
    return _Batch(conn, business_id, asked, slow).run()


class _Batch:
    def __init__(
        self, conn: Connection, business_id: int, asked: Sequence[Asked], slow: Slow
    ) -> None:
        self.conn, self.bid, self.asked, self.slow = conn, business_id, asked, slow
        self.outcomes: list[Outcome | None] = [None] * len(asked)
        self.waiting: list[_Waiting] = []
        member_ids = sorted({a.member_id for a in asked})
        found = member_store.members_by_ids(conn, business_id, member_ids)
        locked = member_store.lock_members(conn, business_id, sorted(found))
        self.active = {m for m, row in found.items() if locked.get(m, row.status) == ACTIVE}
        # Lots due by the latest request's time: settling them is `redeem`'s (conservative for
        # an earlier request, which then goes alone and finds what is due by its own time).
        latest = naive_utc(max(a.now for a in asked))
        self.due = ledger_store.members_with_due_lots(
            conn, business_id, sorted(self.active), latest
        )
        self.balances = ledger_store.balances_of_members(conn, business_id, sorted(self.active))
        self.rewards = store.rewards_for_redemption(
            conn, business_id, sorted({a.reward_id for a in asked})
        )
        self.stock = {r: row.stock for r, row in self.rewards.items() if row.stock is not None}
        self.taken: Counter[int] = Counter()  # stock the waiting redemptions take, by reward

    def run(self) -> list[Outcome]:
        for i in range(len(self.asked)):
            if not self._plan(i):
                self._alone(i)
        self._flush()
        return [o for o in self.outcomes if o is not None]

    def _plan(self, i: int) -> bool:
        """Plans request i, or answers the refusal `redeem` gives before it writes anything (out
        of stock); False when it goes alone. A balance short is left to `redeem`: on PostgreSQL
        its entry draws an id before the debit is refused, and ids must stay those of one by one."""
        a = self.asked[i]
        member_id, reward = a.member_id, self.rewards.get(a.reward_id)
        if a.occurred_at is not None or member_id not in self.active or member_id in self.due:
            return False
        if reward is None or not _offered_to_all(reward, a.now):
            return False
        held = self.balances[member_id]
        account = model.account_of(reward.cost_unit)
        # In `redeem`'s order: the stock, then the balance.
        if reward.stock is not None and self.stock[reward.id] <= 0:
            REFUSED.inc()
            self.outcomes[i] = (False, redemption.out_of_stock())
            return True
        if held.get(account, 0) < reward.cost:
            return False
        held[account] -= reward.cost
        if reward.stock is not None:
            self.stock[reward.id] -= 1
            self.taken[reward.id] += 1
        entry = Entry(
            kind="redeem",
            memo=f"reward {reward.slug}: {reward.title.get('en', reward.slug)}",
            legs=(
                MemberLeg(member_id, account, reward.cost_unit, -reward.cost),
                SystemLeg("redeemed", reward.cost_unit, reward.cost),
            ),
            occurred_at=a.now,
            member_id=member_id,
            actor=a.principal.actor,
        )
        voucher = _voucher(self.bid, reward, member_id, a.now)
        held_after = ledger.with_every_account(held)
        self.waiting.append(_Waiting(i, entry, voucher, reward.slug, held_after))
        return True

    def _alone(self, i: int) -> None:
        self._flush()
        ALONE.inc()
        self.outcomes[i] = self.slow(i)
        # What `redeem` wrote (a settled lot, a spend, a unit of stock) is read again, for the
        # requests still to come.
        self._read_again([self.asked[i].member_id], [self.asked[i].reward_id], after=i)

    def _read_again(self, member_ids: list[int], reward_ids: list[int], after: int) -> None:
        coming = self.asked[after + 1 :]
        member_ids = [m for m in member_ids if any(a.member_id == m for a in coming)]
        reward_ids = [r for r in reward_ids if any(a.reward_id == r for a in coming)]
        if not member_ids and not reward_ids:
            return
        active = sorted(m for m in set(member_ids) if m in self.active)
        self.balances.update(ledger_store.balances_of_members(self.conn, self.bid, active))
        latest = naive_utc(max(a.now for a in self.asked))
        self.due -= set(active)
        self.due |= ledger_store.members_with_due_lots(self.conn, self.bid, active, latest)
        if not reward_ids:
            return
        for r, row in store.rewards_for_redemption(self.conn, self.bid, reward_ids).items():
            self.rewards[r] = row
            if row.stock is not None:
                self.stock[r] = row.stock

    def _flush(self) -> None:
        if not self.waiting:
            return
        waiting, self.waiting = self.waiting, []
        taken, self.taken = self.taken, Counter()
        conn, bid = self.conn, self.bid
        times = [self.asked[w.index].now for w in waiting]
        try:
            with group_commit.group_savepoint(conn):
                store.take_stock_of(conn, bid, taken)
                ledger_batch.post_many(
                    conn, bid, [w.entry for w in waiting], times[0], posted_at=times
                )
                # A voucher code already taken (about never) fails the group: then each alone.
                ids = store.insert_vouchers(conn, [w.voucher for w in waiting])
                rollups.on_redemptions(
                    conn,
                    bid,
                    [
                        (v, w.voucher["reward_id"], t)
                        for v, w, t in zip(ids, waiting, times, strict=True)
                    ],
                )
                for voucher_id, w, now in zip(ids, waiting, times, strict=True):
                    commit_counts.redemption_made(conn)
                    code, member_id = w.voucher["code"], w.voucher["member_id"]
                    event = {"member_id": member_id, "reward": w.slug, "voucher_id": voucher_id}
                    emit(conn, bid, "reward.redeemed", event | {"code": code}, now)
                    self.outcomes[w.index] = (True, _answer(conn, voucher_id, w))
        except Exception:
            # Never expected; each then gets the answer redeeming alone gives.
            for w in waiting:
                ALONE.inc()
                self.outcomes[w.index] = self.slow(w.index)
            asked = [self.asked[w.index] for w in waiting]
            last = waiting[-1].index
            self._read_again([a.member_id for a in asked], [a.reward_id for a in asked], last)
            return
        SETWISE.inc(len(waiting))


def _offered_to_all(reward: Any, now: datetime) -> bool:
    """Offered now, to every member, without a limit per member, paid by a debit alone."""
    return (
        reward.active
        and model.in_window(reward.valid_from, reward.valid_until, naive_utc(now))
        and not reward.visible_tiers
        and not reward.visible_segments
        and reward.limit_per_member is None
        and reward.kind in _DEBIT_ONLY
        and reward.cost > 0
    )


def _voucher(business_id: int, reward: Any, member_id: int, at: datetime) -> dict[str, Any]:
    """The voucher's row as `redeem` inserts it (a debit-only kind is never settled at once)."""
    return dict.fromkeys(store.VOUCHER_COLUMNS) | {
        "business_id": business_id,
        "reward_id": reward.id,
        "member_id": member_id,
        "status": "issued",
        "cost_unit": reward.cost_unit,
        "cost": reward.cost,
        "issued_at": naive_utc(at),
        "expires_at": naive_utc(at + timedelta(days=reward.voucher_days))
        if reward.voucher_days
        else None,
        "used_at": None,
        "fulfilment": "ordered" if reward.kind == "physical_gift" else None,
        "code": model.new_voucher_code(),
    }


def _answer(conn: Connection, voucher_id: int, w: _Waiting) -> VoucherOut:
    values = {k: v for k, v in w.voucher.items() if k != "id"}
    out = voucher_out(conn, SimpleNamespace(id=voucher_id, **values), w.slug)
    out.balances = w.held
    return out
