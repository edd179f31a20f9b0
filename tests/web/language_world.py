"""A lived-in business for the language sweep: the demo of a template (members, months of
purchases, refunds, redemptions and corrections, in the business's language), then what the demo
leaves out so every page has something to show: a survey with answers, a campaign sent and one
scheduled, an experiment, a voucher waiting in the wallet, the queued and failed messages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fastapi.responses import Response
from fastapi.testclient import TestClient

from lealtad import demo
from lealtad.analytics import refresh
from lealtad.comms import unsubscribe
from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.demo_people import BUSINESS_NAMES, LOCATIONS, words
from lealtad.kit.catalog import catalog as catalog_of
from lealtad.kit.clock import FixedClock, naive_utc
from lealtad.ledger import adjustments
from lealtad.members import service as members
from lealtad.members import store as member_store
from lealtad.products import service as products
from lealtad.rewards import redemption
from lealtad.rewards import service as rewards
from lealtad.rewards import store as rewards_store
from lealtad.rules import service as programs
from lealtad.rules.names import name_in
from lealtad.rules.templates import get_template
from lealtad.surveys import links
from lealtad.tenancy import store as tenancy_store
from lealtad.tenancy import two_step
from lealtad.tenancy.model import Principal, Role
from lealtad.web import pending, sessions
from lealtad.worker import deliver, run_once

API = "/api/v1"


@dataclass
class Business:
    template: str
    id: int
    slug: str
    member_id: int
    values: dict[str, Any]
    staff_cookie: str
    member_cookie: str
    # Sign-ins half done (password right, second step due) by path: the owner sets two-step
    # up, the manager, who has it, gives a code.
    pending_cookies: dict[str, str]
    # What the business typed: names of people and places, its notes (no language of ours).
    own_words: list[str] = field(default_factory=list)
    ids: dict[str, set[str]] = field(default_factory=dict)


def _cookie(response: Response) -> str:
    return response.headers["set-cookie"].split(";")[0]


def _post(client: TestClient, key: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = client.post(f"{API}{path}", json=body, headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code in (200, 201), f"{path}: {answer.text}"
    return dict(answer.json())


def _owner_key(db: Database, business_id: int, now: datetime) -> str:
    from lealtad.tenancy import service as tenancy

    with db.transaction() as conn:
        _, key = tenancy.create_api_key(
            conn, business_id, name="sweep", role=Role.owner, location_id=None, now=now
        )
    return key


def _program_ids(db: Database, business_id: int, now: datetime) -> dict[str, set[str]]:
    """Ids and slugs a page must never show, per language: one with a dash or underscore
    always; a one-word id only when it is no word of that language's titles, product names or
    catalog (a tier "gold" titled "Gold", a rule "base" on a page about a "base de datos")."""
    with db.read() as conn:
        definition = programs.in_force(conn, business_id, now).definition
        catalog = rewards_store.catalog(conn, business_id, active_only=False)
        sold = products.listing(conn, business_id)
    raw: set[str] = {r.slug for r in catalog}
    said: dict[str, list[str]] = {"es": [], "en": []}
    for thing in [*definition.rules, *definition.stamp_cards, *tiers_of(definition)]:
        raw.add(thing.id)
        for lang in said:
            said[lang] += [thing.name, name_in(thing, lang)]
    for reward in catalog:
        for lang in said:
            said[lang].append(str((reward.title or {}).get(lang, "")))
    for product in sold:
        for lang in said:
            said[lang] += [product.title_in(lang), product.sku, product.category or ""]
    said["es"] += list(catalog_of("es").messages.values())
    said["en"] += list(catalog_of("es").messages)
    found = {}
    for lang, texts in said.items():
        words = {w.lower() for t in texts for w in re.findall(r"[\w']+", t)}
        found[lang] = {r for r in raw if "-" in r or "_" in r or r.lower() not in words}
    return found


def tiers_of(definition: Any) -> list[Any]:
    return list(definition.tiers.levels) if definition.tiers else []


def build(
    client: TestClient, db: Database, settings: Settings, clock: FixedClock, template: str
) -> Business:
    now = clock.now()
    # Enough members at the café for the customer value model to fit (it needs 20 with
    # purchases), so its figures are read too; a few elsewhere, where it says why it cannot.
    info = demo.seed(
        db, now, template=template, members_count=30 if template == "coffee-stamps" else 12
    )
    bid, slug = info.business_id, info.slug
    key = _owner_key(db, bid, now)
    chosen = get_template(template)
    said = words(chosen.locale)

    survey = _post(
        client,
        key,
        "/surveys",
        {
            "name": "Visita" if chosen.locale == "es" else "Visit",
            "title": {"es": "¿Qué tal tu visita?", "en": "How was your visit?"},
            "status": "open",
            "in_wallet": True,
            "questions": [
                {"id": "score", "kind": "rating", "text": {"es": "Nota", "en": "Score"}},
                {
                    "id": "comment",
                    "kind": "text",
                    "required": False,
                    "text": {"es": "¿Algo más?", "en": "Anything else?"},
                },
            ],
        },
    )
    for who, score in ((info.member_ids[1], 5), (info.member_ids[2], 3)):  # some answers
        _post(
            client,
            key,
            f"/surveys/{survey['id']}/responses",
            {"member_id": who, "answers": {"score": score, "comment": "Muy bien"}},
        )
    texts = {
        "subject": {"es": "Doble de puntos este finde", "en": "Double points this weekend"},
        "body": {
            "es": "Este sábado y domingo, cada compra suma el doble.",
            "en": "This Saturday and Sunday every purchase earns double.",
        },
    }
    campaign_name = "Fin de semana" if chosen.locale == "es" else "Weekend"
    sent = _post(client, key, "/campaigns", {"name": campaign_name, **texts})
    scheduled = _post(
        client,
        key,
        "/campaigns",
        {"name": campaign_name, **texts, "send_at": (now + timedelta(days=3)).isoformat()},
    )
    experiment = _post(
        client,
        key,
        "/experiments",
        {"slug": "sweep-test", "name": "Prueba", "arms": [{"name": "control"}, {"name": "b"}]},
    )
    # Messages: the campaign fans out and every queued message is tried against a mail server
    # that is not there, so the delivery log shows sent, waiting and failed rows with reasons.
    run_once(db, settings, clock)
    deliver(db, settings, clock)
    # The customers' segments and predicted value, as the nightly jobs or "Compute now" make
    # them (with the demo's few members the value model says why it cannot be fitted).
    with db.transaction() as conn:
        refresh.refresh(conn, bid, now)

    member_id, code, reward_id = _voucher(db, bid, info.member_ids, now)
    # Corrections on the member's account, by a manager and by the system, so the member's
    # history names who made them and why (the reason in the business's language).
    with db.read() as conn:
        manager = next(s for s in tenancy_store.business_staff(conn, bid) if s.role == "manager")
    for actor in (f"staff:{manager.id}", "system"):
        with db.transaction() as conn:
            adjustments.adjust(
                conn,
                bid,
                member_id,
                unit="points",
                amount=5,
                reason=said.apology,
                actor=actor,
                now=now,
            )
    with db.read() as conn:
        owner = next(s for s in tenancy_store.business_staff(conn, bid) if s.role == "owner")
        staff_rows = list(tenancy_store.business_staff(conn, bid))
        member = member_store.member(conn, bid, member_id)
        location_id = tenancy_store.business_locations(conn, bid)[0].id
        names = [members.get(conn, bid, m).name for m in info.member_ids]
    staff_response = Response()
    sessions.start_staff(staff_response, settings, owner, csrf=f"sweep-{bid}")
    pending_cookies = {}
    with db.transaction() as conn:
        tenancy_store.update_staff(
            conn,
            bid,
            manager.id,
            totp_secret=two_step.new_secret(),
            totp_confirmed_at=naive_utc(now),
        )
        with_code = tenancy_store.staff(conn, bid, manager.id)
    for path, who in (("/admin/login/setup", owner), ("/admin/login/code", with_code)):
        pending_response = Response()
        pending.start(pending_response, settings, who, "/admin", chosen.locale)
        pending_cookies[path] = _cookie(pending_response)
    member_response = Response()
    sessions.start_member(member_response, settings, bid, member_id, member.card_version)
    secret = settings.effective_secret_key
    values = {
        "slug": slug,
        "member_id": member_id,
        "campaign_id": sent["id"],
        "scheduled_campaign_id": scheduled["id"],
        "survey_id": survey["id"],
        "experiment_id": experiment["id"],
        "reward_id": reward_id,
        "location_id": location_id,
        "code": code,
        "value": unsubscribe.token(secret, bid, member_id, "email", None),
        "token": links.link_token(secret, bid, member_id, survey["id"]),
    }
    own = [
        BUSINESS_NAMES[template],
        *LOCATIONS[template],
        *said.staff,
        said.apology,
        said.regular_tag,
        *(s.name for s in staff_rows),
        *names,
        member.name,
        campaign_name,
        "Muy bien",
        "Prueba",
        "Demo",
        "Cortesía",
    ]
    return Business(
        template,
        bid,
        slug,
        member_id,
        values,
        _cookie(staff_response),
        _cookie(member_response),
        pending_cookies,
        own_words=own,
        ids=_program_ids(db, bid, now),
    )


def _voucher(
    db: Database, business_id: int, member_ids: list[int], now: datetime
) -> tuple[int, str, int]:
    """(member, voucher code, reward to confirm): the first member with a reward in reach
    redeems it and keeps the voucher in the wallet; the reward to confirm is another one in
    reach, else that same one (its page then says why it cannot be redeemed)."""
    with db.read() as conn:
        location_id = tenancy_store.business_locations(conn, business_id)[0].id
    for member_id in member_ids:
        with db.read() as conn:
            ready = [
                r for r in rewards.for_member(conn, business_id, member_id, now) if r.affordable
            ]
        if not ready:
            continue
        with db.transaction() as conn:
            voucher = redemption.redeem(
                conn, Principal(business_id, Role.staff, location_id), member_id, ready[0].id, now
            )
        return member_id, voucher.code, ready[-1].id
    # No one saved enough yet (a young points program): a correction brings the first member
    # within reach of every reward, as a manager's goodwill points would.
    with db.transaction() as conn:
        adjustments.adjust(
            conn,
            business_id,
            member_ids[0],
            unit="points",
            amount=100_000,
            reason="Cortesía",
            actor="system",
            now=now,
        )
    return _voucher(db, business_id, member_ids, now)
