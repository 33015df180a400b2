"""Request bodies built from a model's signature, so every model gets a load test for free."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from export.signature import Signature

Body = Callable[[int], Any]


WORDS = ["my", "order", "app", "crashes", "refund", "card", "charged", "twice", "reset", "late"]


def sample_inputs(
    signature: Signature, rows: int, seed: int = 0, pool: int = 256
) -> list[dict[str, np.ndarray]]:
    """`pool` different requests of `rows` rows each, random but of the right dtype and shape."""
    rng = np.random.default_rng(seed)
    requests = []
    for _ in range(pool):
        arrays = {}
        for spec in signature.inputs:
            shape = [rows, *(d if d > 0 else 8 for d in spec.shape[1:])]
            if spec.dtype == "object":  # BYTES: a text model's served input
                words = rng.choice(WORDS, size=(*shape, int(rng.integers(3, 24))))
                arrays[spec.name] = np.array([" ".join(w) for w in words], dtype=object)
                continue
            arrays[spec.name] = rng.normal(size=shape).astype(spec.dtype).round(4)
        requests.append(arrays)
    return requests


def typed(model: str, signature: Signature, rows: int = 1) -> Body:
    """Bodies for `POST /predict` (ferry and the peers take the same shape)."""
    pool = [{n: a.tolist() for n, a in r.items()} for r in sample_inputs(signature, rows)]
    return lambda i: {"model": model, "inputs": pool[i % len(pool)]}


def v2(signature: Signature, rows: int = 1) -> Body:
    """Bodies for `POST /v2/models/{name}/infer` (JSON tensors)."""
    pool = [
        {
            "inputs": [
                {
                    "name": n,
                    "shape": list(a.shape),
                    "datatype": signature.input(n).datatype,
                    "data": a.ravel().tolist(),
                }
                for n, a in r.items()
            ]
        }
        for r in sample_inputs(signature, rows)
    ]
    return lambda i: pool[i % len(pool)]
