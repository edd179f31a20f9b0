"""P6 (server), the floor: the resident size of one app process right after the app factory,
and whether numpy/scipy were loaded by it. Run: `uv run python bench/app_memory.py`."""

from __future__ import annotations

import argparse
import sys


def resident_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    from lealtad.api import create_app

    create_app()
    loaded = [name for name in ("numpy", "scipy", "scipy.stats") if name in sys.modules]
    print(f"RSS after create_app(): {resident_mb():.1f} MB; loaded: {', '.join(loaded) or 'none'}")


if __name__ == "__main__":
    main()
