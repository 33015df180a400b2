"""Agreement with sentence-transformers' own `encode`, the reference for the encoder."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from training.text.tokenizer import MAX_LENGTH


def reference_embeddings(folder: Path, texts: Sequence[str]) -> np.ndarray:
    """`SentenceTransformer(folder).encode(texts)` on the CPU with max_seq_length 128,
    loaded offline from a folder checked by `weights.verified_dir`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging

        logging.disable_progress_bar()  # a "Loading weights" bar per load, on stderr

        model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    model.max_seq_length = MAX_LENGTH  # the package's default is 256
    return np.asarray(model.encode(list(texts), batch_size=32, convert_to_numpy=True))


def parity_cosines(expected: np.ndarray, actual: np.ndarray) -> dict[str, Any]:
    """`manifest.evaluation.parity_cosines`: the cosine between sentence-transformers'
    embedding and ours for each reference text, in the texts' order."""
    cosine = _cosines(expected, actual)
    return {
        "reference": "sentence-transformers encode",
        "texts": len(cosine),
        "cosines": [round(float(c), 9) for c in cosine],
        "min": float(cosine.min()),
        "mean": float(cosine.mean()),
    }


def agreement(expected: np.ndarray, actual: np.ndarray) -> dict[str, float]:
    """Max |diff| and the min and mean row cosine between two sets of embeddings."""
    cosine = _cosines(expected, actual)
    return {
        "max_abs_diff": float(np.abs(np.subtract(expected, actual, dtype=np.float64)).max()),
        "cosine_min": float(cosine.min()),
        "cosine_mean": float(cosine.mean()),
    }


def _cosines(expected: np.ndarray, actual: np.ndarray) -> np.ndarray:
    expected = np.asarray(expected, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    norms = np.linalg.norm(expected, axis=1) * np.linalg.norm(actual, axis=1)
    return np.asarray((expected * actual).sum(axis=1) / np.maximum(norms, 1e-12))
