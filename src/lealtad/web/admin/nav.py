"""The console's navigation: a few sections, each with its pages, and which one a page belongs to,
read from its address so that no page has to say it. admin_base.html draws it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    label: str  # an English msgid, translated by the template
    href: str
    owner_only: bool = False

    def holds(self, path: str) -> bool:
        return path == self.href or path.startswith(self.href + "/")


@dataclass(frozen=True)
class Section:
    key: str
    label: str
    href: str
    pages: tuple[Page, ...] = ()
    # Other addresses that belong here without a link of their own.
    also: tuple[str, ...] = ()

    def holds(self, path: str) -> bool:
        if self.key == "home":
            return path in ("/admin", "/admin/")
        return any(p.holds(path) for p in self.pages) or path.startswith(self.also)

    def current_page(self, path: str) -> Page | None:
        """The page `path` is on: the longest matching address, so that the message preview
        (/admin/messages/preview) is not taken for the delivery log (/admin/messages)."""
        found = [p for p in self.pages if p.holds(path)]
        return max(found, key=lambda p: len(p.href)) if found else None


SECTIONS = (
    Section("home", "Home", "/admin"),
    Section(
        "customers",
        "Customers",
        "/admin/members",
        (
            Page("Members", "/admin/members"),
            Page("Segments", "/admin/customers"),
            Page("Experiments", "/admin/experiments"),
            Page("Ticket claims", "/admin/tickets"),
        ),
    ),
    Section(
        "program",
        "Program",
        "/admin/program",
        (
            Page("Program", "/admin/program"),
            Page("Rewards", "/admin/rewards"),
            Page("Products", "/admin/products"),
        ),
    ),
    Section(
        "messages",
        "Messages",
        "/admin/campaigns",
        (
            Page("Campaigns", "/admin/campaigns"),
            Page("Surveys", "/admin/surveys"),
            Page("Delivery log", "/admin/messages"),
            Page("Message preview", "/admin/messages/preview"),
        ),
    ),
    Section(
        "reports",
        "Reports",
        "/admin/analytics",
        (Page("Analytics", "/admin/analytics"), Page("Reports", "/admin/reports")),
    ),
    Section(
        "settings",
        "Settings",
        "/admin/settings",
        (
            Page("Business", "/admin/settings"),
            Page("Brand", "/admin/settings/brand"),
            Page("Locations", "/admin/settings/locations"),
            Page("Staff", "/admin/settings/staff"),
            Page("API keys", "/admin/settings/api-keys", owner_only=True),
            Page("Wallet passes", "/admin/settings/wallet-passes", owner_only=True),
            Page("Connectors", "/admin/settings/connectors"),
            Page("Till files", "/admin/settings/connectors/files"),
            Page("Ticket scanning", "/admin/settings/tickets", owner_only=True),
            Page("SMS and WhatsApp", "/admin/settings/channels", owner_only=True),
            Page("Audit log", "/admin/audit"),
        ),
        also=("/admin/locations/", "/admin/poster"),
    ),
)


def current_section(path: str) -> Section | None:
    """The section a console address belongs to; None for pages outside them (one's account)."""
    return next((s for s in SECTIONS if s.holds(path)), None)
