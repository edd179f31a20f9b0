"""Why the customer value model could not be fitted, in the page's language. The model says it
in plain English (analytics/clv.py, analytics/clv_spend.py, analytics/refresh.py) for the API
and the logs; the console reads each known reason as a sentence of the catalog, with the figures
it carries."""

from __future__ import annotations

import re
from collections.abc import Callable

_TOO_FEW = re.compile(
    r"^At least (\d+) customers are needed to predict customer value; there are (\d+)\.$"
)
KNOWN = {
    "No customer has come back for a second purchase yet, so return rates cannot be estimated.": (
        "No customer has come back for a second purchase yet."
    ),
    "Customers have not been observed for any time yet.": (
        "Customers have not been observed for any time yet."
    ),
    "Purchases do not show a clear pattern yet; collect more history and try again.": (
        "Purchases do not show a clear pattern yet."
    ),
    "The fitted model gave no usable predictions; collect more history and try again.": (
        "The model gave no usable predictions yet."
    ),
}


def said(reason: str | None, _: Callable[[str], str]) -> str:
    """The reason as a sentence of the page's language; one the console does not know yet is
    said as a lack of history, which every reason of the model comes down to."""
    found = _TOO_FEW.match(reason or "")
    if found:
        return _("At least {needed} customers with purchases are needed; there are {have}.").format(
            needed=found.group(1), have=found.group(2)
        )
    if reason in KNOWN:
        return _(KNOWN[reason])
    return _("There is not enough purchase history yet.")
