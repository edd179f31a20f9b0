"""P3: rule evaluations per second for a 10-rule program on one core.

Run: uv run python bench/rules_eval.py [--seconds 3] [--profile] [--json FILE]
Prints the median rate of five runs; target >= 300,000 evaluations/s (architecture.md, P3).
Beside the wall-clock rate, the rate per CPU-second of this process and the load average: on a
shared machine the wall clock measures the other jobs too, the CPU time much less."""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import time
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from benchkit import row, write_json

from lealtad.rules.compile import CompiledProgram, compile_program
from lealtad.rules.definition import ProgramDefinition
from lealtad.rules.facts import Facts, Item, MemberContext
from lealtad.rules.planner import MemberState, plan_earn, prefetch, with_reads
from lealtad.rules.program import Program

TEN_RULES = {
    "stamp_cards": [
        {"id": "coffee", "name": "Coffee card", "stamps_required": 10, "reward": "free-coffee"}
    ],
    "tiers": {
        "metric": "spend",
        "levels": [
            {"id": "green", "name": "Green", "threshold": "0"},
            {"id": "gold", "name": "Gold", "threshold": "50000", "multiplier": "1.5"},
        ],
    },
    "rules": [
        {"id": "base", "name": "Base", "action": {"type": "points_per_unit", "rate": "1"}},
        {
            "id": "big",
            "name": "Big ticket",
            "conditions": {"min_amount": 5000},
            "action": {"type": "fixed_points", "points": 50},
        },
        {
            "id": "coffee",
            "name": "Coffee stamp",
            "conditions": {"items": {"categories": ["coffee"]}},
            "action": {"type": "stamps", "card": "coffee", "per_item": True},
        },
        {
            "id": "happy",
            "name": "Happy hour",
            "conditions": {
                "weekdays": [0, 1, 2, 3, 4],
                "time_window": {"start": "15:00", "end": "17:00"},
            },
            "action": {"type": "multiplier", "factor": "2"},
        },
        {
            "id": "online",
            "name": "Online bonus",
            "conditions": {"channels": ["online"]},
            "action": {"type": "fixed_points", "points": 10},
        },
        {
            "id": "store2",
            "name": "New store",
            "conditions": {"locations": [2]},
            "action": {"type": "fixed_points", "points": 20},
        },
        {
            "id": "gold-only",
            "name": "Gold treat",
            "conditions": {"tiers": ["gold"]},
            "action": {"type": "fixed_points", "points": 5},
        },
        {
            "id": "vip-tag",
            "name": "VIP",
            "conditions": {"tags": ["vip"]},
            "action": {"type": "cashback_percent", "percent": "2"},
        },
        {
            "id": "fifth",
            "name": "Fifth visit",
            "conditions": {"every_nth_visit": 5},
            "action": {"type": "fixed_points", "points": 25},
        },
        {
            "id": "summer",
            "name": "Summer",
            "conditions": {"date_range": {"start": "2026-06-21", "end": "2026-09-22"}},
            "action": {"type": "multiplier", "factor": "1.5"},
        },
    ],
}


def _median_rate(
    program: CompiledProgram, facts: Facts, member: MemberContext, seconds: float
) -> tuple[float, float]:
    """Median evaluations per wall-clock second and per CPU-second of five runs."""
    rates, cpu_rates = [], []
    for _ in range(5):
        n, started, cpu_started = 0, time.perf_counter(), time.process_time()
        deadline = started + seconds / 5
        while time.perf_counter() < deadline:
            for _ in range(1000):
                program.evaluate(facts, member)
            n += 1000
        rates.append(n / (time.perf_counter() - started))
        cpu_rates.append(n / (time.process_time() - cpu_started))
    return statistics.median(rates), statistics.median(cpu_rates)


def _plan_cpu(program: Program, facts: Facts, member: MemberContext, seconds: float) -> float:
    """Median CPU microseconds of one whole pure plan (rules.planner): evaluate, read-ahead list,
    trimming, awards, ledger entries, stamp cards; the state known (stamps at 4 each)."""
    state = MemberState.of(member)
    awards = program.compiled.evaluate(facts, member)
    ahead = prefetch(program, facts, awards, state)
    state = with_reads(
        state, caps=dict.fromkeys(ahead.caps, 0), stamps=dict.fromkeys(ahead.stamps, 4)
    )
    costs = []
    for _ in range(5):
        n, started, cpu_started = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() < started + seconds / 5:
            for _ in range(200):
                plan_earn(program, facts, state, now=facts.occurred_at, purchase_id=1, memo="p")
            n += 200
        costs.append((time.process_time() - cpu_started) / n * 1e6)
    return statistics.median(costs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--profile", action="store_true", help="cProfile 50,000 worst-case runs")
    parser.add_argument("--json", help="write the run_all summary (bench/benchkit.py) here")
    args = parser.parse_args()
    definition = ProgramDefinition.model_validate(TEN_RULES)
    program = compile_program(definition, 1)
    version = Program(1, 1, datetime(2026, 1, 1, tzinfo=UTC), definition, program)
    madrid = ZoneInfo("Europe/Madrid")
    worst = (
        Facts(
            trigger="purchase",
            occurred_at=datetime(2026, 7, 8, 14, 30, tzinfo=UTC),
            tz=madrid,
            amount=1250,
            channel="counter",
            location_id=1,
            items=(Item("LAT", Decimal(2), 290, "coffee"), Item("CRO", Decimal(1), 180, "bakery")),
        ),
        MemberContext(7, tier="gold", tags=frozenset({"vip"}), visits_before=9),
    )
    typical = (
        Facts(
            trigger="purchase",
            occurred_at=datetime(2026, 2, 3, 9, 15, tzinfo=UTC),
            tz=madrid,
            amount=450,
            channel="counter",
            location_id=1,
            items=(Item("CAP", Decimal(1), 260, "coffee"), Item("CRO", Decimal(1), 190, "bakery")),
        ),
        MemberContext(8, tier="green", visits_before=2),
    )
    if args.profile:
        with cProfile.Profile() as profiler:
            for _ in range(50_000):
                program.evaluate(*worst)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
    rows = []
    for label, (facts, member) in (("worst case", worst), ("typical", typical)):
        awards = program.evaluate(facts, member)
        median, cpu = _median_rate(program, facts, member, args.seconds)
        matched = ", ".join(f"{a.rule_id}={a.amount}" for a in awards)
        print(f"{label} ({len(awards)} awards: {matched})")
        print(
            f"  P3 median {median:,.0f} evaluations/s on one core; "
            f"ratio to the 300,000/s target: {median / 300_000:.2f}"
        )
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"  {cpu:,.0f} evaluations per CPU-second; load average {load}")
        planned = _plan_cpu(version, facts, member, args.seconds / 2)
        print(f"  the whole pure earn plan (rules.planner.plan_earn): {planned:.1f} us CPU")
        case = f"{label}: {len(awards)} of 10 rules match"
        rows.append(row(case, median, "evaluations/s", ">= 300,000/s", median / 300_000))
    write_json(args.json, "P3", rows)


if __name__ == "__main__":
    main()
