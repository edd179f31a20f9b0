"""Back-testing the value models on a business's own past, as the method's papers do: fit
BG/NBD and Gamma-Gamma on the history up to a calibration end, then compare what the model
expects of those customers with the repeat visits they made, week by week and cumulated.

Two predictions, as in the papers:
- tracking (the papers' chart of cumulative repeat transactions): from the fitted population
  parameters and each customer's first visit day alone, E[X(t)] of a customer t days after
  their first visit, summed over customers; over the calibration weeks (where it shows the fit)
  and the holdout (where it is a forecast);
- forecast: in the holdout, each customer's conditional expectation given their own
  calibration history (x, t_x, T), the figure a business would have acted on that day.

Only the customers who had made their first visit by the calibration end are counted, in the
holdout too: the model says nothing of customers it has not seen. Days are the business's local
days; week 1 starts the day after the calibration end, week 0 ends on it, and the calibration
weeks go back to the first visit (at most MAX_CALIBRATION_WEEKS).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection

from lealtad.analytics import clv, clv_spend, models, refresh, zone_store
from lealtad.analytics.model_inputs import Ints, day_number, from_day_number, visit_days
from lealtad.errors import Invalid
from lealtad.kit.clock import naive_utc

SNAPSHOT = "backtest"
Floats = npt.NDArray[np.float64]
# Longer holdouts make charts no one reads and curves of thousands of horizons per customer.
MAX_HOLDOUT_DAYS = 3 * 366
MAX_CALIBRATION_WEEKS = 156
# Far enough either way for any history (the CDNOW sample is from 1997); beyond, the calendar
# arithmetic would overflow.
EARLIEST, LATEST = date(1900, 1, 1), date(2199, 12, 31)
# (key in rows(), CSV header)
COLUMNS = [
    ("week", "week"),
    ("phase", "phase"),
    ("start", "start"),
    ("end", "end"),
    ("predicted", "predicted_repeat_purchases"),
    ("actual", "actual_repeat_purchases"),
    ("cumulative_predicted", "cumulative_predicted"),
    ("cumulative_actual", "cumulative_actual"),
    ("forecast", "forecast_repeat_purchases"),
    ("cumulative_forecast", "cumulative_forecast"),
]


@dataclass(frozen=True)
class Week:
    week: int  # 1 is the first holdout week; 0 and below are calibration weeks
    start: date
    end: date  # inclusive
    predicted: float  # tracking
    actual: int
    cumulative_predicted: float
    cumulative_actual: int
    forecast: float | None  # holdout weeks only
    cumulative_forecast: float | None

    @property
    def phase(self) -> str:
        return "holdout" if self.week > 0 else "calibration"


@dataclass(frozen=True)
class Backtest:
    calibration_end: date
    holdout_end: date
    valuation: models.Valuation  # the parameters and fits; no per-member arrays
    customers: int
    weeks: list[Week]
    predicted_spend: int | None  # the cohort's repeat spend in the holdout, minor units
    actual_spend: int

    @property
    def holdout(self) -> list[Week]:
        return [w for w in self.weeks if w.week > 0]

    @property
    def predicted_total(self) -> float:
        """The tracking prediction of the holdout's repeat visits."""
        return sum(w.predicted for w in self.holdout)

    @property
    def forecast_total(self) -> float:
        return sum(w.forecast or 0.0 for w in self.holdout)

    @property
    def actual_total(self) -> int:
        return sum(w.actual for w in self.holdout)

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "week": w.week,
                "phase": w.phase,
                "start": w.start.isoformat(),
                "end": w.end.isoformat(),
                "predicted": round(w.predicted, 2),
                "actual": w.actual,
                "cumulative_predicted": round(w.cumulative_predicted, 2),
                "cumulative_actual": w.cumulative_actual,
                "forecast": None if w.forecast is None else round(w.forecast, 2),
                "cumulative_forecast": (
                    None if w.cumulative_forecast is None else round(w.cumulative_forecast, 2)
                ),
            }
            for w in self.weeks
        ]

    def as_json(self) -> dict[str, Any]:
        return {
            "calibration_end": self.calibration_end.isoformat(),
            "holdout_end": self.holdout_end.isoformat(),
            "customers": self.customers,
            **self.valuation.parameters(),
            "holdout": {
                "weeks": len(self.holdout),
                "predicted_repeat_purchases": round(self.predicted_total, 2),
                "forecast_repeat_purchases": round(self.forecast_total, 2),
                "actual_repeat_purchases": self.actual_total,
                "forecast_repeat_spend": self.predicted_spend,
                "actual_repeat_spend": self.actual_spend,
            },
            "weeks": self.rows(),
        }


def run(conn: Connection, business_id: int, calibration_end: date, holdout_end: date) -> Backtest:
    """Fits on the visits up to calibration_end (inclusive) and tracks the holdout up to
    holdout_end (inclusive). Raises Invalid for dates that make no holdout and
    clv.NotEnoughHistory when the calibration history cannot identify the models."""
    if not (calibration_end >= EARLIEST and holdout_end <= LATEST):
        raise Invalid(f"Dates must lie between {EARLIEST} and {LATEST}.")
    span = (holdout_end - calibration_end).days
    if span < 1:
        raise Invalid("The holdout must end after the calibration end.")
    if span > MAX_HOLDOUT_DAYS:
        raise Invalid(f"The holdout may last at most {MAX_HOLDOUT_DAYS} days.")
    tz = zone_store.zone(conn, business_id)
    until = datetime.combine(holdout_end + timedelta(days=1), time(), tz)
    member, day, spend = visit_days(conn, business_id, until, tz)
    cut = day_number(calibration_end)
    inputs, cohort, first_day = _calibration(member, day, spend, cut)
    if inputs.x.size == 0:
        raise clv.NotEnoughHistory("No customer had bought by the calibration end.")
    bg, bg_fit = models.fit_bgnbd(inputs)
    try:
        gg, gg_fit = models.fit_gamma_gamma(inputs)
    except clv.NotEnoughHistory:
        gg, gg_fit = None, None
    n_holdout = -(-span // 7)
    n_calibration = min(-(-(cut - int(first_day.min()) + 1) // 7), MAX_CALIBRATION_WEEKS)
    numbers = np.arange(1 - n_calibration, n_holdout + 1)
    # Day numbers ending each week (the last holdout week may be short), and the day before the
    # first week: the tracking and the actual visits are counted from there.
    ends = np.minimum(cut + 7 * numbers, cut + span)
    origin = cut - 7 * n_calibration
    tracking = _tracking(bg, first_day, np.concatenate([[origin], ends]))
    # Repeat visits of the cohort: every visit but each member's first.
    position = np.searchsorted(cohort, member)
    in_cohort = (position < cohort.size) & (cohort[np.minimum(position, cohort.size - 1)] == member)
    repeat = in_cohort & (day > first_day[np.minimum(position, cohort.size - 1)])
    counted = repeat & (day > origin)
    week_of = np.searchsorted(ends, day[counted])
    actual = np.bincount(week_of, minlength=numbers.size)[: numbers.size]
    horizons = (ends[n_calibration:] - cut).astype(np.float64)
    curve = clv.expected_purchases_curve(bg, horizons, inputs.x, inputs.t_x, inputs.T)
    forecast = curve.sum(axis=0)
    predicted_spend = None
    if gg is not None:
        per_visit = clv_spend.expected_spend(gg, inputs.x, inputs.mean_repeat)
        predicted_spend = round(float((curve[:, -1] * per_visit).sum()))
    held = repeat & (day > cut)
    weeks = []
    for i, k in enumerate(numbers.tolist()):
        h = k - 1  # index in the holdout arrays
        weeks.append(
            Week(
                week=k,
                start=from_day_number(int(ends[i - 1]) + 1 if i else origin + 1),
                end=from_day_number(int(ends[i])),
                predicted=float(tracking[i + 1] - tracking[i]),
                actual=int(actual[i]),
                cumulative_predicted=float(tracking[i + 1] - tracking[0]),
                cumulative_actual=int(actual[: i + 1].sum()),
                forecast=float(forecast[h] - (forecast[h - 1] if h else 0.0)) if k > 0 else None,
                cumulative_forecast=float(forecast[h]) if k > 0 else None,
            )
        )
    valuation = models.Valuation(
        fitted=True,
        reason=None,
        bgnbd=bg,
        gamma_gamma=gg,
        bgnbd_fit=bg_fit,
        gamma_gamma_fit=gg_fit,
    )
    return Backtest(
        calibration_end=calibration_end,
        holdout_end=holdout_end,
        valuation=valuation,
        customers=int(inputs.x.size),
        weeks=weeks,
        predicted_spend=predicted_spend,
        actual_spend=int(spend[held].sum()),
    )


def _tracking(bg: clv.BgNbd, first_day: Ints, days: Ints) -> Floats:
    """Σ over customers of E[X(day - first day)], the expected repeat visits of a customer of
    whom only the first visit day is known (x = t_x = T = 0), at each of the days."""
    ages = days[None, :] - first_day[:, None]
    longest = int(max(ages.max(), 0))
    curve = clv.expected_purchases_curve(bg, np.arange(longest + 1, dtype=np.float64), 0, 0, 0)
    expected: Floats = np.where(ages > 0, curve[0][np.clip(ages, 0, longest)], 0.0).sum(axis=0)
    return expected


def _calibration(
    member: Ints, day: Ints, spend: Ints, cut: int
) -> tuple[models.Inputs, Ints, Ints]:
    """The model inputs of the customers seen by the cut (a local day number), from their
    visit days sorted by member and day; those customers' ids and first visit days."""
    seen = day <= cut
    member, day, spend = member[seen], day[seen], spend[seen]
    cohort, first_row, visits = np.unique(member, return_index=True, return_counts=True)
    last_row = first_row + visits - 1
    first_day = day[first_row]
    total = np.add.reduceat(spend, first_row) if member.size else np.zeros(0, np.int64)
    inputs = models.Inputs(
        x=(visits - 1).astype(np.int64),
        t_x=(day[last_row] - first_day).astype(np.int64),
        T=(cut - first_day).astype(np.int64),
        repeat_spend=(total - spend[first_row]).astype(np.int64),
    )
    return inputs, cohort, first_day


def store(conn: Connection, business_id: int, result: Backtest, at: datetime) -> None:
    """Keeps the latest back-test for the customers page."""
    refresh.store_snapshot(conn, business_id, SNAPSHOT, naive_utc(at), result.as_json())
