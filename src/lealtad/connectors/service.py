"""Connectors' use cases: configuring one, and applying a verified delivery through the one
purchase path (purchases.service.record, purchases.refunds.refund). Never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection

from lealtad.connectors import store
from lealtad.connectors.model import (
    ENROL,
    Batch,
    Contact,
    Customer,
    Event,
    Ignored,
    Refund,
    Sale,
    Single,
    printable,
    unmappable,
    vendor_id,
)
from lealtad.connectors.schemas import ConnectorIn, ConnectorOut, DeliveryOut
from lealtad.connectors.vendors import vendor
from lealtad.errors import Conflict, Invalid, LealtadError, NotFound
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.ledger import idempotency
from lealtad.members import service as members
from lealtad.members.schemas import MemberIn
from lealtad.purchases import refunds
from lealtad.purchases import service as purchases
from lealtad.purchases import store as purchase_store
from lealtad.purchases.schemas import PurchaseIn, RefundIn
from lealtad.tenancy import service as tenancy
from lealtad.tenancy import store as tenancy_store
from lealtad.tenancy.model import Principal, Role

# Outcomes in the delivery log.
RECORDED, DUPLICATE, IGNORED, REFUSED, FAILED, LINKED = (
    "recorded",
    "duplicate",
    "ignored",
    "refused",
    "failed",
    "linked",
)


def hook_path(vendor_name: str, slug: str) -> str:
    return f"/hooks/{vendor_name}/{slug}"


def configure(
    conn: Connection, principal: Principal, vendor_name: str, data: ConnectorIn, now: datetime
) -> ConnectorOut:
    chosen = vendor(vendor_name)
    shortest = getattr(chosen, "MIN_SECRET", 8)
    if data.secret is not None and len(data.secret.strip()) < shortest:
        # Loyverse's secret is the only credential and one the business makes up.
        raise Invalid(f"the secret must be at least {shortest} characters", code="secret_too_short")
    bid = principal.business_id
    for location_id in {*data.locations.values(), data.location_id} - {None}:
        tenancy.get_location(conn, bid, int(location_id))  # type: ignore[arg-type]
    values: dict[str, Any] = {
        "locations": data.locations,
        "location_id": data.location_id,
        "unknown_customer": data.unknown_customer,
        "updated_at": naive_utc(now),
    }
    if data.secret is not None:
        values["secret"] = data.secret.strip()
    before = store.config(conn, bid, vendor_name)
    target = f"connector:{vendor_name}"
    if before is None:
        if data.secret is None:
            raise Invalid("a new connector needs the vendor's secret", code="secret_required")
        created = {"business_id": bid, "vendor": vendor_name, "created_at": naive_utc(now)}
        store.insert_config(conn, **created, **values)
        shown = {k: v for k, v in values.items() if k not in ("secret", "updated_at")}
        tenancy.audit_created(conn, principal, "connector.create", target, now, shown)
    else:
        kept = {k: getattr(before, k) for k in values if k != "updated_at"}
        asked = {k: v for k, v in values.items() if k != "updated_at"}
        if kept == asked:  # a save that changes nothing writes nothing
            return connector_out(conn, tenancy.get_business(conn, bid), before)
        store.update_config(conn, bid, vendor_name, **values)
        if "secret" in asked:  # the log says the secret changed, never what it is
            kept["secret"] = "…"
            asked["secret"] = "…" if before.secret == asked["secret"] else "new"
        tenancy.audit_change(conn, principal, "connector.update", target, now, kept, asked)
    return connector_out(
        conn, tenancy.get_business(conn, bid), store.config(conn, bid, vendor_name)
    )


def config_for(conn: Connection, slug: str, vendor_name: str) -> Any:
    """The connector a vendor's delivery names by the business's slug; 404 when there is none."""
    business = tenancy_store.business_by_slug(conn, slug)
    config = store.config(conn, business.id, vendor_name) if business else None
    if config is None:
        raise NotFound(f"no {vendor_name} connector for this business", code="connector_not_found")
    return config


def currency_of(conn: Connection, config: Any) -> str:
    """The business's own currency: a vendor whose payloads name none sells in it."""
    return str(tenancy.get_business(conn, config.business_id).currency)


def connector_out(conn: Connection, business: Any, row: Any) -> ConnectorOut:
    last = store.deliveries(conn, business.id, row.vendor, 1)
    return ConnectorOut(
        vendor=row.vendor,
        hook_path=hook_path(row.vendor, business.slug),
        locations=row.locations,
        location_id=row.location_id,
        unknown_customer=row.unknown_customer,
        updated_at=as_utc(row.updated_at),
        last_delivery=delivery_out(last[0]) if last else None,
    )


def connectors(conn: Connection, business_id: int) -> list[ConnectorOut]:
    business = tenancy.get_business(conn, business_id)
    return [connector_out(conn, business, row) for row in store.configs(conn, business_id)]


def delivery_out(row: Any) -> DeliveryOut:
    return DeliveryOut(
        id=row.id,
        vendor=row.vendor,
        event=row.event,
        external_id=row.external_id,
        received_at=as_utc(row.received_at),
        outcome=row.outcome,
        status_code=row.status_code,
        error_code=row.error_code,
        member_id=row.member_id,
    )


def deliveries(
    conn: Connection, business_id: int, vendor_name: str, limit: int
) -> list[DeliveryOut]:
    vendor(vendor_name)
    if store.config(conn, business_id, vendor_name) is None:
        raise NotFound(f"no {vendor_name} connector in this business", code="connector_not_found")
    return [delivery_out(r) for r in store.deliveries(conn, business_id, vendor_name, limit)]


def log(
    conn: Connection,
    business_id: int,
    vendor_name: str,
    now: datetime,
    *,
    outcome: str,
    status_code: int,
    event: str | None = None,
    external_id: str | None = None,
    error_code: str | None = None,
    member_id: int | None = None,
) -> None:
    store.log_delivery(
        conn,
        business_id=business_id,
        vendor=vendor_name,
        event=printable(event, 60),
        external_id=printable(external_id, 200),
        received_at=naive_utc(now),
        outcome=outcome,
        status_code=status_code,
        error_code=printable(error_code, 60),
        member_id=member_id,
    )


@dataclass
class Applied:
    outcome: str
    status_code: int
    body: dict[str, Any]
    member_id: int | None = None


def events_of(event: Event) -> tuple[Single, ...]:
    """The events a delivery carries, one for most vendors; an empty batch asks for nothing."""
    if not isinstance(event, Batch):
        return (event,)
    return event.events or (Ignored(None, "the delivery carries nothing to record"),)


def combined(results: list[Applied]) -> Applied:
    """One answer for a delivery of several events: recorded if anything was."""
    if len(results) == 1:
        return results[0]
    said = [r.outcome for r in results]
    outcome = next((o for o in (RECORDED, LINKED, DUPLICATE) if o in said), IGNORED)
    member_id = next((r.member_id for r in results if r.member_id), None)
    return Applied(
        outcome, 200, {"outcome": outcome, "results": [r.body for r in results]}, member_id
    )


def apply(
    conn: Connection, config: Any, event: Single, *, secret_key: str, now: datetime
) -> Applied:
    """A verified delivery applied once: the vendor's own id is the receipt (or refund) id, so
    a delivery repeated, or its created and updated twins, change nothing the second time."""
    # Recorded as the connector, not as a person or a key: the audit trail says "system".
    principal = Principal(business_id=config.business_id, role=Role.staff)
    if isinstance(event, Ignored):
        return Applied(IGNORED, 200, {"outcome": IGNORED, "reason": event.reason})
    if isinstance(event, Contact):
        return _contact(conn, config, event, secret_key, now)
    kind = "refund" if isinstance(event, Refund) else "sale"
    vendor_id(event.external_id, "the vendor's id")
    if isinstance(event, Refund):
        vendor_id(event.sale_external_id, "the refunded sale's id")
    # One claim per vendor id, taken first: deliveries of the same sale at the same moment
    # wait here for the first one's commit (PostgreSQL) and then find it done, so exactly one
    # says "recorded". Its payload is only the id: a payment's created and updated twins
    # differ in everything else.
    claim = f"connector:{config.vendor}:{kind}:{event.external_id}"
    if idempotency.begin(conn, config.business_id, claim, {"id": claim}, now) is not None:
        return Applied(DUPLICATE, 200, {"outcome": DUPLICATE, "external_id": event.external_id})
    if isinstance(event, Refund):
        applied = _refund(conn, principal, config.vendor, event, now)
    else:
        applied = _sale(conn, principal, config, event, secret_key, now)
    idempotency.finish(conn, config.business_id, claim, applied.status_code, applied.body)
    return applied


def receipt(vendor_name: str, external_id: str) -> str:
    return f"{vendor_name}:{external_id}"[:100]


def _sale(
    conn: Connection, principal: Principal, config: Any, sale: Sale, secret_key: str, now: datetime
) -> Applied:
    bid, receipt_id = principal.business_id, receipt(config.vendor, sale.external_id)
    done = purchase_store.purchase_by_receipt(conn, bid, receipt_id)
    if done is not None:
        return _duplicate(done.id, done.member_id)
    member_id = _member(conn, bid, config, sale.customer, secret_key, now)
    location = config.locations.get(sale.location or "", config.location_id)
    try:
        data = PurchaseIn(
            receipt_id=receipt_id,
            amount=sale.amount,
            currency=sale.currency,
            member_id=member_id,
            location_id=location,
            channel="online" if sale.channel == "online" else "counter",
            occurred_at=sale.occurred_at,
            items=[
                {
                    "sku": line.sku,
                    "quantity": Decimal(line.quantity),
                    "unit_price": line.unit_price,
                    "category": line.category,
                }
                for line in sale.lines
            ],
        )
    except (ValidationError, ArithmeticError) as exc:
        raise unmappable(f"the sale cannot be recorded as it is: {exc}"[:300]) from exc
    try:
        _status, body = purchases.record(conn, principal, data, secret_key=secret_key, now=now)
    except Conflict as exc:
        if exc.code != "duplicate_receipt":
            raise
        done = purchase_store.purchase_by_receipt(conn, bid, receipt_id)
        return _duplicate(done.id if done else None, member_id)
    return Applied(RECORDED, 200, {"outcome": RECORDED, "purchase": body}, member_id)


def _duplicate(purchase_id: int | None, member_id: int | None) -> Applied:
    return Applied(DUPLICATE, 200, {"outcome": DUPLICATE, "purchase_id": purchase_id}, member_id)


def _contact(
    conn: Connection, config: Any, contact: Contact, secret_key: str, now: datetime
) -> Applied:
    """A vendor's customer record: its id linked to the member its contact names (enrolled
    first when the business asked for that), so receipts naming only the id find them."""
    vendor_id(contact.external_id, "the customer's id")
    customer = Customer(
        email=contact.customer.email,
        phone=contact.customer.phone,
        name=contact.customer.name,
        ref=contact.external_id,
    )
    member_id = _member(conn, config.business_id, config, customer, secret_key, now)
    if member_id is None:
        reason = "the customer names no member and is not enrolled"
        return Applied(IGNORED, 200, {"outcome": IGNORED, "reason": reason})
    return Applied(LINKED, 200, {"outcome": LINKED, "member_id": member_id}, member_id)


def _ref(customer: Customer) -> str | None:
    ref = customer.ref
    return ref if ref and len(ref) <= 100 and "\x00" not in ref else None


def _member(
    conn: Connection, bid: int, config: Any, customer: Customer, secret_key: str, now: datetime
) -> int | None:
    """The buyer as a member: by the vendor's customer id already linked, else by card, e-mail
    or phone, else enrolled when the business asked for it and the vendor named them, else none
    (the sale is recorded anonymous). A vendor's customer id seen beside the member is linked."""
    ref = _ref(customer)
    if ref is not None:
        linked = store.customer_member(conn, bid, config.vendor, ref)
        if linked is not None:
            try:
                return int(members.find(conn, bid, secret_key, member_id=linked).id)
            except LealtadError:  # erased since: the link names nobody now
                pass
    member_id = _contact_member(conn, bid, config, customer, secret_key, now)
    if member_id is not None and ref is not None:
        store.link_customer(conn, bid, config.vendor, ref, member_id, naive_utc(now))
    return member_id


def _contact_member(
    conn: Connection, bid: int, config: Any, customer: Customer, secret_key: str, now: datetime
) -> int | None:
    looks: list[dict[str, Any]] = [
        {"card_number": customer.card},
        {"email": customer.email},
        {"phone": customer.phone},
    ]
    for look in looks:
        if None in look.values():
            continue
        try:
            return int(members.find(conn, bid, secret_key, now=now, **look).id)
        except (NotFound, Invalid):
            continue
    if config.unknown_customer != ENROL or not (customer.email or customer.phone):
        return None
    try:
        joined = MemberIn(name=customer.name, email=customer.email, phone=customer.phone)
        return members.enrol(conn, bid, joined, channel="connector", now=now)
    except (ValidationError, Invalid, Conflict):
        # A contact the vendor holds that we cannot enrol with (malformed, or an erased
        # member's): the sale still counts, without a member.
        return None


def _refund(
    conn: Connection, principal: Principal, vendor_name: str, refund: Refund, now: datetime
) -> Applied:
    bid, refund_id = principal.business_id, receipt(vendor_name, refund.external_id)
    done = purchase_store.refund_by_ref(conn, bid, refund_id)
    if done is not None:
        return Applied(DUPLICATE, 200, {"outcome": DUPLICATE, "refund_id": refund_id})
    sale_receipt = receipt(vendor_name, refund.sale_external_id)
    if purchase_store.purchase_by_receipt(conn, bid, sale_receipt) is None:
        # Answered with an error so the vendor retries: the sale's own delivery may come later.
        raise Conflict(
            f"the sale {refund.sale_external_id!r} has not been recorded yet",
            code="sale_not_recorded",
        )
    try:
        data = RefundIn(
            refund_id=refund_id,
            receipt_id=sale_receipt,
            amount=refund.amount,
            occurred_at=refund.occurred_at,
        )
    except ValidationError as exc:
        raise unmappable(f"the refund cannot be recorded as it is: {exc}"[:300]) from exc
    _status, body = refunds.refund(conn, principal, data, now=now)
    return Applied(RECORDED, 200, {"outcome": RECORDED, "refund": body})


def prune_log(conn: Connection, business_id: int, now: datetime, days: int) -> int:
    """The daily clean-up of the delivery log: deliveries older than `days` go (the log is for
    looking into recent deliveries; what they recorded lives on as purchases and refunds)."""
    return store.prune_deliveries(conn, business_id, naive_utc(now - timedelta(days=days)))
