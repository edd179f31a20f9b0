"""Customer lifetime value: the BG/NBD purchase model, and the fitting and input checks that the
spend model (clv_spend.py: order values, and the value of a customer over a horizon) shares.

Pure mathematics, no database. Time is measured in days and money in minor currency units.

BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while alive, a customer
buys at a Poisson rate λ ~ Gamma(r, α); after each repeat purchase they drop out for good with
probability p ~ Beta(a, b). Per customer we see x (repeat purchase days), t_x (day of the last one,
counted from the first purchase) and T (days from the first purchase to the end of observation).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, log_expit

Floats = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike
UNCLEAR = "{} do not show a clear pattern yet; collect more history and try again."

MIN_CUSTOMERS = 20
# A fitted log-parameter beyond this means the likelihood has no finite maximum (a parameter runs
# off to 0 or infinity): the data do not identify the model.
_LOG_BOUND = 12.0
# The objective clips log-parameters here so that a search running off to infinity stays finite.
CLIP = 40.0
# Gradient tolerances of the search on the mean log-likelihood (see minimise).
_GTOL = 1e-9
_STALLED = 1e-5


class NotEnoughHistory(ValueError):
    """The data cannot identify the model; the message is plain English for callers to translate."""


@dataclass(frozen=True)
class BgNbd:
    """BG/NBD parameters: purchase rates ~ Gamma(r, alpha) (alpha in days), dropout ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float


def as_floats(*arrays: ArrayLike) -> list[Floats]:
    out = [np.atleast_1d(np.asarray(a, dtype=np.float64)) for a in arrays]
    if any(not np.all(np.isfinite(a)) for a in out):
        raise ValueError("inputs must be finite numbers")
    return out


def dot(u: Floats, v: Floats) -> float:
    # einsum rather than BLAS: OpenBLAS threads thrash on a busy machine (measured 60x slower).
    return float(np.einsum("i,i->", u, v))


def _check_rft(x: Floats, t_x: Floats, T: Floats) -> None:
    if not (x.shape == t_x.shape == T.shape) or x.ndim != 1:
        raise ValueError("x, t_x and T must be one-dimensional and of the same length")
    if np.any(x < 0) or np.any(x != np.floor(x)):
        raise ValueError("x must be a whole number of repeat purchase days, 0 or more")
    if np.any(t_x < 0) or np.any(t_x > T):
        raise ValueError("t_x must lie between 0 and T")


# --- BG/NBD likelihood -------------------------------------------------------------------------


def bgnbd_log_likelihood(m: BgNbd, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Floats:
    """Each customer's log-likelihood, ln L = ln A1 + ln A2 + ln(A3 + [x > 0] A4) (paper eq. 6)."""
    x, t_x, T = as_floats(x, t_x, T)
    r, alpha, a, b = m.r, m.alpha, m.a, m.b
    ln_a1 = gammaln(r + x) - gammaln(r) + r * math.log(alpha)
    ln_a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    ll: Floats = ln_a1 + ln_a2 + _ln_tail(r, alpha, a, b, x, t_x, T)[0]
    return ll


def _ln_tail(
    r: float, alpha: float, a: float, b: float, x: Floats, t_x: Floats, T: Floats
) -> tuple[Floats, Floats, Floats]:
    """ln(A3 + [x>0] A4) and the shares of A3 and A4 in the sum (needed by the gradient)."""
    rx = r + x
    ln_a3 = -rx * np.log(alpha + T)
    repeat = x > 0
    # b + x - 1 >= b > 0 wherever x > 0; elsewhere A4 is absent.
    ln_a4 = np.where(
        repeat,
        math.log(a) - np.log(np.where(repeat, b + x - 1.0, 1.0)) - rx * np.log(alpha + t_x),
        -np.inf,
    )
    total = np.logaddexp(ln_a3, ln_a4)
    return total, np.exp(ln_a3 - total), np.exp(ln_a4 - total)


def _unique_rows(*columns: Floats) -> tuple[Floats, npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Distinct rows of the columns, the row of each input and the count of each distinct row.

    Whole-number columns (days, counts) are packed into one integer key, which np.unique sorts far
    faster than rows of floats; anything else falls back to np.unique over rows.
    """
    stacked = np.stack(columns, axis=1)
    sizes = [int(c.max(initial=0)) + 1 for c in columns]
    if np.all(stacked >= 0) and np.all(stacked == np.floor(stacked)) and math.prod(sizes) < 2**62:
        key = np.zeros(stacked.shape[0], dtype=np.int64)
        for column, size in zip(columns, sizes, strict=True):
            key = key * size + column.astype(np.int64)
        keys, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        rows = np.empty((keys.size, len(columns)))
        for i in range(len(columns) - 1, -1, -1):
            keys, rows[:, i] = np.divmod(keys, sizes[i])
        return rows, inverse, counts
    rows, inverse, counts = np.unique(stacked, axis=0, return_inverse=True, return_counts=True)
    return rows, inverse.ravel(), counts


class _Compressed:
    """Identical (x, t_x, T) rows merged, with weights; terms in x alone summed per distinct x."""

    def __init__(self, x: Floats, t_x: Floats, T: Floats, time_scale: float) -> None:
        t_x = np.where(x == 0, 0.0, t_x)  # t_x does not enter the likelihood when x == 0
        rows, _, counts = _unique_rows(x, t_x, T)
        self.x, self.t_x, self.T = rows[:, 0], rows[:, 1] / time_scale, rows[:, 2] / time_scale
        self.w = counts.astype(np.float64)
        self.ux, inverse = np.unique(self.x, return_inverse=True)
        self.wx = np.bincount(inverse, weights=self.w).astype(np.float64)
        self.n = float(self.w.sum())

    def neg_ll_and_grad(self, theta: Floats) -> tuple[float, Floats]:
        r, alpha, a, b = np.exp(np.clip(theta, -CLIP, CLIP))
        ux, wx, w = self.ux, self.wx, self.w
        ll_x = (
            gammaln(r + ux) - gammaln(r) + gammaln(a + b) + gammaln(b + ux)
            - gammaln(b) - gammaln(a + b + ux)
        )  # fmt: skip
        tail, s3, s4 = _ln_tail(r, alpha, a, b, self.x, self.t_x, self.T)
        ll = dot(wx, ll_x) + self.n * r * math.log(alpha) + dot(w, tail)
        ln_at, ln_atx = np.log(alpha + self.T), np.log(alpha + self.t_x)
        rx = r + self.x
        d_r = dot(wx, digamma(r + ux) - digamma(r)) + self.n * math.log(alpha)
        d_r -= dot(w, s3 * ln_at + s4 * ln_atx)
        d_alpha = self.n * r / alpha - dot(
            w, rx * (s3 / (alpha + self.T) + s4 / (alpha + self.t_x))
        )
        d_ab = digamma(a + b) - digamma(a + b + ux)
        d_a = dot(wx, d_ab) + dot(w, s4) / a
        d_b = dot(wx, d_ab + digamma(b + ux) - digamma(b))
        d_b -= dot(w, s4 / np.where(self.x > 0, b + self.x - 1.0, 1.0))
        grad = np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b])  # chain rule for log-params
        return -ll / self.n, -grad / self.n


def fit_bgnbd(x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> BgNbd:
    """Maximum-likelihood BG/NBD parameters for a population of customers.

    Raises NotEnoughHistory when the data cannot identify the model.
    """
    xs, txs, Ts = as_floats(x, t_x, T)
    _check_rft(xs, txs, Ts)
    if xs.size < MIN_CUSTOMERS:
        raise NotEnoughHistory(
            f"At least {MIN_CUSTOMERS} customers are needed to predict customer value; "
            f"there are {xs.size}."
        )
    if not np.any(xs > 0):
        raise NotEnoughHistory(
            "No customer has come back for a second purchase yet, so return rates cannot be estimated."
        )
    # Fit in time units of the mean observation length so that all parameters are of order 1;
    # alpha is a time scale and is converted back, r, a and b have no unit.
    scale = float(Ts.mean())
    if scale <= 0:
        raise NotEnoughHistory("Customers have not been observed for any time yet.")
    data = _Compressed(xs, txs, Ts, scale)
    start = np.log([1.0, 1.0 / max(float(xs.mean()), 0.01), 1.0, 1.0])
    theta = minimise(data.neg_ll_and_grad, start, UNCLEAR.format("Purchases"))
    r, alpha, a, b = np.exp(theta)
    return BgNbd(r=float(r), alpha=float(alpha * scale), a=float(a), b=float(b))


def minimise(fun: Callable[[Floats], tuple[float, Floats]], start: Floats, unclear: str) -> Floats:
    # BFGS on log-parameters: L-BFGS-B's many tiny BLAS calls cost more than the likelihood itself
    # when OpenBLAS threads compete for a busy machine's cores. When BFGS stalls (in practice along
    # a ridge that runs off to infinity, on degenerate data) bounded L-BFGS-B follows it further.
    # The gradient tolerance is far below SciPy's default (1e-5 on the mean log-likelihood): at the
    # default the search stopped where a and b of the published CDNOW fit were still 0.001 and
    # 0.004 off, enough to miss them at two decimals. BFGS then often ends on "precision loss",
    # which at a gradient this small is the optimum, not a stall.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        result = minimize(fun, start, jac=True, method="BFGS", options={"gtol": _GTOL})
        stalled = not result.success and float(np.max(np.abs(fun(result.x)[1]))) > _STALLED
        if stalled:
            bounds = [(-CLIP, CLIP)] * len(start)
            result = minimize(fun, result.x, jac=True, method="L-BFGS-B", bounds=bounds)
    theta = np.asarray(result.x, dtype=np.float64)
    if not np.all(np.isfinite(theta)) or np.any(np.abs(theta) > _LOG_BOUND):
        raise NotEnoughHistory(unclear)
    return theta


# --- BG/NBD predictions ------------------------------------------------------------------------


def p_alive(m: BgNbd, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Floats:
    """Probability that each customer is still active at T (paper eq. 13).

    A customer with no repeat purchase (x = 0) is alive with probability 1: in BG/NBD dropout can only
    happen right after a repeat purchase.
    """
    xs, txs, Ts = np.broadcast_arrays(*as_floats(x, t_x, T))
    repeat = xs > 0
    log_odds_dead = (
        math.log(m.a)
        - np.log(np.where(repeat, m.b + xs - 1.0, 1.0))
        + (m.r + xs) * (np.log(m.alpha + Ts) - np.log(m.alpha + txs))
    )
    return np.where(repeat, expit(-log_odds_dead), 1.0)


# Quadrature over the dropout probability p. In y = logit(p) the Beta(a, b + x) density is
# unimodal; centring at its mode and scaling by its curvature, y = mode + σ sinh(u), makes one set of
# trapezoid nodes in u accurate (about 1e-6 relative or better, checked against adaptive quadrature)
# from flat densities with long tails (small a) to sharp peaks (frequent buyers, large x).
_STEP = 0.1
_U = np.arange(-6.0, 6.0 + _STEP / 2, _STEP)
_SINH_U = np.sinh(_U)
_LN_COSH_U = np.log(np.cosh(_U)) + math.log(_STEP)
_CHUNK = 2_000_000  # elements per node matrix, to bound memory


def expected_purchases(
    m: BgNbd, t: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> Floats:
    """Expected number of purchase days in the next t days for each customer (paper eq. 10).

    Computed as P(alive) · E[(1 - (1 + p t/(α+T))^-(r+x)) / p] with p ~ Beta(a, b+x), which is the
    paper's expression before it is written as a Gauss hypergeometric function: SciPy's hyp2f1 is
    unreliable for frequent buyers (large x), so the expectation is integrated numerically, once per
    distinct (x, T) or (x, T, t).
    """
    if np.ndim(t) == 0:
        xs, txs, Ts = np.broadcast_arrays(*as_floats(x, t_x, T))
        return _expected_curve(m, np.array([float(np.asarray(t))]), xs, txs, Ts)[..., 0]
    ts, xs, txs, Ts = np.broadcast_arrays(*as_floats(t, x, t_x, T))
    if np.any(ts < 0):
        raise ValueError("t must be 0 or more days")
    rows, inverse, _ = _unique_rows(xs.ravel(), Ts.ravel(), ts.ravel())
    per_row = _alive_expectation(m, rows[:, 0], rows[:, 1], rows[:, 2:])[:, 0]
    return per_row[inverse].reshape(xs.shape) * p_alive(m, xs, txs, Ts)


def expected_purchases_curve(
    m: BgNbd, horizons: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> Floats:
    """Expected purchase days within each of several horizons (days) for each customer: one row
    per customer, one column per horizon (a back-test's cumulative tracking curve)."""
    (hs,) = as_floats(horizons)
    xs, txs, Ts = np.broadcast_arrays(*as_floats(x, t_x, T))
    return _expected_curve(m, hs, xs, txs, Ts)


def _expected_curve(m: BgNbd, horizons: Floats, x: Floats, t_x: Floats, T: Floats) -> Floats:
    """Expected purchases within each horizon (last axis) for each customer."""
    if np.any(horizons < 0) or not np.all(np.isfinite(horizons)):
        raise ValueError("t must be 0 or more days")
    rows, inverse, _ = _unique_rows(x.ravel(), T.ravel())
    t = np.broadcast_to(horizons, (rows.shape[0], horizons.size))
    per_row = _alive_expectation(m, rows[:, 0], rows[:, 1], t)[inverse]
    return per_row.reshape((*x.shape, horizons.size)) * p_alive(m, x, t_x, T)[..., None]


def _alive_expectation(m: BgNbd, x: Floats, T: Floats, t: npt.ArrayLike) -> Floats:
    """E[purchases in the next t days | alive at T] for rows (x, T) and horizons t (rows × j)."""
    horizons = np.asarray(t, dtype=np.float64)
    out = np.empty(horizons.shape)
    step = max(1, _CHUNK // (_U.size * horizons.shape[1]))
    for i in range(0, x.size, step):
        rows = slice(i, i + step)
        out[rows] = _alive_chunk(m, x[rows], T[rows], horizons[rows])
    return out


def _alive_chunk(m: BgNbd, x: Floats, T: Floats, t: Floats) -> Floats:
    b_x = m.b + x
    sigma = np.sqrt(1.0 / m.a + 1.0 / b_x)
    y = (np.log(m.a / b_x) + sigma * _SINH_U[:, None]).T  # rows × nodes
    ln_p, ln_q = log_expit(y), log_expit(-y)
    # Beta density times dp/du: p^a (1-p)^(b+x) σ cosh(u) / B(a, b+x), times the trapezoid step.
    weights = np.exp(
        m.a * ln_p + b_x[:, None] * ln_q + (np.log(sigma) - betaln(m.a, b_x))[:, None] + _LN_COSH_U
    )
    p = np.exp(ln_p)[:, :, None]
    s = (m.r + x)[:, None, None]
    k = (t / (m.alpha + T)[:, None])[:, None, :]  # rows × 1 × horizons
    # (1 - (1 + k p)^-s) / p without cancellation; its limit s·k where p underflows to 0.
    safe_p = np.where(p > 0, p, 1.0)
    g = np.where(p > 0, -np.expm1(-s * np.log1p(k * p)) / safe_p, s * k)
    out: Floats = np.einsum("rn,rnh->rh", weights, g)
    return out
