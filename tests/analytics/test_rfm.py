"""RFM scores, segments and the Pareto view, worked out by hand on small sets."""

from __future__ import annotations

import numpy as np
import pytest

from lealtad.analytics import rfm
from lealtad.analytics.segments import RFM_SEGMENTS


def test_ten_distinct_values_split_two_to_each_quintile_and_the_highest_score_five() -> None:
    scores = rfm.quintile_scores([70, 10, 20, 30, 40, 50, 60, 80, 90, 100])
    assert scores.tolist() == [4, 1, 1, 2, 2, 3, 3, 4, 5, 5]


def test_fewer_is_better_reverses_the_scores() -> None:
    assert rfm.quintile_scores([1, 2, 3, 4, 5], higher_is_better=False).tolist() == [5, 4, 3, 2, 1]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # Sorted positions [start, end) of each value: score = 5 (start + end) // 2n + 1.
        ([5], [3]),  # [0, 1): 5 // 2 + 1
        ([1, 2], [2, 4]),  # [0, 1): 5 // 4 + 1 = 2; [1, 2): 15 // 4 + 1 = 4
        ([1, 2, 3, 4, 5], [1, 2, 3, 4, 5]),
        ([7, 7, 7, 7], [3, 3, 3, 3]),  # [0, 4): 20 // 8 + 1
        ([], []),
    ],
)
def test_small_sets_get_sensible_scores(values: list[int], expected: list[int]) -> None:
    assert rfm.quintile_scores(values).tolist() == expected


def test_equal_values_always_share_a_score_at_the_middle_of_their_ranks() -> None:
    # 10s: [0, 2) → 10 // 20 + 1 = 1; 20: [2, 3) → 25 // 20 + 1 = 2; 30s: [3, 6) → 45 // 20 + 1
    # = 3; 40: [6, 7) → 65 // 20 + 1 = 4; 50: [7, 8) → 4; 60: [8, 9) → 5; 70: [9, 10) → 5.
    values = [30, 10, 70, 10, 20, 30, 60, 30, 40, 50]
    assert rfm.quintile_scores(values).tolist() == [3, 1, 5, 1, 2, 3, 5, 3, 4, 4]


def test_a_tie_spanning_several_quintiles_takes_the_score_of_its_middle() -> None:
    # Six of ten with 1 visit: positions [0, 6) → 30 // 20 + 1 = 2; 2 visits: [6, 7) → 65 // 20
    # + 1 = 4; 3: [7, 8) → 4; 4: [8, 9) → 5; 5: [9, 10) → 5. Nobody gets 1 or 3.
    scores = rfm.quintile_scores([1, 1, 1, 1, 1, 1, 2, 3, 4, 5])
    assert scores.tolist() == [2, 2, 2, 2, 2, 2, 4, 4, 5, 5]


def test_the_grid_names_each_of_the_eleven_segments_and_nothing_else() -> None:
    named = [rfm.SEGMENT_MAP[r][fm] for r in range(1, 6) for fm in range(1, 6)]
    assert len(named) == 25
    assert set(named) == set(RFM_SEGMENTS)


@pytest.mark.parametrize(
    ("r", "f", "m", "segment"),
    [
        (5, 5, 5, "champions"),
        (4, 5, 4, "champions"),  # FM = 4.5, rounded up to 5
        (5, 1, 1, "new_customers"),
        (4, 1, 1, "promising"),
        (4, 1, 2, "potential_loyalists"),  # FM = 1.5 → 2
        (5, 3, 3, "loyal"),
        (3, 4, 3, "loyal"),  # FM = 3.5 → 4
        (3, 3, 2, "need_attention"),  # FM = 2.5 → 3
        (3, 1, 1, "about_to_sleep"),
        (2, 5, 5, "at_risk"),
        (1, 3, 2, "at_risk"),  # FM = 2.5 → 3
        (1, 5, 3, "cannot_lose"),  # FM = 4
        (2, 1, 2, "hibernating"),
        (1, 2, 1, "lost"),  # FM = 1.5 → 2
    ],
)
def test_the_segment_follows_recency_and_the_average_of_frequency_and_money_rounded_up(
    r: int, f: int, m: int, segment: str
) -> None:
    fm = rfm.fm_score(np.array([f]), np.array([m]))
    assert RFM_SEGMENTS[rfm.segment_codes(np.array([r]), fm)[0]] == segment


def test_five_members_are_scored_and_named_by_hand() -> None:
    # A: last seen 1 day ago, 5 visits, 5000; B: 11 days, 4, 4000; C: 2 days, 1, 100;
    # D: 39 days, 3, 6000; E: 31 days, 2, 300.
    scores = rfm.score(
        recency_days=[1, 11, 2, 39, 31],
        frequency=[5, 4, 1, 3, 2],
        monetary=[5000, 4000, 100, 6000, 300],
    )
    assert scores.recency.tolist() == [5, 3, 4, 1, 2]
    assert scores.frequency.tolist() == [5, 4, 1, 3, 2]
    assert scores.monetary.tolist() == [4, 3, 1, 5, 2]
    # FM: A (5+4+1)//2 = 5, B 4, C 1, D 4, E 2.
    assert scores.segment_names() == [
        "champions",  # R5 FM5
        "loyal",  # R3 FM4
        "promising",  # R4 FM1
        "cannot_lose",  # R1 FM4
        "hibernating",  # R2 FM2
    ]
    grid = rfm.grid_counts(scores.recency, scores.frequency)
    assert grid[4][4] == grid[2][3] == grid[3][0] == grid[0][2] == grid[1][1] == 1
    assert sum(map(sum, grid)) == 5


def test_the_top_fifth_of_ten_members_and_the_lorenz_curve_are_read_off_the_sorted_spends() -> None:
    spends = [100] * 8 + [600, 1000]  # 2400 in all
    found = rfm.pareto(spends)
    assert found.members == 10
    assert found.revenue == 2400
    assert found.top_share == pytest.approx(1600 / 2400)
    curve = dict(found.lorenz)
    assert len(found.lorenz) == 21
    assert curve[0.0] == 0.0
    assert curve[0.5] == pytest.approx(500 / 2400)
    assert curve[0.8] == pytest.approx(800 / 2400)
    assert curve[0.9] == pytest.approx(1400 / 2400)
    assert curve[1.0] == pytest.approx(1.0)


def test_a_top_fifth_that_is_not_a_whole_number_of_members_takes_a_share_of_one() -> None:
    # Four members: the top 20% is 0.8 of the biggest spender, 0.8 · 700 = 560 of 1000.
    found = rfm.pareto([100, 700, 100, 100])
    assert found.top_share == pytest.approx(0.56)
    assert dict(found.lorenz)[0.8] == pytest.approx(0.44)


def test_without_revenue_there_is_no_pareto_share() -> None:
    assert rfm.pareto([]).top_share is None
    nothing = rfm.pareto([0, 0, -50])
    assert nothing.top_share is None
    assert nothing.revenue == 0
    assert all(share == 0.0 for _, share in nothing.lorenz)


def test_inputs_of_different_lengths_or_not_numbers_are_refused() -> None:
    with pytest.raises(ValueError):
        rfm.score([1, 2], [1], [1, 2])
    with pytest.raises(ValueError):
        rfm.quintile_scores([1.0, float("nan")])
