"""The guided set-up of a new business, step by step: the business and its brand, a template,
its numbers, locations and staff, then going live. What the owner chose is kept on the server
after each step (`business_setups`), so the set-up can be left and taken up again; the program
is written only at the end, as a new version of the business's program, and the template's
products and catalog rewards are added with it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from lealtad.errors import Conflict, Forbidden, Invalid, NotFound
from lealtad.kit.clock import naive_utc
from lealtad.kit.money import is_known_currency
from lealtad.onboarding import numbers, store
from lealtad.purchases import store as purchase_store
from lealtad.rules import service as programs
from lealtad.rules import store as rule_store
from lealtad.rules.definition import ProgramDefinition
from lealtad.rules.starting import Furnished, furnish
from lealtad.rules.templates import get_template
from lealtad.tenancy import service as tenancy
from lealtad.tenancy import store as tenancy_store
from lealtad.tenancy.model import Principal, Role

STEPS = ("business", "program", "numbers", "places", "review")


@dataclass(frozen=True)
class Setup:
    step: str  # the furthest step reached
    answers: dict[str, Any] = field(default_factory=dict)
    finished: bool = False

    @property
    def template(self) -> str | None:
        chosen = self.answers.get("template")
        return str(chosen) if chosen else None

    @property
    def numbers(self) -> dict[str, str]:
        return dict(self.answers.get("numbers") or {})

    def reached(self, step: str) -> bool:
        return STEPS.index(step) <= STEPS.index(self.step)


def empty_program(name: str) -> ProgramDefinition:
    """A new business's program before its set-up: nothing earns until it goes live."""
    return ProgramDefinition(name=name[:200] or "Loyalty program")


def begin(conn: Connection, business_id: int, now: datetime) -> None:
    """A business made to be set up in the browser (`lealtad business create`)."""
    if store.setup(conn, business_id) is None:
        store.insert_setup(conn, business_id, STEPS[0], naive_utc(now))


def current(conn: Connection, business_id: int) -> Setup | None:
    row = store.setup(conn, business_id)
    if row is None:
        return None
    return Setup(row.step, dict(row.answers or {}), row.finished_at is not None)


def pending(conn: Connection, business_id: int) -> bool:
    """Whether the business still waits for its set-up: begun, unfinished, and its program earns
    nothing. The owner of a live business who opens the set-up to look is not "not live"."""
    found = current(conn, business_id)
    return found is not None and not found.finished and not _earns(conn, business_id)


def _earns(conn: Connection, business_id: int) -> bool:
    try:
        latest = rule_store.latest_version_number(conn, business_id)
        definition = programs.get_version(conn, business_id, latest).definition
    except NotFound:
        return False
    return bool(definition.rules or definition.stamp_cards or definition.tiers)


def _owner(principal: Principal) -> None:
    if principal.role is not Role.owner:
        raise Forbidden("only an owner sets the business up", code="role_required")


def _open(conn: Connection, principal: Principal, now: datetime) -> Setup:
    """The set-up in progress; an owner opening it for a business made another way starts one."""
    _owner(principal)
    found = current(conn, principal.business_id)
    if found is None:
        begin(conn, principal.business_id, now)
        found = Setup(STEPS[0])
    if found.finished:
        raise Conflict("the set-up is finished: the program is live", code="setup_finished")
    return found


def _reach(conn: Connection, business_id: int, found: Setup, step: str, **answers: Any) -> None:
    furthest = step if STEPS.index(step) > STEPS.index(found.step) else found.step
    store.update_setup(conn, business_id, step=furthest, answers=found.answers | answers)


def save_business(
    conn: Connection,
    principal: Principal,
    now: datetime,
    *,
    name: str,
    currency: str,
    timezone: str,
    locale: str,
) -> None:
    """Step 1. The currency may change only here: nothing has been bought yet."""
    found = _open(conn, principal, now)
    business = tenancy.get_business(conn, principal.business_id)
    tenancy.update_business(
        conn,
        principal,
        now,
        name=name,
        locale=locale,
        timezone=timezone,
        two_step_required=business.two_step_required,
    )
    currency = currency.strip().upper()
    if not is_known_currency(currency):
        raise Invalid(f"unknown currency {currency!r}", code="unknown_currency")
    if currency != business.currency:
        if purchase_store.any_purchase(conn, principal.business_id):
            raise Conflict("the business has sales in its currency", code="currency_fixed")
        tenancy_store.update_business(conn, principal.business_id, currency=currency)
        tenancy.audit(
            conn,
            principal,
            "business.update",
            f"business:{principal.business_id}",
            now,
            currency={"before": business.currency, "after": currency},
        )
    _reach(conn, principal.business_id, found, "program")


def choose_template(conn: Connection, principal: Principal, now: datetime, name: str) -> None:
    """Step 2. Choosing another template forgets the numbers typed for the first."""
    found = _open(conn, principal, now)
    get_template(name)
    kept = found.numbers if found.template == name else {}
    _reach(conn, principal.business_id, found, "numbers", template=name, numbers=kept)


def save_numbers(
    conn: Connection, principal: Principal, now: datetime, form: dict[str, str]
) -> dict[str, str]:
    """Step 3: the template's numbers, checked (numbers.NumberRefused names the field)."""
    found = _open(conn, principal, now)
    if found.template is None:
        raise Invalid("choose a program first", code="template_missing")
    template = get_template(found.template)
    currency = tenancy.get_business(conn, principal.business_id).currency
    chosen = numbers.read(numbers.numbers_of(template, currency), form)
    numbers.apply(template, chosen, currency)  # the tiers must still rise
    _reach(conn, principal.business_id, found, "places", numbers=chosen)
    return chosen


def places_done(conn: Connection, principal: Principal, now: datetime) -> None:
    """Step 4 is optional: locations and staff are added as they are typed."""
    found = _open(conn, principal, now)
    _reach(conn, principal.business_id, found, "review")


def planned(conn: Connection, business_id: int) -> tuple[ProgramDefinition, Any, Any] | None:
    """The program the set-up would publish, its template and its rewards; None before a
    template is chosen."""
    found = current(conn, business_id)
    if found is None or found.template is None:
        return None
    template = get_template(found.template)
    currency = tenancy.get_business(conn, business_id).currency
    definition, rewards = numbers.apply(template, found.numbers, currency)
    return definition, template, rewards


def go_live(conn: Connection, principal: Principal, now: datetime) -> Furnished:
    """Step 5: the chosen program in force from now, its products and rewards in place."""
    found = _open(conn, principal, now)
    if found.template is None or not found.reached("review"):
        raise Invalid("the set-up has steps left", code="setup_incomplete")
    template = get_template(found.template)
    currency = tenancy.get_business(conn, principal.business_id).currency
    definition, rewards = numbers.apply(template, found.numbers, currency)
    try:
        programs.change(
            conn,
            principal.business_id,
            definition,
            author=principal.actor,
            reason=f"set-up: {template.name}",
            now=now,
        )
    except Invalid as exc:
        if exc.code != "program_unchanged":  # already this program: it is live
            raise
    done = furnish(conn, principal.business_id, template, now, given=rewards)
    if not tenancy_store.business_locations(conn, principal.business_id):
        # The poster and the counter belong to a place: the business itself is the first.
        name = tenancy.get_business(conn, principal.business_id).name
        tenancy.create_location(conn, principal.business_id, name=name, timezone=None, now=now)
    store.update_setup(conn, principal.business_id, finished_at=naive_utc(now))
    tenancy.audit(
        conn,
        principal,
        "setup.finish",
        f"business:{principal.business_id}",
        now,
        template={"after": template.name},
    )
    return done
