"""RFM scores, named segments and the Pareto view: pure numpy, no database.

Scores are quintiles of rank, 1-5, 5 best (most recent, most frequent, highest spend). A member's
score comes from the midpoint of the ranks their value shares with its ties: the values occupying
sorted positions [start, end) of n get floor(5 · (start + end) / 2n) + 1. So equal values always
get equal scores, ten members split two per score, five members one per score, a lone member (or
a population where everyone has the same value) gets the neutral 3, and two members get 2 and 4.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from lealtad.analytics.segments import RFM_SEGMENTS

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

LEVELS = 5
PARETO_TOP = 0.2
LORENZ_STEPS = 20

# The segment of each (R, FM) cell, FM = the average of F and M rounded half up: the common
# R × FM grid of eleven named segments (as popularised by Putler), where the published ranges
# overlap, settled so that each cell has exactly one name. Rows are R = 5 (bought lately) down
# to R = 1; columns are FM = 1 .. 5.
#                 FM=1              FM=2                   FM=3            FM=4           FM=5
_GRID = (
    ("new_customers", "potential_loyalists", "loyal", "champions", "champions"),  # R=5
    ("promising", "potential_loyalists", "loyal", "champions", "champions"),  # R=4
    ("about_to_sleep", "need_attention", "need_attention", "loyal", "loyal"),  # R=3
    ("hibernating", "hibernating", "at_risk", "at_risk", "at_risk"),  # R=2
    ("lost", "lost", "at_risk", "cannot_lose", "cannot_lose"),  # R=1
)
# SEGMENT_MAP[r][fm] for r, fm in 1..5 (index 0 unused), and the same as indices into
# RFM_SEGMENTS for vectorised lookup.
SEGMENT_MAP: dict[int, dict[int, str]] = {
    LEVELS - i: {fm + 1: name for fm, name in enumerate(row)} for i, row in enumerate(_GRID)
}
_CODES = np.zeros((LEVELS + 1, LEVELS + 1), dtype=np.int64)
for _r, _row in SEGMENT_MAP.items():
    for _fm, _name in _row.items():
        _CODES[_r, _fm] = RFM_SEGMENTS.index(_name)


@dataclass(frozen=True)
class Scores:
    recency: Ints
    frequency: Ints
    monetary: Ints
    # Index into segments.RFM_SEGMENTS of each member's segment.
    segment: Ints

    def segment_names(self) -> list[str]:
        names = np.array(RFM_SEGMENTS, dtype=object)
        return list(names[self.segment])


def quintile_scores(values: npt.ArrayLike, higher_is_better: bool = True) -> Ints:
    """1-5 by the midpoint rank of each value among all (see the module's note on ties)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    n = v.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if not np.all(np.isfinite(v)):
        raise ValueError("values must be finite numbers")
    _, inverse, counts = np.unique(
        v if higher_is_better else -v, return_inverse=True, return_counts=True
    )
    ends = np.cumsum(counts)
    starts = ends - counts
    # Integer arithmetic: a float percentile could land a value on the wrong side of a boundary.
    per_value = (LEVELS * (starts + ends)) // (2 * n) + 1
    scores: Ints = per_value[inverse.ravel()].astype(np.int64)
    return scores


def fm_score(frequency: Ints, monetary: Ints) -> Ints:
    """The average of F and M rounded half up (4 and 5 give 5; 1 and 2 give 2)."""
    fm: Ints = (np.asarray(frequency) + np.asarray(monetary) + 1) // 2
    return fm


def segment_codes(recency: Ints, fm: Ints) -> Ints:
    codes: Ints = _CODES[np.asarray(recency), np.asarray(fm)]
    return codes


def score(recency_days: npt.ArrayLike, frequency: npt.ArrayLike, monetary: npt.ArrayLike) -> Scores:
    """Scores and segments of members who have bought at least once.

    recency_days: days since the last purchase (fewer is better); frequency: purchase days;
    monetary: spend. Arrays of the same length, one entry per member.
    """
    days = np.asarray(recency_days, dtype=np.float64).ravel()
    freq = np.asarray(frequency, dtype=np.float64).ravel()
    money = np.asarray(monetary, dtype=np.float64).ravel()
    if not (days.shape == freq.shape == money.shape):
        raise ValueError("recency, frequency and monetary must have the same length")
    r = quintile_scores(days, higher_is_better=False)
    f = quintile_scores(freq)
    m = quintile_scores(money)
    return Scores(r, f, m, segment_codes(r, fm_score(f, m)))


def grid_counts(recency: Ints, frequency: Ints) -> list[list[int]]:
    """Members per (R, F) cell: counts[r - 1][f - 1]."""
    cells = np.zeros((LEVELS, LEVELS), dtype=np.int64)
    np.add.at(cells, (np.asarray(recency) - 1, np.asarray(frequency) - 1), 1)
    return [[int(c) for c in row] for row in cells]


@dataclass(frozen=True)
class Pareto:
    """How concentrated member revenue is.

    top_share: the share of revenue from the top 20% of members (None without revenue).
    lorenz: (share of members, share of revenue) at 0, 5%, ..., 100% of members, poorest first,
    linear between members, so that a share of a member counts for that share of their spend.
    """

    members: int
    revenue: int
    top_share: float | None
    lorenz: list[tuple[float, float]]


def pareto(spend: npt.ArrayLike, top: float = PARETO_TOP, steps: int = LORENZ_STEPS) -> Pareto:
    """Negative spends (refunds beyond purchases) count as nothing."""
    values = np.sort(np.clip(np.asarray(spend, dtype=np.float64).ravel(), 0.0, None))
    n = values.size
    total = float(values.sum())
    shares = np.linspace(0.0, 1.0, steps + 1)
    if n == 0 or total <= 0:
        return Pareto(n, round(total), None, [(float(p), 0.0) for p in shares])
    # The Lorenz curve through (i/n, share of the i poorest), read between its corners.
    corners = np.concatenate(([0.0], np.cumsum(values))) / total
    curve = np.interp(shares, np.arange(n + 1) / n, corners)
    below_top = float(np.interp(1.0 - top, np.arange(n + 1) / n, corners))
    return Pareto(
        members=n,
        revenue=round(total),
        top_share=1.0 - below_top,
        lorenz=[(float(p), float(s)) for p, s in zip(shares, curve, strict=True)],
    )
