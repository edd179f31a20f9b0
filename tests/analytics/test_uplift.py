"""Experiment statistics: stable assignment, Welch intervals, and their behaviour on simulated data.

The simulations use fixed seeds, so every test is deterministic; the bounds they check are the ones
a correct method meets with high probability, stated next to each.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from scipy import stats

from lealtad.analytics.uplift import (
    Uplift,
    assign,
    assign_many,
    compare,
    minimum_detectable_effect,
)

VARIANTS = [("control", 1), ("double_points", 1), ("free_coffee", 2)]


def binomial_bounds(trials: int, rate: float, tail: float = 0.0005) -> tuple[int, int]:
    """Counts a correct method stays within in 99.9 % of seeds (0.05 % in each tail)."""
    return int(stats.binom.ppf(tail, trials, rate)), int(stats.binom.ppf(1 - tail, trials, rate))


# --- the hand-computed example -----------------------------------------------------------------


def test_a_tiny_example_matches_welchs_formulas_worked_by_hand() -> None:
    control = [2.0, 4.0, 6.0, 8.0]  # mean 5, sample variance (9+1+1+9)/3 = 20/3
    variant = [5.0, 7.0, 12.0]  # mean 8, sample variance (9+1+16)/2 = 13
    se2_c, se2_v = (20 / 3) / 4, 13 / 3  # 5/3 and 13/3: se² = 6
    se = math.sqrt(se2_c + se2_v)
    # Welch–Satterthwaite: 36 / ((5/3)²/3 + (13/3)²/2) = 36 / (557/54) = 1944/557
    df = (se2_c + se2_v) ** 2 / (se2_c**2 / 3 + se2_v**2 / 2)
    assert df == pytest.approx(1944 / 557)
    t_stat = 3 / se
    t_crit = stats.t.ppf(0.975, df)
    p_value = 2 * (1 - stats.t.cdf(t_stat, df))
    # Delta method for 8/5 - 1: se² = (13/3)/25 + 64·(5/3)/625
    se_rel = math.sqrt((13 / 3) / 25 + 64 * (5 / 3) / 625)

    result = compare(control, variant)

    assert (result.n_control, result.n_variant) == (4, 3)
    assert (result.mean_control, result.mean_variant, result.difference) == (5.0, 8.0, 3.0)
    assert result.difference_low == pytest.approx(3 - t_crit * se)
    assert result.difference_high == pytest.approx(3 + t_crit * se)
    assert result.p_value == pytest.approx(p_value)
    assert result.relative == pytest.approx(0.6)
    assert result.relative_low == pytest.approx(0.6 - t_crit * se_rel)
    assert result.relative_high == pytest.approx(0.6 + t_crit * se_rel)
    assert result.confidence == 0.95
    assert result.significant is False


def test_a_lower_confidence_gives_a_narrower_interval_around_the_same_difference() -> None:
    wide = compare([2, 4, 6, 8], [5, 7, 12], confidence=0.95)
    narrow = compare([2, 4, 6, 8], [5, 7, 12], confidence=0.5)
    assert wide.difference_low < narrow.difference_low < 3 < narrow.difference_high
    assert narrow.difference_high < wide.difference_high
    assert narrow.p_value == wide.p_value
    assert narrow.significant is True  # p ≈ 0.30 < 0.5


# --- simulated experiments ---------------------------------------------------------------------


def simulate_arm(rng: np.random.Generator, n: int, lift: float) -> tuple[np.ndarray, np.ndarray]:
    """Visits and spend per member: 30 % inactive (zeros), the rest Poisson visits, gamma spend.

    The lift multiplies both means, so the true means are 0.7·3·(1+lift) visits and
    0.7·50·(1+lift) spend.
    """
    active = rng.random(n) < 0.7
    visits = active * rng.poisson(3.0 * (1 + lift), n)
    spend = active * rng.gamma(shape=2.0, scale=25.0 * (1 + lift), size=n)
    return visits.astype(float), spend


def test_a_planted_twenty_percent_effect_is_found_and_its_interval_holds_the_truth() -> None:
    rng = np.random.default_rng(20250401)
    control_visits, control_spend = simulate_arm(rng, 2_000, lift=0.0)
    variant_visits, variant_spend = simulate_arm(rng, 2_000, lift=0.2)

    visits = compare(control_visits, variant_visits)
    spend = compare(control_spend, variant_spend)

    for result, true_difference in ((visits, 0.7 * 3 * 0.2), (spend, 0.7 * 50 * 0.2)):
        assert result.significant is True
        assert result.p_value < 0.001
        assert result.difference_low <= true_difference <= result.difference_high
        assert result.relative_low is not None
        assert result.relative_high is not None
        assert result.relative_low <= 0.2 <= result.relative_high
        assert result.relative_low > 0


def test_no_effect_is_not_claimed_for_a_fixed_seed() -> None:
    rng = np.random.default_rng(7)
    control_visits, control_spend = simulate_arm(rng, 2_000, lift=0.0)
    variant_visits, variant_spend = simulate_arm(rng, 2_000, lift=0.0)

    for result in (compare(control_visits, variant_visits), compare(control_spend, variant_spend)):
        assert result.significant is False
        assert result.p_value > 0.05
        assert result.difference_low < 0 < result.difference_high


def test_over_300_null_experiments_about_5_percent_are_false_positives() -> None:
    # Under no effect each run is a false positive with probability 0.05: the count is
    # Binomial(300, 0.05), mean 15; a correct test lands in [4, 29] in 99.9 % of seeds.
    rng = np.random.default_rng(11)
    runs = 300
    false_positives = 0
    for _ in range(runs):
        _, control_spend = simulate_arm(rng, 200, lift=0.0)
        _, variant_spend = simulate_arm(rng, 200, lift=0.0)
        result = compare(control_spend, variant_spend)
        assert result.significant == (result.p_value < 0.05)
        false_positives += result.significant
    low, high = binomial_bounds(runs, 0.05)
    assert (low, high) == (4, 29)
    assert low <= false_positives <= high


def test_95_percent_intervals_cover_the_true_effect_in_about_95_percent_of_runs() -> None:
    # Skewed spend with a real +10 % effect. Coverage counts are Binomial(300, 0.95): a correct
    # interval covers in [271, 296] runs in 99.9 % of seeds (both for the difference and, by the
    # delta method, for the relative uplift).
    rng = np.random.default_rng(12)
    runs = 300
    true_difference, true_relative = 0.7 * 50 * 0.1, 0.1
    covered_difference = covered_relative = 0
    for _ in range(runs):
        _, control_spend = simulate_arm(rng, 200, lift=0.0)
        _, variant_spend = simulate_arm(rng, 200, lift=0.1)
        result = compare(control_spend, variant_spend)
        assert result.relative_low is not None
        assert result.relative_high is not None
        covered_difference += result.difference_low <= true_difference <= result.difference_high
        covered_relative += result.relative_low <= true_relative <= result.relative_high
    low, high = binomial_bounds(runs, 0.95)
    assert (low, high) == (271, 296)
    assert low <= covered_difference <= high
    assert low <= covered_relative <= high


# --- edge cases and bad input ------------------------------------------------------------------


def test_a_control_mean_of_zero_leaves_the_relative_uplift_undefined() -> None:
    result = compare([0, 0, 0], [0, 1, 2])
    assert result.relative is None
    assert result.relative_low is None
    assert result.relative_high is None
    assert result.difference == 1.0


def test_two_constant_groups_give_an_exact_difference_with_no_interval_to_speak_of() -> None:
    different = compare([1, 1, 1], [2, 2])
    assert (different.difference_low, different.difference_high) == (1.0, 1.0)
    assert different.p_value == 0.0
    assert different.significant is True

    same = compare([0, 0], [0, 0, 0])
    assert (same.p_value, same.significant) == (1.0, False)


@pytest.mark.parametrize(
    ("control", "variant", "confidence", "message"),
    [
        ([1.0], [1.0, 2.0], 0.95, "control group needs at least 2 members"),
        ([1.0, 2.0], [], 0.95, "variant group needs at least 2 members"),
        ([1.0, 2.0], [1.0, 2.0], 1.0, "confidence must be between 0 and 1"),
        ([1.0, 2.0], [1.0, 2.0], 0.0, "confidence must be between 0 and 1"),
        ([1.0, float("nan")], [1.0, 2.0], 0.95, "missing or infinite"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(
    control: list[float], variant: list[float], confidence: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        compare(control, variant, confidence)


def test_the_result_is_an_immutable_value() -> None:
    result = compare([1, 2, 3], [2, 3, 4])
    assert isinstance(result, Uplift)
    with pytest.raises(AttributeError):
        result.difference = 0.0  # type: ignore[misc]


# --- minimum detectable effect -----------------------------------------------------------------


def test_the_minimum_detectable_effect_matches_the_textbook_formula() -> None:
    # (1.959964 + 0.841621) · 1 · √(2/100)
    assert minimum_detectable_effect(100, 100, sd=1.0) == pytest.approx(0.396204, abs=1e-6)
    assert minimum_detectable_effect(400, 400, sd=1.0) == pytest.approx(0.396204 / 2, abs=1e-6)
    assert minimum_detectable_effect(100, 100, sd=3.0) == pytest.approx(3 * 0.396204, abs=1e-5)
    assert minimum_detectable_effect(100, 100, sd=1.0, power=0.9) > 0.396204


def test_an_effect_of_the_minimum_detectable_size_is_found_80_percent_of_the_time() -> None:
    # Detections are Binomial(300, 0.8): a correct formula gives [216, 262] in 99.9 % of seeds.
    rng = np.random.default_rng(13)
    runs, n, sd = 300, 200, 10.0
    effect = minimum_detectable_effect(n, n, sd)
    detected = sum(
        compare(rng.normal(50, sd, n), rng.normal(50 + effect, sd, n)).significant
        for _ in range(runs)
    )
    low, high = binomial_bounds(runs, 0.8)
    assert (low, high) == (216, 262)
    assert low <= detected <= high


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((1, 100, 1.0, 0.95, 0.8), "control group needs at least 2 members"),
        ((100, 0, 1.0, 0.95, 0.8), "variant group needs at least 2 members"),
        ((100, 100, -1.0, 0.95, 0.8), "standard deviation"),
        ((100, 100, 1.0, 1.5, 0.8), "confidence must be between 0 and 1"),
        ((100, 100, 1.0, 0.95, 1.0), "power must be between 0 and 1"),
    ],
)
def test_the_minimum_detectable_effect_refuses_impossible_settings(
    args: tuple[int, int, float, float, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        minimum_detectable_effect(*args)


# --- assignment ---------------------------------------------------------------------------------


def test_assignment_is_stable_and_pinned_so_a_changed_hash_is_caught() -> None:
    # Worked out once from sha256("spring-2025:<id>"): slots 0 control, 1 double_points,
    # 2-3 free_coffee. Python salts hash() of strings per process, so an implementation using it
    # would fail here in almost every run.
    expected = {
        1: "free_coffee",
        2: "free_coffee",
        3: "control",
        5: "control",
        7: "double_points",
        9: "control",
        10: "free_coffee",
    }
    for member_id, arm in expected.items():
        assert assign("spring-2025", member_id, VARIANTS) == arm
        assert assign("spring-2025", member_id, VARIANTS) == arm


def test_assign_many_gives_the_same_answers_as_assign_one_by_one() -> None:
    ids = [*range(1, 300), 2**63 - 1]
    assert assign_many("spring-2025", ids, VARIANTS) == [
        assign("spring-2025", i, VARIANTS) for i in ids
    ]
    assert assign_many("spring-2025", [], VARIANTS) == []


def test_arm_sizes_follow_the_weights_over_20000_members() -> None:
    arms = Counter(assign_many("weights", range(1, 20_001), VARIANTS))
    observed = [arms[name] for name, _ in VARIANTS]
    expected = [5_000, 5_000, 10_000]
    # Chi-square goodness of fit: a fair split fails only with probability 0.001.
    assert stats.chisquare(observed, expected).pvalue > 0.001
    # And, plainly: each arm within 3 % of its share (over 6 standard deviations).
    for seen, share in zip(observed, expected, strict=True):
        assert abs(seen - share) < 0.03 * share


def test_a_members_arm_in_one_experiment_does_not_predict_its_arm_in_another() -> None:
    ids = range(1, 20_001)
    first = assign_many("holiday-stamps", ids, VARIANTS)
    second = assign_many("birthday-bonus", ids, [("control", 1), ("treated", 1)])
    table = [
        [
            sum(1 for a, b in zip(first, second, strict=True) if a == x and b == y)
            for y in ("control", "treated")
        ]
        for x, _ in VARIANTS
    ]
    # Chi-square test of independence on the 3 × 2 table of arms.
    assert stats.chi2_contingency(table).pvalue > 0.001
    # Control in the first is no more likely to be control in the second than anyone else.
    controls = table[0]
    assert controls[0] / sum(controls) == pytest.approx(0.5, abs=0.03)


@pytest.mark.parametrize(
    ("variants", "message"),
    [
        ([], "at least two variants"),
        ([("control", 1)], "at least two variants"),
        ([("control", 1), ("control", 2)], "unique"),
        ([("control", 1), ("bonus", 0)], "positive integer"),
        ([("control", 1), ("bonus", -2)], "positive integer"),
        ([("control", 1), ("bonus", 1.5)], "positive integer"),
        ([("control", 1), ("bonus", True)], "positive integer"),
        ([("", 1), ("bonus", 1)], "non-empty name"),
    ],
)
def test_malformed_variants_are_refused(variants: list[tuple[str, int]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        assign("x", 1, variants)
    with pytest.raises(ValueError, match=message):
        assign_many("x", [1], variants)
