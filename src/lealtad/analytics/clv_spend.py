"""What customers spend: the Gamma-Gamma order-value model, and the value of a customer over a
horizon (expected purchases from the BG/NBD model in clv.py times expected order value). Apart
from clv.py because the spend model is fitted and used on its own (per-visit spend in back-tests
and member values); it shares clv.py's fitting, and needs its purchase model only for the value.

Pure mathematics, no database; money in minor currency units.

Gamma-Gamma (Colombo & Jiang 1999; Fader, Hardie & Lee 2005, "RFM and CLV"): each order's value is
Gamma(p, ν) with ν ~ Gamma(q, v) across customers, independent of the purchase process; we see the
number of orders x and their mean value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, gammaln

from lealtad.analytics.clv import (
    CLIP,
    MIN_CUSTOMERS,
    UNCLEAR,
    ArrayLike,
    BgNbd,
    Floats,
    NotEnoughHistory,
    as_floats,
    dot,
    expected_purchases,
    expected_purchases_curve,
    minimise,
)


@dataclass(frozen=True)
class GammaGamma:
    """Gamma-Gamma parameters: order values ~ Gamma(p, ν), ν ~ Gamma(q, v) (v in minor units)."""

    p: float
    q: float
    v: float


def gamma_gamma_log_likelihood(m: GammaGamma, x: ArrayLike, mean_spend: ArrayLike) -> Floats:
    """Each customer's log-density of their mean order value given x orders (x > 0 only)."""
    xs, ms = as_floats(x, mean_spend)
    px = m.p * xs
    ll: Floats = (
        gammaln(px + m.q) - gammaln(px) - gammaln(m.q) + m.q * math.log(m.v)
        + (px - 1.0) * np.log(ms) + px * np.log(xs) - (px + m.q) * np.log(m.v + ms * xs)
    )  # fmt: skip
    return ll


class _SpendData:
    """Sums that do not depend on the parameters, and per-distinct-x weights."""

    def __init__(self, x: Floats, m: Floats) -> None:
        self.x, self.m, self.mx = x, m, m * x
        self.ux, inverse = np.unique(x, return_inverse=True)
        self.wx = np.bincount(inverse).astype(np.float64)
        self.n = float(x.size)
        self.sum_ln_m = float(np.log(m).sum())
        self.sum_x_ln_mx = float((x * np.log(m * x)).sum())

    def neg_ll_and_grad(self, theta: Floats) -> tuple[float, Floats]:
        p, q, v = np.exp(np.clip(theta, -CLIP, CLIP))
        ux, wx = self.ux, self.wx
        pux = p * ux
        ln_vmx = np.log(v + self.mx)
        ll = (
            dot(wx, gammaln(pux + q) - gammaln(pux)) - self.n * gammaln(q) + self.n * q * math.log(v)
            + p * self.sum_x_ln_mx - self.sum_ln_m - dot(p * self.x + q, ln_vmx)
        )  # fmt: skip
        psi = digamma(pux + q)
        d_p = dot(wx, ux * (psi - digamma(pux))) + self.sum_x_ln_mx - dot(self.x, ln_vmx)
        d_q = dot(wx, psi) - self.n * digamma(q) + self.n * math.log(v) - ln_vmx.sum()
        d_v = self.n * q / v - dot(p * self.x + q, 1.0 / (v + self.mx))
        grad = np.array([d_p * p, d_q * q, d_v * v])
        return -float(ll) / self.n, -grad / self.n


def fit_gamma_gamma(x: ArrayLike, mean_spend: ArrayLike) -> GammaGamma:
    """Maximum-likelihood Gamma-Gamma parameters from customers with at least one order (x > 0).

    mean_spend is each customer's mean order value over the x orders counted (conventionally the
    repeat purchases, as in the paper); rows with x == 0 are ignored.
    """
    xs, ms = as_floats(x, mean_spend)
    if xs.shape != ms.shape or xs.ndim != 1:
        raise ValueError("x and mean_spend must be one-dimensional and of the same length")
    used = xs > 0
    xs, ms = xs[used], ms[used]
    if np.any(ms <= 0):
        raise ValueError("mean_spend must be positive for customers with x > 0")
    if xs.size < MIN_CUSTOMERS:
        raise NotEnoughHistory(
            f"At least {MIN_CUSTOMERS} returning customers are needed to estimate order values; "
            f"there are {xs.size}."
        )
    if np.ptp(ms) <= 1e-9 * float(ms.mean()):
        raise NotEnoughHistory(
            "Every returning customer spends the same on average, so spending differences cannot be estimated."
        )
    # Fit in units of the average order value (v scales with the currency, p and q do not).
    scale = float(ms.mean())
    data = _SpendData(xs, ms / scale)
    theta = minimise(data.neg_ll_and_grad, np.log([1.0, 2.0, 1.0]), UNCLEAR.format("Order values"))
    p, q, v = np.exp(theta)
    if q <= 1.0:
        raise NotEnoughHistory(
            "Order values vary too much between customers to estimate an average; "
            "collect more history and try again."
        )
    return GammaGamma(p=float(p), q=float(q), v=float(v * scale))


def expected_spend(m: GammaGamma, x: ArrayLike, mean_spend: ArrayLike) -> Floats:
    """Expected value of each customer's future orders (the conditional mean, FHL 2005 eq. 5).

    A weighted average of the population mean p·v/(q-1) and the customer's own mean, whose weight
    p·x/(p·x + q - 1) grows with the number of orders. For x == 0, mean_spend is ignored.
    """
    xs, ms = np.broadcast_arrays(*as_floats(x, mean_spend))
    if m.q <= 1.0:
        raise ValueError("the population mean order value is infinite when q <= 1")
    ms = np.where(xs > 0, ms, 0.0)
    spend: Floats = m.p * (m.v + ms * xs) / (m.p * xs + m.q - 1.0)
    return spend


# --- Customer value ------------------------------------------------------------------------------


def predicted_value(
    bg: BgNbd,
    gg: GammaGamma,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    mean_spend: ArrayLike,
    days: float = 365.0,
    annual_discount: float = 0.0,
) -> Floats:
    """Expected spend over the next `days`: expected purchases times expected order value.

    With annual_discount d > 0, money is discounted continuously at δ = ln(1 + d)/365 per day: the
    horizon is cut into steps of about a month, the purchases expected in each step (from the
    BG/NBD curve, so that early purchases of customers who may drop out count more) are valued at
    the discount factor of the step's midpoint. The error of this against the exact integral is
    far below the uncertainty of the fitted model.
    """
    if days < 0 or annual_discount < 0:
        raise ValueError("days and annual_discount must be 0 or more")
    spend = expected_spend(gg, x, mean_spend)
    if annual_discount == 0.0:
        return expected_purchases(bg, days, x, t_x, T) * spend
    delta = math.log1p(annual_discount) / 365.0
    edges = np.linspace(0.0, days, max(1, math.ceil(days / 30.0)) + 1)
    cumulative = expected_purchases_curve(bg, edges[1:], x, t_x, T)
    per_step = np.diff(cumulative, axis=-1, prepend=0.0)
    factors = np.exp(-delta * (edges[:-1] + edges[1:]) / 2.0)
    discounted: Floats = np.einsum("...j,j->...", per_step, factors) * spend
    return discounted
