"""The owner's home (/admin): whether the program works, in this week's and today's figures read
from the rollups (analytics.owner_home), what needs attention (messages that failed, rewards
running out, a program change on its way, members' personal-data requests) and the things an
owner does most, one click away."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Connection

from lealtad.analytics import owner_home
from lealtad.comms import delivery_log
from lealtad.deps import Db, Now
from lealtad.kit.clock import naive_utc
from lealtad.onboarding import service as onboarding
from lealtad.rewards import store as reward_store
from lealtad.rules import store as rule_store
from lealtad.tenancy import store as tenancy_store
from lealtad.web.admin.console import AcceptLanguage, console
from lealtad.web.admin.reports.analytics_tables import Fmt
from lealtad.web.i18n import translator
from lealtad.web.pages import Lang, render_page
from lealtad.web.sessions import CurrentManager

router = APIRouter(include_in_schema=False)
Translate = Callable[[str], str]
# A reward with this many or fewer left is running out.
LOW_STOCK = 5
RECENT = timedelta(days=7)


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: str  # this week so far
    lines: list[str]
    link: str
    link_text: str
    tone: str = ""  # "good" or "short" where the figure has a goal


@dataclass(frozen=True)
class Attention:
    text: str
    link: str
    link_text: str


def plural(_: Translate, n: int, one: str, many: str) -> str:
    """Spanish and English both say one thing for 1 and another for every other number."""
    return (_(one) if n == 1 else _(many)).format(n=n)


def _enrolment(home: owner_home.Home, fmt: Fmt, _: Translate) -> Figure:
    week, rate = home.week, home.week.enrolment_rate
    goal = fmt.percent(home.goal)
    if rate is None:
        verdict, tone = _("No sales recorded yet this week."), ""
    elif rate >= home.goal:
        verdict, tone = _("At or above the goal of {goal}.").format(goal=goal), "good"
    else:
        verdict, tone = _("Below the goal of {goal}.").format(goal=goal), "short"
    return Figure(
        "enrolment",
        _("Sales made by members"),
        fmt.percent(rate),
        [
            verdict,
            fmt.plural(
                "{members} of {all} sale this week.",
                "{members} of {all} sales this week.",
                week.purchases,
            ).format(members=fmt.count(week.member_purchases), all=fmt.count(week.purchases)),
            _("Today: {value}").format(value=fmt.percent(home.today.enrolment_rate)),
        ],
        "/admin/analytics#chart-enrolment",
        _("Enrolment rate over time"),
        tone,
    )


def _visits(home: owner_home.Home, fmt: Fmt, _: Translate) -> Figure:
    week, today = home.week, home.today
    return Figure(
        "visits",
        _("Visits by members"),
        fmt.count(week.member_purchases),
        [
            fmt.plural(
                "By {n} different member.", "By {n} different members.", week.visiting_members
            ).format(n=fmt.count(week.visiting_members)),
            _("Today: {value}").format(value=fmt.count(today.member_purchases)),
            _("Same days last week: {value}").format(
                value=fmt.count(home.last_week.member_purchases)
            ),
        ],
        "/admin/analytics#chart-visits",
        _("Visits over time"),
    )


def _new_members(home: owner_home.Home, fmt: Fmt, _: Translate) -> Figure:
    return Figure(
        "new_members",
        _("New members"),
        fmt.count(home.week.new_members),
        [
            _("Today: {value}").format(value=fmt.count(home.today.new_members)),
            _("Same days last week: {value}").format(value=fmt.count(home.last_week.new_members)),
            _("{n} members in all.").format(n=fmt.count(home.members)),
        ],
        "/admin/members",
        _("See the members"),
    )


def _redeemed(home: owner_home.Home, fmt: Fmt, _: Translate) -> Figure:
    return Figure(
        "redeemed",
        _("Rewards redeemed"),
        fmt.count(home.week.redeemed),
        [
            _("Today: {value}").format(value=fmt.count(home.today.redeemed)),
            _("Same days last week: {value}").format(value=fmt.count(home.last_week.redeemed)),
        ],
        "/admin/analytics#rewards",
        _("Which rewards are redeemed"),
    )


def _close(home: owner_home.Home, fmt: Fmt, _: Translate) -> Figure:
    reach = home.reach
    if reach is None:
        lines = [
            _("Counted every night for a business of this size; the first count comes tonight.")
        ]
        return Figure(
            "close",
            _("Members close to a reward"),
            "–",
            lines,
            "/admin/rewards",
            _("See the rewards"),
        )
    lines = [
        _("A fifth or less of the way left to their next reward."),
        _("{n} hold a reward they can use now.").format(n=fmt.count(reach.ready)),
    ]
    if not home.reach_live:
        lines.append(_("Counted on {when}.").format(when=fmt.when(home.reach_at)))
    if not reach.thresholds:
        lines = [_("There is no reward in the catalog yet.")]
    return Figure(
        "close",
        _("Members close to a reward"),
        fmt.count(reach.close),
        lines,
        "/admin/rewards",
        _("See the rewards"),
    )


def figures(home: owner_home.Home, fmt: Fmt, _: Translate) -> list[Figure]:
    return [make(home, fmt, _) for make in (_enrolment, _visits, _new_members, _redeemed, _close)]


def attention(
    conn: Connection, business: Any, fmt: Fmt, _: Translate, now: datetime
) -> list[Attention]:
    bid, lang = business.id, fmt.lang
    items = []
    failed = delivery_log.problems_since(conn, bid, now - RECENT)
    if failed:
        text = plural(
            _,
            failed,
            "1 message failed or bounced in the last 7 days.",
            "{n} messages failed or bounced in the last 7 days.",
        )
        items.append(Attention(text, "/admin/messages?show=problems#latest", _("See which")))
    for reward in reward_store.low_stock(conn, bid, LOW_STOCK):
        title = reward.title.get(lang) or reward.title.get("es") or reward.slug
        text = (
            _("“{title}” is out of stock.").format(title=title)
            if reward.stock <= 0
            else _("Only {n} left of “{title}”.").format(n=fmt.count(reward.stock), title=title)
        )
        items.append(Attention(text, f"/admin/rewards/{reward.id}", _("Update the stock")))
    for version in rule_store.scheduled(conn, bid, naive_utc(now)):
        text = _("Program version {version} takes effect on {when}: {reason}").format(
            version=version.version, when=fmt.when(version.effective_from), reason=version.reason
        )
        items.append(Attention(text, "/admin/program/changes", _("See the change")))
    since = naive_utc(now - RECENT)
    for action, one, many in (
        (
            "member.erase",
            "1 member's personal data was erased in the last 7 days.",
            "{n} members' personal data was erased in the last 7 days.",
        ),
        (
            "member.export",
            "1 copy of a member's data was taken in the last 7 days.",
            "{n} copies of members' data were taken in the last 7 days.",
        ),
    ):
        n = len(tenancy_store.audit_entries(conn, bid, 100, None, action=action, since=since))
        if n:
            items.append(
                Attention(
                    plural(_, n, one, many), f"/admin/audit?action={action}", _("See who and when")
                )
            )
    return items


def quick_actions(conn: Connection, bid: int, _: Translate) -> list[tuple[str, str]]:
    # The printable poster page: the brand, the promise, the code, each location's PDF.
    poster = (
        "/admin/poster"
        if tenancy_store.business_locations(conn, bid)
        else ("/admin/settings/locations")
    )
    return [
        ("/counter", _("Record a sale at the counter")),
        ("/admin/rewards/new", _("Add a reward")),
        ("/admin/campaigns/new", _("Send a campaign")),
        (poster, _("Print the poster")),
    ]


@router.get("/admin", response_class=HTMLResponse)
def home(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    with db.read() as conn:
        business, _me, language = console(conn, staff, lang, accept_language)
        _ = translator(language)
        fmt = Fmt(business, language)
        found = owner_home.home(conn, staff.business_id, now)
        items = attention(conn, business, fmt, _, now)
        actions = quick_actions(conn, staff.business_id, _)
        setting_up = onboarding.pending(conn, staff.business_id)
    return render_page(
        request,
        "admin_home.html",
        language,
        setting_up=setting_up and staff.role.value == "owner",
        business=business,
        staff=staff,
        figures=figures(found, fmt, _),
        attention=items,
        actions=actions,
        week_text=_("This week so far, from {start}").format(
            start=fmt.bucket(found.week.start, "day")
        ),
    )
