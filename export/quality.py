"""How close a variant's outputs are to its source's, and how fast each runs: ONNX Runtime only.

Torch-free, so a variant can be measured wherever its graphs can be run.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from export.session import CPU as PROVIDER
from export.session import SessionConfig, open_session


def agreement(expected: np.ndarray, actual: np.ndarray) -> dict[str, float]:
    """Max |diff| and the min and mean cosine between matching rows (as flat vectors).

    Cosine suits embeddings, and for probabilities it still tells a flipped
    prediction (low) from rounding noise (~1). NaN anywhere counts as the worst case."""
    want = np.asarray(expected, dtype=np.float64).reshape(len(expected), -1)
    got = np.asarray(actual, dtype=np.float64).reshape(len(actual), -1)
    if want.shape != got.shape:
        raise ValueError(f"outputs have shapes {want.shape} and {got.shape}")
    norms = np.linalg.norm(want, axis=1) * np.linalg.norm(got, axis=1)
    cosine = np.nan_to_num((want * got).sum(axis=1) / np.maximum(norms, 1e-12), nan=-1.0)
    # two zero rows agree exactly (a masked-out text embeds to zeros in both graphs)
    cosine = np.where((norms == 0) & np.all(want == got, axis=1), 1.0, cosine)
    diff = np.nan_to_num(np.abs(want - got), nan=np.inf)
    return {
        "max_abs_diff": float(diff.max()) if diff.size else 0.0,
        "cosine_min": float(cosine.min()) if cosine.size else 1.0,
        "cosine_mean": float(cosine.mean()) if cosine.size else 1.0,
    }


def session(path: Path, threads: int) -> ort.InferenceSession:
    """A CPU session with a fixed thread count, so two graphs are timed alike."""
    return open_session(path, SessionConfig((PROVIDER,), intra_op_threads=threads))


def run_all(model: ort.InferenceSession, batches: Sequence[dict[str, np.ndarray]]) -> np.ndarray:
    """The first output of `model` for every batch, stacked in order."""
    return np.concatenate([np.asarray(model.run(None, feeds)[0]) for feeds in batches])


def rows_per_second(
    models: Sequence[ort.InferenceSession], batches: Sequence[dict[str, np.ndarray]], rounds: int
) -> list[float]:
    """Rows/s of each model over `rounds` passes through `batches`, measured side by side.

    Passes alternate between the models (and their order flips every round), so a
    machine busy with something else slows them alike and the ratio stays fair."""
    rows = sum(len(next(iter(feeds.values()))) for feeds in batches)
    spent = [0.0] * len(models)
    for model in models:  # warm-up: first runs allocate and pick kernels
        model.run(None, batches[0])
    for turn in range(max(1, rounds)):
        order = range(len(models)) if turn % 2 == 0 else reversed(range(len(models)))
        for index in order:
            started = time.perf_counter()
            for feeds in batches:
                models[index].run(None, feeds)
            spent[index] += time.perf_counter() - started
    return [rows * max(1, rounds) / max(seconds, 1e-9) for seconds in spent]
