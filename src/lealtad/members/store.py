"""All SQL of members."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    bindparam,
    false,
    insert,
    or_,
    select,
    update,
)

from lealtad.db.plans import filter_only
from lealtad.members import model, pii
from lealtad.members.tables import member_previous_cards, members
from lealtad.security.crypto import FieldKeys
from lealtad.security.fields import keys_of

# Encrypted columns are looked up through their blind index.
_INDEXES = {"email": pii.email_index, "phone": pii.phone_index}


def insert_member(conn: Connection, **values: Any) -> int:
    values = pii.with_indexes(conn, values["business_id"], values)
    return int(conn.execute(insert(members).values(**values).returning(members.c.id)).scalar_one())


# Built once: both run on every purchase (see ledger.store).
_MEMBER = select(members).where(
    members.c.business_id == bindparam("b"), members.c.id == bindparam("m")
)
# The status comes with the lock: the same statement, and it is the status as of the lock.
_LOCK = _MEMBER.with_only_columns(members.c.status).with_for_update()


def member(conn: Connection, business_id: int, member_id: int) -> Any:
    return conn.execute(_MEMBER, {"b": business_id, "m": member_id}).first()


def lock_member(conn: Connection, business_id: int, member_id: int) -> str | None:
    """Holds the member's row until commit and returns their status read under the lock: an
    erasure committed after an earlier read of the row shows here. None when there is no such
    member, and on SQLite, where every write transaction is BEGIN IMMEDIATE (db.engine): it
    already excludes every other writer, so what the transaction read before is still true,
    and the lock would be one more statement for nothing."""
    if conn.dialect.name == "sqlite":
        return None
    status = conn.execute(_LOCK, {"b": business_id, "m": member_id}).scalar()
    return None if status is None else str(status)


def member_by(conn: Connection, business_id: int, column: str, value: str) -> Any:
    if column in _INDEXES:
        index = _INDEXES[column](keys_of(conn.dialect), business_id, value)
        if index is None:
            return None
        column, value = f"{column}_index", index
    return conn.execute(
        select(members).where(members.c.business_id == business_id, members.c[column] == value)
    ).first()


def member_by_previous_card(conn: Connection, business_id: int, card_number: str) -> Any:
    """The member whose card in the business's previous system had this number."""
    cards = member_previous_cards.c
    return conn.execute(
        select(members)
        .join(member_previous_cards, cards.member_id == members.c.id)
        .where(cards.business_id == business_id, cards.card_number == card_number)
    ).first()


def previous_card_owner(conn: Connection, business_id: int, card_number: str) -> int | None:
    cards = member_previous_cards.c
    found = conn.execute(
        select(cards.member_id).where(
            cards.business_id == business_id, cards.card_number == card_number
        )
    ).scalar()
    return None if found is None else int(found)


def previous_card_numbers(conn: Connection, business_id: int, member_id: int) -> list[str]:
    cards = member_previous_cards.c
    query = (
        select(cards.card_number)
        .where(cards.business_id == business_id, cards.member_id == member_id)
        .order_by(cards.id)
    )
    return [str(n) for n in conn.execute(query).scalars()]


def add_previous_card(
    conn: Connection, business_id: int, member_id: int, card_number: str, now: datetime
) -> None:
    conn.execute(
        insert(member_previous_cards).values(
            business_id=business_id, member_id=member_id, card_number=card_number, created_at=now
        )
    )


def card_number_taken(conn: Connection, business_id: int, card_number: str) -> bool:
    # A new card must not take a number an old card still answers to: it would hide it.
    return (
        member_by(conn, business_id, "card_number", card_number) is not None
        or previous_card_owner(conn, business_id, card_number) is not None
    )


def update_member(conn: Connection, business_id: int, member_id: int, **values: Any) -> None:
    conn.execute(
        update(members)
        .where(members.c.business_id == business_id, members.c.id == member_id)
        .values(**pii.with_indexes(conn, business_id, values))
    )


def search(
    conn: Connection,
    business_id: int,
    *,
    limit: int,
    after: int | None,
    term: str | None = None,
    card_prefix: bool = True,
) -> list[Any]:
    """Members in id order, a page at a time; with `term`, those it names: an exact e-mail or
    phone, a card number (or its start, with `card_prefix`), or whole words of the name.
    Personal data is encrypted (D28), so it is matched through its blind indexes."""
    query = select(members).where(members.c.business_id == business_id)
    if term is not None:
        query = query.where(_named_by(conn, business_id, term, card_prefix))
    if after is not None:
        query = query.where(members.c.id > after)
    return list(conn.execute(query.order_by(members.c.id).limit(limit)))


def _named_by(
    conn: Connection, business_id: int, term: str, card_prefix: bool
) -> ColumnElement[bool]:
    keys = keys_of(conn.dialect)
    text = term.strip()
    found: list[ColumnElement[bool]] = []
    for column, index in (
        (members.c.email_index, pii.email_index(keys, business_id, text)),
        (members.c.phone_index, pii.phone_index(keys, business_id, text)),
    ):
        if index is not None:
            found.append(column == index)
    card = model.normalise_card_number(text)
    if card.isdigit():
        found.append(
            members.c.card_number.like(card + "%") if card_prefix else members.c.card_number == card
        )
    name = name_matches(keys, business_id, text)
    if name is not None:
        found.append(name)
    return or_(*found) if found else false()


def name_matches(keys: FieldKeys, business_id: int, text: str) -> ColumnElement[bool] | None:
    """Every word of `text` is a word of the member's name (exact words, not prefixes)."""
    patterns = pii.name_patterns(keys, business_id, text)
    if not patterns:
        return None
    return and_(*(members.c.name_index.like(pattern) for pattern in patterns))


def display_names(conn: Connection, business_id: int, ids: set[int]) -> dict[int, str]:
    """Each member's name, or their card number when they gave none, for lists in the console."""
    if not ids:
        return {}
    rows = conn.execute(
        select(members.c.id, members.c.name, members.c.card_number).where(
            members.c.business_id == business_id, members.c.id.in_(ids)
        )
    )
    return {r.id: r.name or r.card_number for r in rows}


def latest_id(conn: Connection, business_id: int, *, active_only: bool = False) -> int | None:
    """The newest member (an active one if asked): whose figures a preview shows by default."""
    query = select(members.c.id).where(members.c.business_id == business_id)
    if active_only:
        query = query.where(members.c.status == "active")
    found = conn.execute(query.order_by(members.c.id.desc()).limit(1)).scalar()
    return int(found) if found is not None else None


# What a set-wise batch of sales or redemptions asks of a member: not the encrypted contact
# columns, which a whole row would decrypt, four per member, for nothing.
_BATCH_COLUMNS = (
    members.c.id,
    members.c.business_id,
    members.c.card_number,
    members.c.card_version,
    members.c.tags,
    members.c.status,
    members.c.referred_by_member_id,
)


def members_by_ids(conn: Connection, business_id: int, ids: list[int]) -> dict[int, Any]:
    """The members with these ids (`_BATCH_COLUMNS`), in one read per 500 (SQLite's
    bound-parameter limit)."""
    found: dict[int, Any] = {}
    unique = sorted(set(ids))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        query = select(*_BATCH_COLUMNS).where(
            filter_only(members.c.business_id) == business_id, members.c.id.in_(chunk)
        )
        found.update({int(row.id): row for row in conn.execute(query)})
    return found


def members_by_cards(conn: Connection, business_id: int, numbers: list[str]) -> dict[str, Any]:
    """The members holding these (normalised) current card numbers (`_BATCH_COLUMNS`)."""
    found: dict[str, Any] = {}
    unique = sorted(set(numbers))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        query = select(*_BATCH_COLUMNS).where(
            members.c.business_id == business_id, members.c.card_number.in_(chunk)
        )
        found.update({row.card_number: row for row in conn.execute(query)})
    return found


def members_by_previous_cards(
    conn: Connection, business_id: int, numbers: list[str]
) -> dict[str, Any]:
    """The members holding these card numbers of the previous system (`_BATCH_COLUMNS`), keyed
    by the number as stored (upper case), as `find` follows an old card."""
    found: dict[str, Any] = {}
    unique = sorted(set(numbers))
    cards = member_previous_cards.c
    for start in range(0, len(unique), 500):
        query = (
            select(*_BATCH_COLUMNS, cards.card_number.label("old"))
            .join(member_previous_cards, cards.member_id == members.c.id)
            .where(
                cards.business_id == business_id,
                cards.card_number.in_(unique[start : start + 500]),
            )
        )
        found.update({row.old: row for row in conn.execute(query)})
    return found


def lock_members(conn: Connection, business_id: int, ids: list[int]) -> dict[int, str]:
    """PostgreSQL: holds these members' rows until commit, in id order (as every writer that
    locks several takes them, so that two cannot wait on each other), and returns each one's
    status as of the lock. On SQLite nothing: its write transaction excludes other writers."""
    if conn.dialect.name == "sqlite" or not ids:
        return {}
    found: dict[int, str] = {}
    unique = sorted(set(ids))
    for start in range(0, len(unique), 500):
        query = (
            select(members.c.id, members.c.status)
            .where(
                members.c.business_id == business_id, members.c.id.in_(unique[start : start + 500])
            )
            .order_by(members.c.id)
            .with_for_update()
        )
        found.update({int(m): str(status) for m, status in conn.execute(query)})
    return found


# ---- members as other domains' queries name them (comms' delivery log and messages) ---------


def with_name_and_card(query: Select[Any], member_id: ColumnElement[Any]) -> Select[Any]:
    """`query` joined to the member `member_id` names, with their name and card number."""
    return query.add_columns(members.c.name, members.c.card_number).join(
        members, members.c.id == member_id
    )


# A condition another domain adds on a member, given the member's business and id columns.
MemberCondition = Callable[[ColumnElement[Any], ColumnElement[Any]], ColumnElement[bool]]


def message_recipients(
    conn: Connection,
    business_id: int,
    *,
    member_id: int | None = None,
    or_reachable: MemberCondition | None = None,
) -> list[Any]:
    """Id, language and consent of the members a message goes to: one member, or those with an
    e-mail address or meeting `or_reachable`."""
    query = select(members.c.id, members.c.locale, members.c.consent).where(
        members.c.business_id == business_id
    )
    if or_reachable is not None:
        reachable = or_reachable(members.c.business_id, members.c.id)
        query = query.where(or_(members.c.email.is_not(None), reachable))
    if member_id is not None:
        query = query.where(members.c.id == member_id)
    return list(conn.execute(query))


def active_members_query(business_id: int) -> Select[Any]:
    """Id, language, tags and consent of the business's active members, for another domain to
    join its own figures onto (comms' campaign audiences)."""
    return select(members.c.id, members.c.locale, members.c.tags, members.c.consent).where(
        members.c.business_id == business_id, members.c.status == "active"
    )
