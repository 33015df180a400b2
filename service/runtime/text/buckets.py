"""Length buckets: requests of similar token counts batch together.

A batch is padded to its longest row, so one 128-token text in a batch of
16-token ones makes every row cost 128 tokens. Keeping each bucket in its own
batches bounds that waste to the bucket's width.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable


def bucket_bounds(wanted: Iterable[int], max_length: int) -> tuple[int, ...]:
    """The configured upper bounds below the model's max length, then the max length itself."""
    return (*sorted({b for b in wanted if 0 < b < max_length}), max_length)


def bucket_of(length: int, bounds: tuple[int, ...]) -> int:
    """The smallest bound that holds `length` tokens (the last bound for anything longer)."""
    return bounds[min(bisect.bisect_left(bounds, length), len(bounds) - 1)]
