"""Short full collections: what the service holds once its models are in place is frozen.

Python's collector walks every tracked object in a full (oldest-generation)
collection: with BentoML, Starlette, pydantic, numpy, Arrow and ONNX Runtime loaded
that is some 180,000 objects and 100-150 ms on these 2-core machines, a pause every
request in flight waits out, and one that requests cause every few seconds under
load (each collection is triggered by the objects that outlived two younger ones).
After a refresh changed what is served, `settle` collects what is garbage then and
freezes the rest (`gc.freeze`): later full collections walk only what was made since,
measured at 2 ms. The previous freeze is undone first, so garbage that was frozen
while still referenced (a retired version's cycles, say) is collected at the next
settle, never kept for good.
"""

from __future__ import annotations

import gc
import time


def settle() -> float:
    """Collect everything, then freeze what survives; the seconds it took."""
    started = time.perf_counter()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    return time.perf_counter() - started
