"""The served models out of the garbage collector's way: after the loaded models change, one
full collection, then everything left is frozen (gc.freeze), so later collections skip it.

A loaded model is many long-lived objects (trees, arrays, the pipeline). Python's
oldest-generation collections traverse all of them, holding the GIL: in process (TestClient,
batches of 1,000 California homes) that showed as a p99 of ~300 ms against a median of
~50 ms; frozen, they are never traversed, and the p99 was ~90-100 ms. Unfreezing first lets
the collection reclaim a replaced model's cycles, so a reload leaks nothing past the next one
(a model a request still held when the heap was frozen is reclaimed at the next reload).
"""

from __future__ import annotations

import gc
import time


def settle() -> float:
    """Collect fully, then freeze what survives; the seconds it took (once per reload)."""
    started = time.perf_counter()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    return time.perf_counter() - started
