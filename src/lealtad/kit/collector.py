"""The interpreter's cyclic garbage collector, paused in part while a batch holds many objects."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def fewer_collections(first_generation: int = 20_000) -> Iterator[None]:
    """Collects the youngest generation after `first_generation` allocations instead of the
    default 700, for the block: a batch that holds thousands of planned rows (an import's) is
    otherwise walked by the collector over and over, which measured a third of its time
    (docs/benchmarks.md, one earn path for batches). Process-wide, as the collector is; the
    thresholds are put back when the block ends."""
    before = gc.get_threshold()
    gc.set_threshold(first_generation, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
