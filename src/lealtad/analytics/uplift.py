"""Experiments: stable random assignment of members to arms, and the uplift of a variant over control.

Pure statistics, no database: a report loads each member's visits or spend for the experiment's
window (members with no activity as 0, so every assigned member counts) and passes two lists here.

- `assign` / `assign_many` split members by hashing, so an arm never has to be stored to be known
  and the same member lands in the same arm in every process, on every machine, forever.
- `compare` gives Welch's t interval for the difference in means (no equal-variance assumption: a
  reward can change the spread of spend as well as its mean), a two-sided p-value, and the relative
  uplift with a delta-method interval.
- `minimum_detectable_effect` tells a report how small a difference the group sizes can see.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

# numpy and scipy are imported where the statistics run, not here: every purchase reaches
# `assign` through the segments, and loading scipy.stats in each app process costs ~100 MB.

# The first 53 bits of the digest: exactly the precision of a float, so the point in [0, 1) that
# they stand for is exact and the arm boundaries below can be checked with integers only.
_HASH_BITS = 53


@dataclass(frozen=True)
class Uplift:
    """The effect of a variant on one metric (visits, spend…) per member, against control.

    `difference` is mean_variant - mean_control, with its two-sided confidence interval.
    `relative` is difference / mean_control (+0.2 means +20 %), None when the control mean is 0,
    with an approximate interval (see `compare`). `p_value` is two-sided, for "no difference".
    """

    n_control: int
    n_variant: int
    mean_control: float
    mean_variant: float
    difference: float
    difference_low: float
    difference_high: float
    relative: float | None
    relative_low: float | None
    relative_high: float | None
    p_value: float
    confidence: float

    @property
    def significant(self) -> bool:
        """True when the interval for the difference excludes 0 (then p_value < 1 - confidence)."""
        return self.difference_low > 0 or self.difference_high < 0


# --- assignment ------------------------------------------------------------------------------


def _checked_variants(variants: Sequence[tuple[str, int]]) -> tuple[list[str], list[int]]:
    """Names and cumulative integer weights, after checking the experiment is well formed."""
    if len(variants) < 2:
        raise ValueError("An experiment needs at least two variants: a control and one other.")
    names: list[str] = []
    bounds: list[int] = []
    total = 0
    for name, weight in variants:
        if not isinstance(name, str) or not name:
            raise ValueError(f"Each variant needs a non-empty name, got {name!r}.")
        if name in names:
            raise ValueError(f"Variant names must be unique; {name!r} appears twice.")
        # bool is an int to Python, but True as a weight is a mistake, not a 1.
        if isinstance(weight, bool) or not isinstance(weight, int) or weight <= 0:
            raise ValueError(
                f"The weight of variant {name!r} must be a positive integer, got {weight!r}."
            )
        names.append(name)
        total += weight
        bounds.append(total)
    return names, bounds


def _unit_hash(experiment_key: str, member_id: int) -> int:
    """sha256 of "key:id" as an integer h in [0, 2**53): the member's point h / 2**53 in [0, 1).

    sha256 rather than hash(): Python salts hash() of strings per process, so arms would change
    at every restart.
    """
    digest = hashlib.sha256(f"{experiment_key}:{member_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> (64 - _HASH_BITS)


def _arm(point: int, names: list[str], bounds: list[int]) -> str:
    # floor(u * total) in integers: the slot of [0, total) the member's point falls in.
    slot = (point * bounds[-1]) >> _HASH_BITS
    for name, bound in zip(names, bounds, strict=True):
        if slot < bound:
            return name
    raise AssertionError("unreachable: slot < total weight")  # pragma: no cover


def assign(experiment_key: str, member_id: int, variants: Sequence[tuple[str, int]]) -> str:
    """The arm of one member: the variant name whose share of [0, 1) holds the member's hash.

    `variants` are (name, weight) pairs with positive integer weights, e.g.
    [("control", 1), ("double_points", 1)]; the first is the control by convention. The experiment
    key keeps experiments independent: the same member gets unrelated arms in different ones.
    Changing the weights (or their order) moves members between arms, so freeze them when the
    experiment starts.
    """
    names, bounds = _checked_variants(variants)
    return _arm(_unit_hash(experiment_key, member_id), names, bounds)


def assign_many(
    experiment_key: str, member_ids: Sequence[int], variants: Sequence[tuple[str, int]]
) -> list[str]:
    """`assign` for many members (checks the variants once); arms in the order of `member_ids`."""
    names, bounds = _checked_variants(variants)
    return [_arm(_unit_hash(experiment_key, m), names, bounds) for m in member_ids]


# --- comparison ------------------------------------------------------------------------------


def _stats() -> Any:
    from scipy import stats

    return stats


def _check_confidence(confidence: float, what: str = "confidence") -> None:
    if not (0.0 < confidence < 1.0):
        raise ValueError(f"The {what} must be between 0 and 1 (exclusive), got {confidence!r}.")


def _as_sample(values: Sequence[float], group: str) -> np.ndarray:
    import numpy as np

    sample = np.asarray(values, dtype=float)
    if sample.ndim != 1:
        raise ValueError(f"The {group} group must be a flat list of numbers, one per member.")
    if sample.size < 2:
        raise ValueError(
            f"The {group} group needs at least 2 members to estimate its variance, "
            f"got {sample.size}."
        )
    if not np.all(np.isfinite(sample)):
        raise ValueError(f"The {group} group contains a missing or infinite value.")
    return sample


def compare(control: Sequence[float], variant: Sequence[float], confidence: float = 0.95) -> Uplift:
    """The uplift of `variant` over `control` in the mean of a per-member metric.

    One value per assigned member, 0 for members with no activity (leaving them out would compare
    only the active, and a variant that wakes members up would look worse, not better).

    Difference: Welch's t interval, difference ± t(df) · se with se² = s_c²/n_c + s_v²/n_v and the
    Welch–Satterthwaite degrees of freedom; the p-value is two-sided from the same t statistic, so
    `significant` (the interval excludes 0) agrees with p_value < 1 - confidence.

    Relative uplift (mean_v / mean_c - 1): a ratio of two noisy means has no exact interval, so it
    uses the delta method, the first-order Taylor expansion of the ratio:
    se_rel² ≈ s_v²/(n_v·m_c²) + m_v²·s_c²/(n_c·m_c⁴). Unlike dividing the difference's interval by
    the control mean, it counts the noise in the control mean, the denominator. It is a
    large-sample approximation (fine for the hundreds of members an experiment needs; a bootstrap
    would be random and slow, Fieller's interval can be unbounded). The same t quantile is used,
    so both intervals widen alike for small groups.

    Raises ValueError when a group has fewer than 2 members, holds a non-finite value, or when
    `confidence` is not strictly between 0 and 1.
    """
    _check_confidence(confidence)
    c = _as_sample(control, "control")
    v = _as_sample(variant, "variant")
    n_c, n_v = int(c.size), int(v.size)
    mean_c, mean_v = float(c.mean()), float(v.mean())
    var_c, var_v = float(c.var(ddof=1)), float(v.var(ddof=1))
    difference = mean_v - mean_c
    se2_c, se2_v = var_c / n_c, var_v / n_v
    se = math.sqrt(se2_c + se2_v)

    if se == 0.0:
        # Both groups constant: the difference is known exactly, there is nothing to estimate.
        t_crit = 0.0
        p_value = 1.0 if difference == 0.0 else 0.0
    else:
        df = (se2_c + se2_v) ** 2 / (se2_c**2 / (n_c - 1) + se2_v**2 / (n_v - 1))
        t_crit = float(_stats().t.ppf(0.5 + confidence / 2, df))
        p_value = float(2 * _stats().t.sf(abs(difference) / se, df))

    relative = relative_low = relative_high = None
    if mean_c != 0.0:
        relative = difference / mean_c
        se_rel = math.sqrt(se2_v / mean_c**2 + mean_v**2 * se2_c / mean_c**4)
        relative_low = relative - t_crit * se_rel
        relative_high = relative + t_crit * se_rel

    return Uplift(
        n_control=n_c,
        n_variant=n_v,
        mean_control=mean_c,
        mean_variant=mean_v,
        difference=difference,
        difference_low=difference - t_crit * se,
        difference_high=difference + t_crit * se,
        relative=relative,
        relative_low=relative_low,
        relative_high=relative_high,
        p_value=p_value,
        confidence=confidence,
    )


def minimum_detectable_effect(
    n_control: int,
    n_variant: int,
    sd: float,
    confidence: float = 0.95,
    power: float = 0.8,
) -> float:
    """The smallest true difference in means these group sizes detect with the given power.

    (z_{1-α/2} + z_power) · sd · √(1/n_c + 1/n_v), α = 1 - confidence, two-sided: the usual
    normal-approximation sample-size formula solved for the effect. `sd` is the per-member
    standard deviation of the metric (from a past period or the control group). For groups of a
    few dozen members the real power is slightly lower, as the t distribution has heavier tails.
    """
    _check_confidence(confidence)
    _check_confidence(power, "power")
    for group, n in (("control", n_control), ("variant", n_variant)):
        if isinstance(n, bool) or not isinstance(n, int) or n < 2:
            raise ValueError(f"The {group} group needs at least 2 members, got {n!r}.")
    if not (math.isfinite(sd) and sd >= 0):
        raise ValueError(f"The standard deviation must be a finite number >= 0, got {sd!r}.")
    z = float(_stats().norm.ppf(0.5 + confidence / 2) + _stats().norm.ppf(power))
    return z * sd * math.sqrt(1 / n_control + 1 / n_variant)
