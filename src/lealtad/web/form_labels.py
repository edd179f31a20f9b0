"""The visible label of each field the pages' forms send, so that a refusal by the edge (a value
past its limit, a number that is not one) names the field the way the form shows it. Keyed by
the route's path and the field's name; a field the same everywhere is named once in COMMON.
tests/web/test_form_limits.py checks each label against the rendered form, so they cannot drift."""

from __future__ import annotations

from collections.abc import Callable

Translate = Callable[[str], str]

# Fields a person never types (form tokens, the page's language, where the form came from):
# a bad one means the page is stale or was tampered with, and only reloading it helps.
HIDDEN = frozenset(
    {
        "csrf",
        "key",
        "lang",
        "next",
        "ref",
        "loc",
        "joined",
        "presence",
        "reward_id",
        "part",
        "base_version",
        "remove",
        "confirmed",
    }
)


def _common(_: Translate) -> dict[str, str]:
    return {
        "name": _("Name"),
        "email": _("E-mail"),
        "phone": _("Phone"),
        "password": _("Password"),
        "code": _("Code"),
        "role": _("Role"),
        "location": _("Location"),
        "timezone": _("Time zone"),
        "amount": _("Amount"),
        "receipt": _("Receipt number (optional)"),
        "reason": _("Reason (required)"),
        "confirm": _("Confirmation"),
        "active": _("Active"),
    }


def _product(_: Translate) -> dict[str, str]:
    return {
        "name_es": _("Name in Spanish"),
        "name_en": _("Name in English"),
        "price": _("Price"),
        "sku": _("Product code"),
        "category": _("Category"),
        "active": _("Shown at the counter"),
    }


def _by_route(_: Translate) -> dict[str, dict[str, str]]:
    return {
        "/admin/products": _product(_),
        "/admin/products/{product_id}": _product(_),
        "/join/{slug}": {
            "name": _("Your name"),
            "email": _("Your e-mail"),
            "phone": _("Phone (optional)"),
            "accept_terms": _("I accept the program terms"),
            "consent_email": _("Send me offers and news by e-mail"),
            "consent_sms": _("Offers and news by SMS"),
            "consent_whatsapp": _("Offers and news by WhatsApp"),
        },
        "/w/{slug}/login": {"email": _("Your e-mail")},
        "/w/{slug}/login/code": {"email": _("Your e-mail"), "code": _("Six-digit code")},
        "/w/{slug}/preferences": {
            "email": _("Offers and news by e-mail"),
            "push": _("Notifications on this phone"),
            "sms": _("Offers and news by SMS"),
            "whatsapp": _("Offers and news by WhatsApp"),
            "phone": _("Your mobile number (for SMS and WhatsApp)"),
        },
        "/w/{slug}/me/pin": {
            "pin": _("New PIN (4 to 6 digits)"),
            "pin_again": _("The same PIN again"),
        },
        "/w/{slug}/me/delete": {"confirm": _("Yes, delete my account")},
        "/w/{slug}/vouchers/{code}/rate": {
            "stars": _("Your rating"),
            "review": _("Your review (optional)"),
        },
        "/w/{slug}/donate": {"points": _("Points to give"), "cause": _("Cause")},
        "/admin/login": {"business": _("Business")},
        "/admin/login/code": {"code": _("Code")},
        "/admin/two-step/language": {"locale": _("The console speaks to me in")},
        "/admin/account/password": {
            "current": _("Current password"),
            "new": _("New password (at least 10 characters)"),
            "repeat": _("New password again"),
            "code": _("Code of your authenticator app"),
        },
        "/admin/settings": {
            "name": _("Business name"),
            "locale": _("Default language"),
            "two_step_required": _("Require two-step verification for every staff login"),
        },
        "/admin/settings/staff": {"password": _("Initial password")},
        "/admin/settings/brand": {
            "colour": _("Brand colour"),
            "logo": _("Logo"),
            "remove_logo": _("Remove the logo"),
        },
        "/admin/setup/business": {
            "name": _("Business name"),
            "colour": _("Brand colour"),
            "logo": _("Logo"),
            "currency": _("Currency"),
            "locale": _("Language of the business"),
        },
        "/admin/setup/program": {"template": _("Program")},
        "/admin/setup/places/location": {"name": _("Location name")},
        "/admin/setup/places/staff": {"name": _("Their name"), "email": _("Their e-mail")},
        "/admin/analytics/goal": {
            "goal": _("Goal (percentage of purchases)"),
            "period": _("Period"),
            "start": _("From"),
            "end": _("To"),
            "grain": _("Grouped by"),
            "staff": _("Staff member"),
        },
        "/admin/members/{member_id}/contact": {"phone": _("Phone")},
        "/admin/members/{member_id}/tags": {"tag": _("New tag"), "action": _("Tags")},
        "/admin/members/{member_id}/adjustments": {
            "unit": _("What"),
            "amount": _("Amount (negative to take away)"),
        },
        "/admin/members/{member_id}/card/reissue": {
            "confirm": _("Yes, the old card must stop working")
        },
        "/admin/members/{member_id}/erasure": {
            "reason": _("How the request came (optional; no personal details)"),
            "confirm": _("To confirm, type the card number"),
        },
        "/admin/customers/backtest": {
            "calibration_end": _("Calibration end"),
            "holdout_end": _("Holdout end (yesterday if empty)"),
        },
        "/admin/settings/connectors": {
            "vendor": _("Till or shop"),
            "secret": _("Secret the vendor signs with"),
            "unknown_customer": _("A buyer the business does not know"),
        },
        "/admin/settings/connectors/files": {
            "till_file": _("File exported by the till (.csv)"),
            "location": _("Location of sales that name none"),
        },
        "/admin/settings/channels/sms": {
            "enabled": _("Send SMS messages"),
            "base_url": _("Provider's API address"),
            "account_sid": _("Account id"),
            "auth_token": _("Auth token"),
            "sender": _("Sender"),
            "country_code": _("Country calling code of numbers saved without one"),
        },
        "/admin/settings/channels/whatsapp": {
            "enabled": _("Send WhatsApp messages"),
            "base_url": _("Provider's API address"),
            "phone_number_id": _("Phone number id"),
            "access_token": _("Access token"),
            "app_secret": _("App secret"),
            "verify_token": _("Webhook verify token"),
            "api_version": _("API version"),
            "country_code": _("Country calling code of numbers saved without one"),
            "language_es": _("Template language for Spanish-speaking members"),
            "language_en": _("Template language for English-speaking members"),
            "templates": _("Approved templates"),
        },
        "/admin/settings/tickets/rules": {
            "tax_id": _("Tax id for VERI*FACTU invoices"),
            "max_age_days": _("Oldest ticket accepted, in days"),
            "member_daily_claims": _("Claims per member per day"),
            "device_daily_claims": _("Claims per device per day"),
            "approval_above": _("Invoices wait for approval above (€, empty: never)"),
        },
        "/admin/settings/wallet-passes/apple": {
            "team_id": _("Team ID"),
            "pass_type_id": _("Pass Type ID"),
            "certificate": _("Pass Type ID certificate (.pem, or .p12 with its key)"),
            "private_key": _("Private key (.pem; not needed with a .p12)"),
            "wwdr": _("Apple's WWDR intermediate certificate"),
        },
        "/admin/settings/wallet-passes/google": {
            "issuer_id": _("Issuer ID"),
            "service_account": _("Service-account key (JSON)"),
        },
        "/admin/reports": {
            "daily": _("Daily summary"),
            "weekly": _("Weekly summary"),
            "monthly": _("Monthly summary"),
        },
        "/counter/find": {"q": _("Scan the card, or type a card number, e-mail or phone")},
        "/counter/members": {
            "contact": _("E-mail or phone"),
            "consent": _("The customer wants offers and news"),
            "consent_whatsapp": _(
                "The customer wants offers and news by WhatsApp (to the phone given)"
            ),
            "accept_terms": _("The customer accepts the program terms"),
        },
        "/counter/purchases": {"amount": _("Sale amount")},
        "/counter/members/{member_id}/purchases": {
            "count": _("How many"),
            "sku": _("Product code"),
            "qty": _("Quantity"),
            "price": _("Unit price"),
        },
        "/counter/members/{member_id}/redemptions": {"card_pin": _("Card PIN")},
        "/counter/vouchers/validate": {"code": _("Voucher code")},
        "/counter/refunds": {
            "receipt": _("Receipt number"),
            "amount": _("Amount to refund (empty: all that is left)"),
        },
    }


def label(route_path: str, field: str, _: Translate) -> str | None:
    """The field's label in the page's language; None for a field a person does not type."""
    if field in HIDDEN:
        return None
    own = _by_route(_).get(route_path, {})
    return own.get(field) or _common(_).get(field) or _("One of the fields")


def is_named(route_path: str, field: str) -> bool:
    """Whether the field has a label of its own (the tests require one for every field)."""
    return field in HIDDEN or field in _by_route(str).get(route_path, {}) or field in _common(str)
