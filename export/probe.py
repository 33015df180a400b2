"""Inputs to measure a variant on: the artifact's own kind of data, in batches.

- given rows (`ferry export --inputs FILE.npz`, arrays named after the inputs);
- a text model (`preprocessing.tokenizer`): `export.texts.HELD_OUT_TEXTS` through the
  artifact's own tokenizer.json, each batch padded to its longest text, as served;
- anything else: seeded random rows shaped by the signature, scaled by the
  model's in-graph standardisation statistics when its manifest records them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from export.errors import ExportError
from export.registry import Artifact
from export.signature import Signature, TensorSpec
from export.texts import HELD_OUT_TEXTS
from export.tokenizer import TokenizerSpec

Feeds = dict[str, np.ndarray]
RANDOM_ROWS = 256
#: Length of a dynamic non-batch axis in random rows.
RANDOM_LENGTH = 16


GIVEN = "given rows"
TEXTS = "built-in held-out texts"
RANDOM = "random rows"


def probe_batches(
    artifact: Artifact, batch: int, inputs: dict[str, np.ndarray] | None = None, seed: int = 0
) -> tuple[list[Feeds], str]:
    """Batches of at most `batch` rows to run the source and the variant on, and what
    they are (`GIVEN`, `TEXTS` or `RANDOM`).

    Random rows are a weak probe: drawn per column, they leave the data's manifold, and
    int8 (whose activation scale follows the batch's extremes) looks worse on them than
    on real rows (tabular MLP: min cosine 0.87 on random rows, 0.9997 on its test rows).
    Give real rows when the figures will decide a promotion."""
    manifest = artifact.manifest
    if inputs is not None:
        return _split(_checked(manifest.signature, inputs), batch), GIVEN
    spec = TokenizerSpec.from_manifest(manifest)
    if spec is not None:
        return text_batches(artifact.path, spec, list(HELD_OUT_TEXTS), batch), TEXTS
    rng = np.random.default_rng(seed)
    rows = {
        spec.name: _random(spec, manifest.preprocessing, rng) for spec in manifest.signature.inputs
    }
    return _split(rows, batch), RANDOM


def load_inputs(path: Path) -> dict[str, np.ndarray]:
    """Arrays from an `.npz` file (no pickled objects)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: np.asarray(data[name]) for name in data.files}
    except (OSError, ValueError) as err:
        raise ExportError(f"{path}: cannot read input rows: {err}") from err


def text_batches(folder: Path, spec: TokenizerSpec, texts: list[str], batch: int) -> list[Feeds]:
    """`texts` tokenised by the artifact's tokenizer file, as the service does it."""
    tokenizer = spec.load(folder)
    return [
        spec.feeds(*spec.encode(tokenizer, texts[start : start + batch]))
        for start in range(0, len(texts), batch)
    ]


def _checked(signature: Signature, inputs: dict[str, np.ndarray]) -> Feeds:
    feeds = {}
    for spec in signature.inputs:
        if spec.name not in inputs:
            raise ExportError(f"no rows for input {spec.name!r} (given: {sorted(inputs)})")
        feeds[spec.name] = np.ascontiguousarray(inputs[spec.name], dtype=spec.dtype)
    return feeds


def _split(rows: Feeds, batch: int) -> list[Feeds]:
    count = len(next(iter(rows.values())))
    if count == 0:
        raise ExportError("no rows to measure the variant on")
    return [
        {name: array[start : start + batch] for name, array in rows.items()}
        for start in range(0, count, max(1, batch))
    ]


def _random(
    spec: TensorSpec, preprocessing: dict[str, Any], rng: np.random.Generator
) -> np.ndarray:
    shape = (RANDOM_ROWS, *(RANDOM_LENGTH if d == -1 else d for d in spec.shape[1:]))
    dtype = np.dtype(spec.dtype)
    if np.issubdtype(dtype, np.integer) or dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(dtype)
    values = rng.standard_normal(shape)
    scale = preprocessing.get("standardize")
    if isinstance(scale, dict) and len(shape) == 2 and len(scale.get("mean", [])) == shape[1]:
        # the graph standardises its inputs: draw raw rows around the training statistics
        values = values * np.asarray(scale["std"]) + np.asarray(scale["mean"])
    return values.astype(dtype)
