"""Every benchmark script still starts: docs/benchmarks.md quotes their commands, and a script
broken by a refactor (an import moved elsewhere) would only be noticed at the next measurement."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
SCRIPTS = sorted(p.name for p in BENCH.glob("*.py") if p.name not in {"__init__.py", "benchkit.py"})


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_benchmark_script_starts_and_explains_its_options(script: str) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / script), "--help"],
        cwd=BENCH.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"bench/{script} --help failed:\n{done.stderr[-2000:]}"
    assert "usage:" in done.stdout, f"bench/{script} --help printed no usage"
