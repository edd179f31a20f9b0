"""The value models fitted as Fader, Hardie and Lee define them, and what they say.

A customer's history is counted in their business's local days. Their first visit day starts
them off; what the models see after it are repeat transactions, a visit day being one
transaction (several purchases on one day are one visit, as the method's CDNOW data merges
same-day orders):

- BG/NBD ("Counting your customers the easy way", 2005) on x = repeat visit days, t_x = days
  from the first visit to the last, T = days from the first visit to the end of observation;
- Gamma-Gamma ("RFM and CLV", 2005; "The Gamma-Gamma model of monetary value", 2013) on the
  customers with at least one repeat visit, with x their repeat visits and m the mean spend of
  those repeat visits: the first visit's spend is left out, one-time buyers are not in the fit;
- each member's predicted value over the horizon is E[visits in the horizon] (BG/NBD) times
  E[spend per visit] (Gamma-Gamma's conditional mean given x and m; the population mean
  p·γ/(q-1) for a one-time buyer).

Units: BG/NBD's α is in days (r, a, b have none); Gamma-Gamma's γ is in the business's currency
minor units (cents, pence, or whole pesos where the currency has no minor unit), p and q have
none. The log-likelihoods are those of these units (a change of unit shifts them by a constant).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from lealtad.analytics import clv, clv_spend

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

HORIZON_DAYS = 365
HISTOGRAM_BINS = 20
QUANTILES = {"p10": 0.1, "p50": 0.5, "p90": 0.9, "p99": 0.99}
UNITS = {
    "bgnbd": {"r": "none", "alpha": "days", "a": "none", "b": "none"},
    "gamma_gamma": {"p": "none", "q": "none", "gamma": "currency minor units"},
}
_OVERALL_MEAN = "Spend is predicted with the overall mean spend of repeat visits."
_NOT_FINITE = "The fitted model gave no usable predictions; collect more history and try again."


@dataclass(frozen=True)
class Inputs:
    """Per customer: x repeat visit days, t_x and T in days, and the spend of the repeat visits
    (minor units, net of refunds)."""

    x: Ints
    t_x: Ints
    T: Ints
    repeat_spend: Ints

    @property
    def mean_repeat(self) -> Floats:
        """m: the mean spend of the repeat visits (0 for one-time buyers)."""
        safe = np.maximum(self.x, 1)
        mean: Floats = np.where(self.x > 0, np.maximum(self.repeat_spend, 0) / safe, 0.0)
        return mean

    @property
    def in_spend_fit(self) -> npt.NDArray[np.bool_]:
        """Who Gamma-Gamma is fitted on: a repeat visit, and something spent on repeat visits."""
        chosen: npt.NDArray[np.bool_] = (self.x > 0) & (self.repeat_spend > 0)
        return chosen


@dataclass(frozen=True)
class Fit:
    """How a model was fitted: its log-likelihood at the parameters and on how many customers."""

    log_likelihood: float
    customers: int


@dataclass(frozen=True)
class Valuation:
    """The value models' output; per-member arrays in the order of the inputs, None when the
    model behind them could not be fitted."""

    fitted: bool
    reason: str | None
    bgnbd: clv.BgNbd | None = None
    gamma_gamma: clv_spend.GammaGamma | None = None
    p_alive: Floats | None = None
    expected_visits: Floats | None = None
    predicted_value: Ints | None = None
    bgnbd_fit: Fit | None = None
    gamma_gamma_fit: Fit | None = None

    def parameters(self) -> dict[str, Any]:
        """The fitted parameters with their units, log-likelihoods and customer counts."""
        return {
            "bgnbd": vars(self.bgnbd) if self.bgnbd else None,
            "gamma_gamma": vars(self.gamma_gamma) if self.gamma_gamma else None,
            "fit": {
                "bgnbd": vars(self.bgnbd_fit) if self.bgnbd_fit else None,
                "gamma_gamma": vars(self.gamma_gamma_fit) if self.gamma_gamma_fit else None,
            },
            "units": UNITS,
        }

    def payload(self, at: datetime) -> dict[str, Any]:
        found: dict[str, Any] = {
            "computed_at": at.isoformat(),
            "fitted": self.fitted,
            "reason": self.reason,
            "horizon_days": HORIZON_DAYS,
            **self.parameters(),
            "members": 0,
            "total_predicted_value": None,
            "quantiles": None,
            "histogram": None,
        }
        values = self.predicted_value
        if values is None or values.size == 0:
            return found
        marks = np.quantile(values, list(QUANTILES.values()))
        # Values are skewed: equal bins up to p99, the last bin also holding everything above.
        top = max(float(marks[-1]), 1.0)
        counts, edges = np.histogram(np.minimum(values, top), bins=HISTOGRAM_BINS, range=(0, top))
        found |= {
            "members": int(values.size),
            "total_predicted_value": int(values.sum()),
            "quantiles": {k: round(float(q)) for k, q in zip(QUANTILES, marks, strict=True)},
            "histogram": {"edges": [round(float(e), 2) for e in edges], "counts": counts.tolist()},
        }
        return found


def fit_bgnbd(inputs: Inputs) -> tuple[clv.BgNbd, Fit]:
    bg = clv.fit_bgnbd(inputs.x, inputs.t_x, inputs.T)
    ll = float(clv.bgnbd_log_likelihood(bg, inputs.x, inputs.t_x, inputs.T).sum())
    return bg, Fit(log_likelihood=ll, customers=int(inputs.x.size))


def fit_gamma_gamma(inputs: Inputs) -> tuple[clv_spend.GammaGamma, Fit]:
    chosen = inputs.in_spend_fit
    x, m = inputs.x[chosen], inputs.mean_repeat[chosen]
    gg = clv_spend.fit_gamma_gamma(x, m)
    ll = float(clv_spend.gamma_gamma_log_likelihood(gg, x, m).sum())
    return gg, Fit(log_likelihood=ll, customers=int(x.size))


def value(inputs: Inputs, horizon_days: float = HORIZON_DAYS) -> Valuation:
    """Fits BG/NBD on every customer and Gamma-Gamma on the repeat visits of those who came
    back, then predicts each customer's next `horizon_days`."""
    x, t_x, T = inputs.x, inputs.t_x, inputs.T
    try:
        bg, bg_fit = fit_bgnbd(inputs)
    except clv.NotEnoughHistory as exc:
        return Valuation(fitted=False, reason=str(exc))
    alive = clv.p_alive(bg, x, t_x, T)
    visits = clv.expected_purchases(bg, float(horizon_days), x, t_x, T)
    if not (np.all(np.isfinite(alive)) and np.all(np.isfinite(visits))):
        return Valuation(fitted=False, reason=_NOT_FINITE, bgnbd=bg, bgnbd_fit=bg_fit)
    try:
        gg, gg_fit = fit_gamma_gamma(inputs)
    except clv.NotEnoughHistory as exc:
        # Spend per visit that barely varies between members is the case where Gamma-Gamma's
        # shrinkage ends at the overall mean; predicting with that mean still ranks members by
        # their expected visits, which is most of what the value says.
        repeats = int(x.sum())
        overall = float(np.maximum(inputs.repeat_spend, 0).sum() / repeats) if repeats else 0.0
        flat = np.rint(visits * overall).astype(np.int64)
        note = f"{exc} {_OVERALL_MEAN}"
        return Valuation(True, note, bg, None, alive, visits, flat, bg_fit)
    predicted = visits * clv_spend.expected_spend(gg, x, inputs.mean_repeat)
    if not np.all(np.isfinite(predicted)):
        return Valuation(False, _NOT_FINITE, bg, gg, alive, visits, None, bg_fit, gg_fit)
    value = np.rint(predicted).astype(np.int64)
    return Valuation(True, None, bg, gg, alive, visits, value, bg_fit, gg_fit)


def explain(
    p_alive: float | None, expected_visits: float | None, predicted_value: int | None
) -> dict[str, Any] | None:
    """A member's predicted value taken apart: expected visits in the horizon times expected
    spend per visit, and the probability that they are still a customer. The spend per visit
    is the stored value over the stored visits (the product the refresh wrote), so the three
    figures always agree with each other."""
    if predicted_value is None or expected_visits is None:
        return None
    per_visit = predicted_value / expected_visits if expected_visits > 0 else None
    return {
        "horizon_days": HORIZON_DAYS,
        "expected_purchases": expected_visits,
        "expected_spend_per_purchase": per_visit,
        "p_alive": p_alive,
        "predicted_value": predicted_value,
    }


def described(payload: dict[str, Any] | None, currency: str, minor_exponent: int) -> dict[str, Any]:
    """The fitted models of a "clv" snapshot (or of a back-test) as the API and the CLI show
    them: each parameter with its unit, the log-likelihood and the number of customers of each
    fit. Gamma-Gamma's scale is named gamma, as in the papers (v in the code)."""
    found = payload or {}
    fits = found.get("fit") or {}
    bg, gg = found.get("bgnbd"), found.get("gamma_gamma")
    minor = f"{currency} minor units (1/{10**minor_exponent} {currency})"
    units = {
        "bgnbd": UNITS["bgnbd"],
        "gamma_gamma": UNITS["gamma_gamma"] | {"gamma": minor if minor_exponent else currency},
    }
    return {
        "computed_at": found.get("computed_at"),
        "fitted": bool(found.get("fitted")),
        "reason": found.get("reason") if payload is not None else "Not computed yet.",
        "horizon_days": found.get("horizon_days", HORIZON_DAYS),
        "currency": currency,
        "bgnbd": None if bg is None else {**bg, **(fits.get("bgnbd") or _NO_FIT)},
        "gamma_gamma": None
        if gg is None
        else {"p": gg["p"], "q": gg["q"], "gamma": gg["v"], **(fits.get("gamma_gamma") or _NO_FIT)},
        "units": units,
    }


_NO_FIT = {"log_likelihood": None, "customers": None}


def described_text(found: dict[str, Any], name: str) -> str:
    """The description as lines for a terminal (English / Spanish)."""
    lines = [f"{name}: value models / modelos de valor ({found['computed_at'] or '-'})"]
    if not found["fitted"] and found["bgnbd"] is None:
        lines.append(f"  not fitted / sin ajustar: {found['reason'] or '-'}")
        return "\n".join(lines)
    bg, gg, units = found["bgnbd"], found["gamma_gamma"], found["units"]
    lines.append(
        f"  BG/NBD (repeat visits / visitas repetidas): r {bg['r']:.4f}, "
        f"alpha {bg['alpha']:.4f} {units['bgnbd']['alpha']}, a {bg['a']:.4f}, b {bg['b']:.4f}"
    )
    lines.append("    " + _fit_line(bg))
    if gg is None:
        lines.append(f"  Gamma-Gamma: not fitted / sin ajustar: {found['reason'] or '-'}")
    else:
        lines.append(
            f"  Gamma-Gamma (spend per repeat visit / gasto por visita repetida): "
            f"p {gg['p']:.4f}, q {gg['q']:.4f}, "
            f"gamma {gg['gamma']:.4f} {units['gamma_gamma']['gamma']}"
        )
        lines.append("    " + _fit_line(gg))
    return "\n".join(lines)


def _fit_line(fit: dict[str, Any]) -> str:
    ll = fit.get("log_likelihood")
    shown = "-" if ll is None else f"{ll:.2f}"
    return f"log-likelihood {shown}; customers / clientes {fit.get('customers') or '-'}"
