"""A text request on its way to the batcher: tokenised once, submitted by length bucket."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np

from service.batcher import Arrays, Batcher
from service.text.tokenizer import TextTokenizer


async def infer_texts(
    batcher: Batcher, tokenizer: TextTokenizer, bounds: tuple[int, ...], texts: Sequence[str]
) -> Arrays:
    """Outputs for validated `texts`, row for row.

    Tokenising here, on the request path and before queueing, tells the batcher
    each request's length, so it can keep buckets apart.
    """
    tokens = tokenizer.encode(texts)
    parts = tokens.parts(bounds, batcher.max_batch_size)
    if len(parts) == 1:
        return await batcher.submit(tokenizer.feeds(tokens), bucket=parts[0][1])
    results = await asyncio.gather(
        *(batcher.submit(tokenizer.feeds(tokens.take(rows)), bucket=b) for rows, b in parts)
    )
    order = np.argsort(np.concatenate([rows for rows, _ in parts]))
    return {name: np.concatenate([r[name] for r in results])[order] for name in results[0]}
