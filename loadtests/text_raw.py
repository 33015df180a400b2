"""Raw ONNX Runtime on tokenised text: the ceiling for the service, and padding strategies."""

from __future__ import annotations

import time

import numpy as np
import onnxruntime as ort

from service.runtime import TextTokenizer, Tokens, bucket_of, pad_to

Feeds = dict[str, np.ndarray]


def batches(
    text: TextTokenizer,
    texts: list[str],
    size: int,
    pad: str = "longest",
    bounds: tuple[int, ...] = (),
) -> list[Feeds]:
    """Feeds of `size` texts each, in order (grouped by bucket first when `bounds` is given).

    `pad` is "longest" (to the batch's longest text, as the service does) or "max"
    (every batch to the model's max length, what a fixed-length tokenizer does).
    """
    tokens = text.encode(texts)
    order = np.arange(tokens.rows)
    if bounds:
        buckets = np.array([bucket_of(int(n), bounds) for n in tokens.lengths])
        order = np.argsort(buckets, kind="stable")
    out = []
    for start in range(0, len(order), size):
        part = tokens.take(order[start : start + size])
        if pad == "max":
            width = text.max_length
            part = Tokens(pad_to(part.ids, width, text.spec.pad_id), pad_to(part.mask, width, 0))
        out.append(text.feeds(part))
    return out


def sentences_per_s(session: ort.InferenceSession, feeds: list[Feeds], seconds: float) -> float:
    """Texts scored per second running `feeds` in turn, whole passes, for at least `seconds`."""
    for f in feeds:  # the first run of each new shape allocates; the service warms up too
        session.run(None, f)
    rows, started = 0, time.perf_counter()
    while True:
        for f in feeds:
            session.run(None, f)
            rows += next(iter(f.values())).shape[0]
        if (elapsed := time.perf_counter() - started) >= seconds:
            return rows / elapsed
