"""What an audit entry's action means, said in the page's language: the log stores a stable
code ("campaign.create") that filters and exports keep; the console reads it as a sentence of
the catalog. A code without a sentence (one added later) is shown as the code."""

from __future__ import annotations

from collections.abc import Callable

# The catalog's English message for each action the services record.
SAID = {
    "analytics.goal": "Enrolment goal changed",
    "api_key.create": "API key created",
    "api_key.revoke": "API key revoked",
    "business.create": "Business created",
    "business.update": "Business settings changed",
    "campaign.cancel": "Campaign cancelled",
    "campaign.create": "Campaign created",
    "cause.create": "Cause created",
    "cause.update": "Cause changed",
    "challenge.create": "Challenge created",
    "challenge.update": "Challenge changed",
    "connector.create": "Connector set up",
    "connector.update": "Connector changed",
    "experiment.create": "Experiment created",
    "experiment.start": "Experiment started",
    "experiment.stop": "Experiment stopped",
    "experiment.update": "Experiment changed",
    "import.purchases": "Purchases imported from a file",
    "ledger.adjust": "Balance corrected",
    "passes.apple_removed": "Apple Wallet credentials removed",
    "passes.apple_set": "Apple Wallet credentials saved",
    "passes.google_removed": "Google Wallet credentials removed",
    "passes.google_set": "Google Wallet credentials saved",
    "location.create": "Location added",
    "location.update": "Location changed",
    "member.card_pin_removed": "Card PIN removed",
    "member.card_pin_set": "Card PIN set",
    "member.card_reissued": "Card reissued",
    "member.erase": "Member's personal data erased",
    "member.export": "Member's data exported",
    "member.tags": "Member's tags changed",
    "member.update": "Member's details changed",
    "messaging.bounce": "E-mail address bounced",
    "messaging.policy": "Message limits changed",
    "product.create": "Product added",
    "product.remove": "Product removed",
    "product.update": "Product changed",
    "program.change": "Program changed",
    "program.template_furnished": "Template's products and rewards added",
    "rating.moderate": "Rating moderated",
    "reports.recipients": "Report recipients changed",
    "reward.create": "Reward created",
    "reward.update": "Reward changed",
    "staff.create": "Staff member added",
    "staff.deactivate": "Staff member deactivated",
    "staff.locale": "Staff member's language changed",
    "staff.password_change": "Password changed",
    "staff.reactivate": "Staff member reactivated",
    "staff.role": "Staff member's role changed",
    "staff.two_step_failed": "Two-step sign-in failed",
    "staff.two_step_login": "Signed in with two-step verification",
    "staff.two_step_on": "Two-step verification turned on",
    "staff.two_step_reset": "Two-step verification reset",
    "survey.create": "Survey created",
    "survey.update": "Survey changed",
    "tier.floor": "Tier held",
    "voucher.cancel": "Voucher cancelled",
    "voucher.fulfilment": "Voucher fulfilment changed",
    "webhook.create": "Webhook added",
    "webhook.test": "Webhook tested",
    "webhook.update": "Webhook changed",
}


def said(action: str, _: Callable[[str], str]) -> str:
    return _(SAID[action]) if action in SAID else action


# What a `kind:id` target or actor is, for the ones the log cannot name (a campaign, a reward):
# the catalog's English message with the id as its number.
KINDS = {
    "member": "Member no. {id}",
    "staff": "Staff member no. {id}",
    "api_key": "API key no. {id}",
    "location": "Location no. {id}",
    "campaign": "Campaign no. {id}",
    "survey": "Survey no. {id}",
    "experiment": "Experiment no. {id}",
    "reward": "Reward no. {id}",
    "product": "Product no. {id}",
    "webhook": "Webhook no. {id}",
    "business": "Business no. {id}",
    "voucher": "Voucher no. {id}",
    "rating": "Rating no. {id}",
    "challenge": "Challenge no. {id}",
    "cause": "Cause no. {id}",
    "purchase": "Purchase no. {id}",
    "refund": "Refund no. {id}",
    "donation": "Donation no. {id}",
}
# A change's field, by the label the console's forms give it.
FIELDS = {
    "name": "Name",
    "slug": "Id",
    "role": "Role",
    "locale": "Language",
    "reason": "Reason",
    "tier": "Tier",
    "title": "Title",
    "active": "Active",
    "stock": "Stock",
    "email": "E-mail",
    "phone": "Phone",
    "timezone": "Time zone",
    "currency": "Currency",
    "status": "Status",
    "tags": "Tags",
}


def who(value: str | None, known: dict[str, str], _: Callable[[str], str]) -> str:
    """An actor or a target as a person reads it: by name where the log knows it, else by its
    kind and number ("Campaign no. 2"); a value of another form is shown as stored."""
    if not value:
        return ""
    if value == "system":
        return _("System")
    if value in known:
        return known[value]
    kind, _sep, number = value.partition(":")
    if kind in KINDS and number.isdigit():
        return _(KINDS[kind]).format(id=number)
    return value


def field(name: str, _: Callable[[str], str]) -> str:
    """A changed field's label, or "" when it has none (the page then shows the key as code)."""
    return _(FIELDS[name]) if name in FIELDS else ""
