"""Customer lifetime value (issue 7, point 3): BG/NBD and Gamma-Gamma against simulation and by hand."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import integrate, special, stats

from lealtad.analytics.clv import (
    BgNbd,
    NotEnoughHistory,
    bgnbd_log_likelihood,
    expected_purchases,
    fit_bgnbd,
    p_alive,
)
from lealtad.analytics.clv_simulate import simulate_bgnbd, simulate_spend
from lealtad.analytics.clv_spend import (
    GammaGamma,
    expected_spend,
    fit_gamma_gamma,
    gamma_gamma_log_likelihood,
    predicted_value,
)

# CDNOW's estimates (Fader, Hardie & Lee 2005) with alpha converted from weeks to days
# (4.41 weeks ≈ 30.8 days): an active customer buys on about 2.8 days a year on average, a few
# heavy ones on several days a week, a realistic shop in daily units.
TRUE_BG = BgNbd(r=0.24, alpha=30.8, a=0.79, b=2.4)
# CDNOW's spend model with v = 15.44 dollars written in cents: a mean order of about 35.22 dollars.
TRUE_GG = GammaGamma(p=6.25, q=3.74, v=1544.0)
CUSTOMERS = 40_000  # each observed for 180 to 365 days (they joined over six months)

# Relative tolerances, about 3.5 standard deviations of each estimate over 40 simulated samples of
# this size. alpha's also absorbs a bias of about +6%: the simulator counts purchase days, and the
# same-day purchases of heavy buyers merge, which the continuous-time model does not know about.
BG_TOLERANCE = {"r": 0.10, "alpha": 0.15, "a": 0.20, "b": 0.25}
GG_TOLERANCE = {"p": 0.20, "q": 0.10, "v": 0.25}

Data = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@pytest.fixture(scope="module")
def shop() -> Data:
    rng = np.random.default_rng(2005)
    x, t_x, T = simulate_bgnbd(TRUE_BG, CUSTOMERS, rng.integers(180, 366, CUSTOMERS), rng)
    return x, t_x, T, simulate_spend(TRUE_GG, x, rng)


@pytest.fixture(scope="module")
def fitted(shop: Data) -> tuple[BgNbd, GammaGamma]:
    x, t_x, T, spend = shop
    return fit_bgnbd(x, t_x, T), fit_gamma_gamma(x, spend)


def relative_errors(fitted: object, truth: object, names: dict[str, float]) -> dict[str, float]:
    return {k: getattr(fitted, k) / getattr(truth, k) - 1.0 for k in names}


def test_fitting_simulated_customers_recovers_the_purchase_model(fitted) -> None:
    errors = relative_errors(fitted[0], TRUE_BG, BG_TOLERANCE)
    assert all(abs(errors[k]) < BG_TOLERANCE[k] for k in BG_TOLERANCE), errors


def test_fitting_simulated_orders_recovers_the_spend_model(fitted) -> None:
    errors = relative_errors(fitted[1], TRUE_GG, GG_TOLERANCE)
    assert all(abs(errors[k]) < GG_TOLERANCE[k] for k in GG_TOLERANCE), errors


def test_moving_any_fitted_parameter_lowers_the_likelihood(shop, fitted) -> None:
    x, t_x, T, spend = shop
    bg, gg = fitted
    best_bg = bgnbd_log_likelihood(bg, x, t_x, T).sum()
    best_gg = gamma_gamma_log_likelihood(gg, x[x > 0], spend[x > 0]).sum()
    for factor in (0.98, 1.02):
        for name in BG_TOLERANCE:
            moved = dataclasses.replace(bg, **{name: getattr(bg, name) * factor})
            assert bgnbd_log_likelihood(moved, x, t_x, T).sum() < best_bg, (name, factor)
        for name in GG_TOLERANCE:
            moved_gg = dataclasses.replace(gg, **{name: getattr(gg, name) * factor})
            assert gamma_gamma_log_likelihood(moved_gg, x[x > 0], spend[x > 0]).sum() < best_gg


def test_without_same_day_merging_the_true_parameters_pass_a_likelihood_ratio_test() -> None:
    # Time in thousandths of a day, so purchases never share a "day": the data follow the model
    # exactly and 2·(ln L(fit) - ln L(truth)) is chi-squared with 4 degrees of freedom.
    fine = dataclasses.replace(TRUE_BG, alpha=TRUE_BG.alpha * 1000)
    rng = np.random.default_rng(17)
    x, t_x, T = simulate_bgnbd(fine, CUSTOMERS, rng.integers(180, 366, CUSTOMERS) * 1000, rng)
    fit = fit_bgnbd(x, t_x, T)
    ratio = 2 * (bgnbd_log_likelihood(fit, x, t_x, T) - bgnbd_log_likelihood(fine, x, t_x, T)).sum()
    assert 0 <= ratio < stats.chi2.ppf(0.999, df=4)


def test_the_true_spend_parameters_pass_a_likelihood_ratio_test(shop, fitted) -> None:
    x, _, _, spend = shop
    ratio = (
        2
        * (
            gamma_gamma_log_likelihood(fitted[1], x[x > 0], spend[x > 0])
            - gamma_gamma_log_likelihood(TRUE_GG, x[x > 0], spend[x > 0])
        ).sum()
    )
    assert 0 <= ratio < stats.chi2.ppf(0.999, df=3)


def hand_log_likelihood(m: BgNbd, x: int, t_x: float, T: float) -> float:
    """FHL 2005, eq. 6: L = A1 · A2 · (A3 + δ(x>0) A4), written out term by term."""
    a1 = math.exp(math.lgamma(m.r + x) - math.lgamma(m.r)) * m.alpha**m.r
    a2 = math.exp(
        math.lgamma(m.a + m.b)
        + math.lgamma(m.b + x)
        - math.lgamma(m.b)
        - math.lgamma(m.a + m.b + x)
    )
    a3 = (1 / (m.alpha + T)) ** (m.r + x)
    a4 = m.a / (m.b + x - 1) * (1 / (m.alpha + t_x)) ** (m.r + x) if x > 0 else 0.0
    return math.log(a1 * a2 * (a3 + a4))


@pytest.mark.parametrize(
    ("x", "t_x", "T"), [(0, 0, 200), (1, 30, 200), (3, 120, 300), (12, 350, 365)]
)
def test_one_customers_likelihood_equals_the_papers_formula_by_hand(x, t_x, T) -> None:
    computed = bgnbd_log_likelihood(TRUE_BG, [x], [t_x], [T])[0]
    assert computed == pytest.approx(hand_log_likelihood(TRUE_BG, x, t_x, T), rel=1e-12)


def test_one_customers_spend_likelihood_equals_the_formula_by_hand() -> None:
    p, q, v, x, m = 6.25, 3.74, 1544.0, 4, 2800.0
    by_hand = (
        math.lgamma(p * x + q) - math.lgamma(p * x) - math.lgamma(q)
        + q * math.log(v) + (p * x - 1) * math.log(m) + p * x * math.log(x)
        - (p * x + q) * math.log(v + m * x)
    )  # fmt: skip
    computed = gamma_gamma_log_likelihood(GammaGamma(p, q, v), [x], [m])[0]
    assert computed == pytest.approx(by_hand, rel=1e-12)


def papers_expected_purchases(m: BgNbd, t: float, x: int, t_x: float, T: float) -> float:
    """FHL 2005, eq. 10, with SciPy's Gauss hypergeometric function (safe for small x only)."""
    z = t / (m.alpha + T + t)
    tail = ((m.alpha + T) / (m.alpha + T + t)) ** (m.r + x) * special.hyp2f1(
        m.r + x, m.b + x, m.a + m.b + x - 1, z
    )
    numerator = (m.a + m.b + x - 1) / (m.a - 1) * (1 - tail)
    odds = m.a / (m.b + x - 1) * ((m.alpha + T) / (m.alpha + t_x)) ** (m.r + x) if x > 0 else 0
    return numerator / (1 + odds)


@pytest.mark.parametrize(
    ("x", "t_x", "T"), [(0, 0, 300), (1, 40, 300), (4, 250, 300), (12, 290, 300)]
)
@pytest.mark.parametrize("model", [TRUE_BG, BgNbd(r=1.5, alpha=12.0, a=2.5, b=6.0)])
def test_expected_purchases_equal_the_papers_hypergeometric_formula(model, x, t_x, T) -> None:
    for t in (7.0, 90.0, 365.0):
        by_formula = papers_expected_purchases(model, t, x, t_x, T)
        assert expected_purchases(model, t, [x], [t_x], [T])[0] == pytest.approx(
            by_formula, rel=1e-7
        )


def alive_expectation_by_quad(m: BgNbd, t: float, x: int, T: float) -> float:
    """E[(1 - (1 + p t/(α+T))^-(r+x)) / p] over p ~ Beta(a, b+x), by adaptive quadrature in logit p."""
    s, k, b_x = m.r + x, t / (m.alpha + T), m.b + x

    def integrand(y: float) -> float:
        ln_p, ln_q = special.log_expit(y), special.log_expit(-y)
        p = math.exp(ln_p)
        g = -math.expm1(-s * math.log1p(k * p)) / p if p > 0 else s * k
        return math.exp(m.a * ln_p + b_x * ln_q - special.betaln(m.a, b_x)) * g

    mode = math.log(m.a / b_x)
    points = sorted([mode - 3, mode, mode + 3, -math.log1p(k)])
    lo, hi = points[0] - 40 / m.a - 10, points[-1] + 40 / b_x + 10
    return integrate.quad(integrand, lo, hi, points=points, limit=500, epsrel=1e-11)[0]


@pytest.mark.parametrize(("x", "T"), [(60, 365), (400, 700), (2000, 2500)])
def test_expected_purchases_of_frequent_buyers_match_adaptive_quadrature(x, T) -> None:
    # The range where SciPy's hyp2f1 overflows or loses all accuracy.
    model = BgNbd(r=2.0, alpha=3.0, a=0.6, b=40.0)
    for t in (30.0, 365.0, 3650.0):
        alive = p_alive(model, [x], [T - 1], [T])[0]
        expected = alive * alive_expectation_by_quad(model, t, x, T)
        assert expected_purchases(model, t, [x], [T - 1], [T])[0] == pytest.approx(
            expected, rel=1e-6
        )


def test_a_customer_with_no_repeat_purchase_is_certainly_alive() -> None:
    # FHL 2005 eq. 13: dropout can only follow a repeat purchase, so P(alive | x = 0) = 1 however
    # long ago the first purchase was.
    assert np.all(p_alive(TRUE_BG, [0, 0, 0], [0, 0, 0], [1, 365, 3650]) == 1.0)


def test_the_chance_of_being_alive_falls_as_the_last_purchase_recedes() -> None:
    last_purchase = np.array([360.0, 300.0, 200.0, 100.0, 10.0])
    alive = p_alive(TRUE_BG, np.full(5, 5.0), last_purchase, np.full(5, 365.0))
    assert np.all(np.diff(alive) < 0)
    assert 0 < alive[-1] < alive[0] < 1
    # The same customer, looked at later and later without buying again.
    later = p_alive(TRUE_BG, np.full(4, 5.0), np.full(4, 100.0), np.array([100.0, 200, 400, 800]))
    assert later[0] == pytest.approx(1 / (1 + TRUE_BG.a / (TRUE_BG.b + 4)))
    assert np.all(np.diff(later) < 0)


def test_expected_purchases_grow_with_the_horizon() -> None:
    horizons = [0.0, 7.0, 30.0, 365.0, 3650.0]
    curve = [expected_purchases(TRUE_BG, t, [6], [300], [365])[0] for t in horizons]
    assert curve[0] == 0.0
    assert np.all(np.diff(curve) > 0)
    # A horizon per customer gives the same numbers.
    per_customer = expected_purchases(TRUE_BG, horizons, [6] * 5, [300] * 5, [365] * 5)
    assert per_customer == pytest.approx(curve, rel=1e-12)


@pytest.mark.parametrize(
    ("x", "t_x", "T"),
    [
        ([1, 0] * 9 + [2], [10, 0] * 9 + [20], [30] * 19),  # 19 customers
        ([0] * 500, [0] * 500, list(range(1, 501))),  # nobody came back
    ],
)
def test_too_little_history_for_the_purchase_model_is_refused(x, t_x, T) -> None:
    with pytest.raises(NotEnoughHistory):
        fit_bgnbd(x, t_x, T)


@pytest.mark.parametrize(
    ("x", "spend"),
    [
        ([1] * 19 + [0] * 100, [1000.0] * 19 + [0.0] * 100),  # 19 returning customers
        ([2] * 50, [1500.0] * 50),  # everyone spends the same
    ],
)
def test_too_little_history_for_the_spend_model_is_refused(x, spend) -> None:
    with pytest.raises(NotEnoughHistory):
        fit_gamma_gamma(x, spend)


def test_impossible_histories_are_a_programming_error_not_a_lack_of_history() -> None:
    with pytest.raises(ValueError, match="t_x") as raised:
        fit_bgnbd([1] * 30, [40] * 30, [30] * 30)
    assert not isinstance(raised.value, NotEnoughHistory)
    with pytest.raises(ValueError, match="whole number"):
        fit_bgnbd([1.5] * 30, [10] * 30, [30] * 30)


def test_expected_spend_shrinks_a_customers_mean_towards_the_population_more_for_fewer_orders() -> (
    None
):
    population = TRUE_GG.p * TRUE_GG.v / (TRUE_GG.q - 1)
    own = 2 * population
    one, ten, hundred = expected_spend(TRUE_GG, [1, 10, 100], [own, own, own])
    assert population < one < ten < hundred < own
    assert expected_spend(TRUE_GG, [0], [own])[0] == pytest.approx(population)
    # Below the population mean the shrinkage pulls up.
    assert own / 4 < expected_spend(TRUE_GG, [3], [own / 4])[0] < population


def test_simulated_customers_follow_the_models_population_formulas() -> None:
    # FHL 2005 eq. 9, E[X(t)], against the simulator in thousandths of a day (no same-day merging).
    fine = dataclasses.replace(TRUE_BG, alpha=TRUE_BG.alpha * 1000)
    rng = np.random.default_rng(3)
    t = 365_000.0
    x, _, _ = simulate_bgnbd(fine, 200_000, int(t), rng)
    r, alpha, a, b = fine.r, fine.alpha, fine.a, fine.b
    mean = (
        (a + b - 1)
        / (a - 1)
        * (1 - (alpha / (alpha + t)) ** r * special.hyp2f1(r, b, a + b - 1, t / (alpha + t)))
    )
    assert x.mean() == pytest.approx(mean, abs=4 * x.std() / math.sqrt(x.size))
    # Gamma-Gamma: a single order's mean value is p·v/(q - 1).
    one_order = simulate_spend(TRUE_GG, np.ones(200_000), rng)
    population = TRUE_GG.p * TRUE_GG.v / (TRUE_GG.q - 1)
    assert one_order.mean() == pytest.approx(population, rel=0.02)


def test_predicted_value_is_expected_purchases_times_expected_spend(fitted) -> None:
    bg, gg = fitted
    x, t_x, T, spend = (
        [5.0, 0.0, 30.0],
        [200.0, 0.0, 360.0],
        [365.0, 90.0, 365.0],
        [3000.0, 0, 900.0],
    )
    value = predicted_value(bg, gg, x, t_x, T, spend)
    purchases = expected_purchases(bg, 365, x, t_x, T)
    assert value == pytest.approx(purchases * expected_spend(gg, x, spend), rel=1e-12)


def test_discounting_matches_a_day_by_day_sum_and_lowers_the_value(fitted) -> None:
    bg, gg = fitted
    x, t_x, T, spend = (
        [5.0, 0.0, 30.0],
        [200.0, 0.0, 360.0],
        [365.0, 90.0, 365.0],
        [3000.0, 0, 900.0],
    )
    plain = predicted_value(bg, gg, x, t_x, T, spend, days=730)
    discounted = predicted_value(bg, gg, x, t_x, T, spend, days=730, annual_discount=0.10)
    delta = math.log(1.10) / 365
    cumulative = np.array([expected_purchases(bg, d, x, t_x, T) for d in range(731)])
    factors = np.exp(-delta * (np.arange(730) + 0.5))
    day_by_day = (np.diff(cumulative, axis=0) * factors[:, None]).sum(axis=0)
    assert discounted == pytest.approx(day_by_day * expected_spend(gg, x, spend), rel=1e-3)
    assert np.all(discounted < plain)
    assert np.all(discounted > plain * math.exp(-delta * 730))
