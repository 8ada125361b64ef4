"""How often Python's cycle collector runs in the processes that do bulk work.

CPython collects its youngest generation after every 700 net allocations of container
objects (dicts, lists, tuples), and an older one every ten of those. Parsing and pricing
a batch of 5,000 events makes hundreds of thousands of short-lived dicts and tuples,
almost none of them in a reference cycle: reference counting frees them, and the
collector's passes over them find nothing. With its default thresholds an import
worker spent ≈ 18 % of its time there (docs/benchmarks.md, "The cycle collector in
bulk work").

`bulk_gc` freezes what the process holds already (the modules, price tables, the
schema: never garbage, and never to be scanned again) and makes the collector run a
hundred times less often while the bulk work runs; cycles are still collected, just
later. `start_bulk_worker` does the same for good in a worker process.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: Collector thresholds during bulk work: generation 0 after 50,000 net container
#: allocations (default 700), generation 1 after 50 of those, generation 2 after 1,000.
BULK_THRESHOLDS = (50_000, 50, 1_000)


def start_bulk_worker() -> None:
    """Initializer of a worker process doing bulk work for the rest of its life."""
    gc.freeze()
    gc.set_threshold(*BULK_THRESHOLDS)


@contextmanager
def bulk_gc() -> Iterator[None]:
    """Bulk-work collector settings for the length of the block, then back as they were."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*BULK_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
