"""The names of the RFM segments and experiment arms as people read them, in both languages."""

from __future__ import annotations

from collections.abc import Callable


def segment_names(_: Callable[[str], str]) -> dict[str, str]:
    return {
        "champions": _("Champions"),
        "loyal": _("Loyal"),
        "potential_loyalists": _("Potential loyalists"),
        "new_customers": _("New customers"),
        "promising": _("Promising"),
        "need_attention": _("Need attention"),
        "about_to_sleep": _("About to sleep"),
        "at_risk": _("At risk"),
        "cannot_lose": _("Cannot lose them"),
        "hibernating": _("Hibernating"),
        "lost": _("Lost"),
    }


def segment_label(code: str | None, _: Callable[[str], str]) -> str:
    if not code:
        return _("Not scored yet")
    if code.startswith("exp:") and code.count(":") == 2:
        _prefix, slug, arm = code.split(":")
        return _("Experiment %(slug)s: %(arm)s") % {"slug": slug, "arm": arm}
    return segment_names(_).get(code, code)
